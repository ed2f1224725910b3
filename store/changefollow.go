package store

import (
	"context"
	"database/sql"
	"time"
)

// FollowChanges keeps the ready-version cache (readycache.go) honest about
// the changes other processes commit, until ctx ends: every
// changePollInterval it reads the events chained since its last look and
// drops the cached versions of the models they name, and it lets the cache
// serve only while its looks succeed and the chain keeps up with the
// events waiting in audit_pending. Without it running the cache serves
// nothing.
//
// When no version has been read for followIdleAfter it stops looking (two
// queries every 100 ms are a cost for a server nobody asks), and the cache
// stops serving; the next read wakes it, empties the cache (what changed
// meanwhile is unknown) and the cache serves again once the looks can
// vouch for it (chainLagLimit).
func (s *Store) FollowChanges(ctx context.Context) {
	c := s.ready
	if c == nil {
		return
	}
	var f *changeFollower // nil while not looking
	failing := false
	lastReads, lastReadAt := c.reads(), time.Now()
	t := time.NewTicker(changePollInterval)
	defer t.Stop()
	for {
		now := time.Now()
		if r := c.reads(); r != lastReads {
			lastReads, lastReadAt = r, now
		}
		if now.Sub(lastReadAt) > c.idleAfter {
			if f != nil {
				c.trustedUntil.Store(0)
				f = nil
			}
		} else {
			if f == nil {
				c.versions.InvalidateAll()
				f = &changeFollower{}
			}
			// A look that takes longer than the trust it would give is
			// given up (a stalled connection must not hold the cache's
			// trust).
			look, cancel := context.WithTimeout(ctx, trustWindow)
			err := s.followOnce(look, f)
			cancel()
			switch {
			case err != nil:
				c.trustedUntil.Store(0)
				if !failing && ctx.Err() == nil {
					s.logger.WarnContext(ctx, "follow changes: version reads go to the database until a look succeeds", "err", err)
				}
				failing = true
			case failing:
				s.logger.InfoContext(ctx, "follow changes: looking again")
				failing = false
			}
		}
		select {
		case <-ctx.Done():
			c.trustedUntil.Store(0)
			return
		case <-t.C:
		}
	}
}

// followIdleAfter is how long FollowChanges keeps looking after the last
// version read (readyCache.idleAfter; tests shorten it).
const followIdleAfter = 30 * time.Second

// changeFollower is what FollowChanges remembers between looks.
type changeFollower struct {
	started bool
	seq     int64 // the last chained event looked at
	// samples are the highest pending event id at recent looks, oldest
	// first: the lag check's memory.
	samples []pendingSample
}

type pendingSample struct {
	at    time.Time
	maxID int64 // 0: nothing pending
}

// maxSampleAge is the oldest a due sample may be: looks held up longer
// than a poll interval turn the cache off rather than stretch the bound.
const maxSampleAge = chainLagLimit + 2*changePollInterval

// maxChangeBatch is how many chained events one query of followOnce reads.
const maxChangeBatch = 1000

// followOnce is one look. The pending events are read before the chained
// ones, so that an event that left audit_pending between the two reads is
// among the chained ones.
func (s *Store) followOnce(ctx context.Context, f *changeFollower) error {
	// Real time, not the store's clock (which tests set): what counts here
	// is how long ago the look was.
	start := time.Now()
	db := s.db.WithContext(ctx)
	var minID, maxID sql.NullInt64
	row := db.Raw("SELECT MIN(id), MAX(id) FROM audit_pending").Row()
	if err := row.Scan(&minID, &maxID); err != nil {
		return dbErr("follow changes: read pending events", err)
	}
	if !f.started {
		// The cache is empty: only what is chained from now on matters.
		var head sql.NullInt64
		if err := db.Raw("SELECT MAX(seq) FROM audit_events").Row().Scan(&head); err != nil {
			return dbErr("follow changes: read the chain's end", err)
		}
		f.seq, f.started = head.Int64, true
	}
	for {
		var rows []auditEventRow
		err := db.Select("seq", "action", "resource", "outcome").Where("seq > ?", f.seq).
			Order("seq").Limit(maxChangeBatch).Find(&rows).Error
		if err != nil {
			return dbErr("follow changes: read chained events", err)
		}
		for _, r := range rows {
			if m := modelChangedBy(r.Action, r.Resource, r.Outcome); m != "" {
				s.ready.versions.Invalidate(m)
			}
			f.seq = r.Seq
		}
		if len(rows) < maxChangeBatch {
			break
		}
	}
	if lagging := f.lagging(start, minID.Int64, maxID.Int64); lagging {
		s.ready.trustedUntil.Store(0)
		return nil
	}
	s.ready.trustUntil(start.Add(trustWindow))
	return nil
}

// lagging records this look's sample and reports whether an event that was
// pending chainLagLimit ago or earlier still is (minID is the oldest pending
// now, 0 when none): such an event's change may be committed and not
// chained, so invisible to the look. Until the first sample is that old
// there is no telling, which counts as lagging.
func (f *changeFollower) lagging(now time.Time, minID, maxID int64) bool {
	f.samples = append(f.samples, pendingSample{at: now, maxID: maxID})
	due := -1 // the newest sample at least chainLagLimit old
	for i, smp := range f.samples {
		if now.Sub(smp.at) >= chainLagLimit {
			due = i
		}
	}
	if due < 0 {
		return true // too young to tell
	}
	// Older samples are covered by the due one: an event pending then and
	// now was pending at the due sample too (rows only leave the table).
	f.samples = f.samples[due:]
	if now.Sub(f.samples[0].at) > maxSampleAge {
		// The looks were held up: the due sample is what bounds the
		// staleness (changeStaleness).
		return true
	}
	return minID != 0 && minID <= f.samples[0].maxID
}
