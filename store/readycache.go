package store

import (
	"context"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/internal/gencache"
)

// A ready version is read far more often than it changes: its row, files,
// params and lineage never change again, and what can (its stage, aliases,
// ever_production, updated_at) changes only through a use case that records
// an audit event naming its model in the same transaction. So GetVersion
// keeps ready versions in memory (readyCache), per model, and drops a
// model's versions:
//   - at once, after the commit of any transaction of this process that
//     recorded an event naming the model (txChanges);
//   - for changes made by other processes (replicas, `modelkeep` commands),
//     when FollowChanges finds their events in the chain.
//
// Another process's change is therefore seen within a bound
// (changeStaleness, docs/audit.md says how it is made up), and this
// process's own changes at once: a client that changed a version and reads it
// back through the same server sees its change. The cache serves nothing
// while FollowChanges is not keeping up (not running, failing, or the chain
// lagging behind its pending events): GetVersion reads the database then.
type readyCache struct {
	versions *gencache.Cache[versionKey, modelkeep.Version]
	// trustedUntil is when the cache stops serving unless FollowChanges
	// vouches for it again, as nanoseconds since base: durations on the
	// monotonic clock, which a step of the wall clock does not move.
	base         time.Time
	trustedUntil atomic.Int64
	// What GetVersion outside transactions did, for /metrics: served from
	// the cache, read while it served, read while it did not.
	hits, misses, bypassed atomic.Uint64
	// idleAfter is how long FollowChanges keeps looking after the last
	// version read (followIdleAfter).
	idleAfter time.Duration
}

// ReadyCacheStats is what the ready-version cache did so far (GetVersion
// calls outside transactions answered from it, read from the database
// while it served, read while it did not) and whether it serves now.
type ReadyCacheStats struct {
	Hits, Misses, Bypassed uint64
	Serving                bool
}

// ReadyCacheStats reports the ready-version cache's counts (for /metrics).
func (s *Store) ReadyCacheStats() ReadyCacheStats {
	c := s.ready
	if c == nil {
		return ReadyCacheStats{}
	}
	return ReadyCacheStats{Hits: c.hits.Load(), Misses: c.misses.Load(), Bypassed: c.bypassed.Load(), Serving: c.serving(time.Now())}
}

type versionKey struct {
	model  string
	number int
}

// readyCacheWeight bounds the cache: about 64 MiB of versions, weighed by
// their approximate size in bytes.
const readyCacheWeight = 64 << 20

const (
	// changePollInterval is how often FollowChanges reads the chain.
	changePollInterval = 100 * time.Millisecond
	// chainLagLimit is how long an event may wait in audit_pending, as
	// FollowChanges sees it, before the cache stops serving: beyond it a
	// change of another process may be committed and not yet in the
	// chain, where FollowChanges would find it. The sequencer chains
	// within 250 ms plus a pass while its lease holder runs (docs/audit.md).
	chainLagLimit = time.Second
	// trustWindow is how long one successful poll vouches for the cache.
	trustWindow = 500 * time.Millisecond
	// changeStaleness is the bound on how long another process's change
	// may go unseen by this one's GetVersion: a look vouches for
	// trustWindow, and it saw every change committed before its lag
	// check's sample, which is at most maxSampleAge old (changefollow.go).
	changeStaleness = trustWindow + maxSampleAge
)

func newReadyCache() *readyCache {
	return &readyCache{versions: gencache.New[versionKey, modelkeep.Version](readyCacheWeight), base: time.Now(),
		idleAfter: followIdleAfter}
}

// reads is how many version reads outside transactions asked the cache.
func (c *readyCache) reads() uint64 {
	return c.hits.Load() + c.misses.Load() + c.bypassed.Load()
}

// serving reports whether FollowChanges vouches for the cache now.
func (c *readyCache) serving(now time.Time) bool {
	return int64(now.Sub(c.base)) < c.trustedUntil.Load()
}

// trustUntil lets the cache serve until t (a time on the monotonic clock).
func (c *readyCache) trustUntil(t time.Time) {
	c.trustedUntil.Store(int64(t.Sub(c.base)))
}

// cachedVersion returns the ready version model/number from the cache, or
// reads it (read) and keeps it when it is ready.
func (s *Store) cachedVersion(ctx context.Context, model string, number int,
	read func(ctx context.Context, model string, number int) (modelkeep.Version, error)) (modelkeep.Version, error) {
	c := s.ready
	if s.inTx || c == nil {
		return read(ctx, model, number)
	}
	if !c.serving(time.Now()) {
		c.bypassed.Add(1)
		return read(ctx, model, number)
	}
	key := versionKey{model: model, number: number}
	if v, ok := c.versions.Get(key); ok {
		c.hits.Add(1)
		// Versions are read-only for callers (their maps are shared, as
		// the body cache's are), but the aliases slice, the part most
		// likely to be sorted or appended to, is cheap to keep apart.
		v.Aliases = slices.Clone(v.Aliases)
		return v, nil
	}
	c.misses.Add(1)
	t := c.versions.Ticket(model)
	v, err := read(ctx, model, number)
	if err == nil && v.Status == modelkeep.StatusReady {
		kept := v
		kept.Aliases = slices.Clone(v.Aliases)
		c.versions.Put(t, key, kept, approxVersionSize(kept))
	}
	return v, err
}

func approxVersionSize(v modelkeep.Version) int {
	n := 512 + len(v.Model) + len(v.Description) + len(v.ManifestDigest) + len(v.CreatedBy) +
		len(v.Source.RunID) + len(v.Source.GitCommit) + len(v.Source.CodeURI)
	for k, val := range v.Tags {
		n += 32 + len(k) + len(val)
	}
	for k, val := range v.Params {
		n += 32 + len(k) + len(val)
	}
	for _, d := range v.Datasets {
		n += 64 + len(d.Name) + len(d.Version) + len(d.URI) + len(d.SHA256)
	}
	for _, a := range v.Aliases {
		n += 16 + len(a)
	}
	return n
}

// modelOfResource is the model an audit resource names ("models/NAME" and
// what lies under it), or "".
func modelOfResource(resource string) string {
	rest, ok := strings.CutPrefix(resource, "models/")
	if !ok {
		return ""
	}
	name, _, _ := strings.Cut(rest, "/")
	return name
}

// changesNothing reports whether an event records something other than a
// change, which needs no invalidation: a download (or its presigned URL),
// a refusal. Downloads of a busy model would otherwise empty its cached
// versions on every server. Everything
// else is taken for a change (dropping cached versions for nothing costs a
// read, missing a change would serve a stale one).
func changesNothing(action, outcome string) bool {
	switch action {
	case "file.download", "file.presign": // a download, directly or by a presigned URL
		return true
	}
	return outcome == audit.OutcomeDenied
}

// txChanges collects the models named by the events a transaction recorded,
// to drop their cached versions after it commits.
type txChanges struct {
	mu     sync.Mutex
	models []string
}

func (c *txChanges) noteModel(model string) {
	c.mu.Lock()
	if !slices.Contains(c.models, model) {
		c.models = append(c.models, model)
	}
	c.mu.Unlock()
}

// modelChangedBy is the model whose cached versions an event makes stale:
// its resource's model, unless the event changes nothing ("" then, or for
// an event outside models). This store's own events (noteChange) and other
// processes' (FollowChanges) go by it alike.
func modelChangedBy(action, resource, outcome string) string {
	if changesNothing(action, outcome) {
		return ""
	}
	return modelOfResource(resource)
}

// noteChange records, in a transaction, that its commit changes what the
// event's resource names; outside one it invalidates at once (the change is
// committed already).
func (s *Store) noteChange(e audit.Event) {
	if m := modelChangedBy(e.Action, e.Resource, e.Outcome); m != "" {
		s.versionsChanged(m)
	}
}

// versionsChanged records that the caller changes versions of model: in a
// transaction they are dropped from the cache after its commit, outside one
// at once (call it after the write). The store's writers of version rows
// call it themselves, so the cache does not depend on their callers
// recording audit events.
func (s *Store) versionsChanged(model string) {
	if s.ready == nil {
		return
	}
	if s.txChanges != nil {
		s.txChanges.noteModel(model)
		return
	}
	s.ready.versions.Invalidate(model)
}

// invalidateCommitted drops the cached versions of the models a committed
// transaction changed.
func (s *Store) invalidateCommitted(c *txChanges) {
	if s.ready == nil {
		return
	}
	for _, m := range c.models {
		s.ready.versions.Invalidate(m)
	}
}
