package modelkeep

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/modelkeep/modelkeep/audit"
)

// MinAuditRetention is the shortest time audit events are kept: 184 days,
// the longest six calendar months (EU AI Act Art. 19(1) asks for at least
// six months). Nothing younger is ever pruned.
const MinAuditRetention = 184 * 24 * time.Hour

// Audit actions of the audit log's own use cases (audit.ActionPrune is
// the format's: the verifier looks for it).
const (
	ActionAuditCheckpoint = "audit.checkpoint"
	ActionAuditExport     = "audit.export"
)

const (
	auditResource = "audit"
	// pruneBatch bounds the events one prune transaction removes, so that a
	// first prune of a large log does not build one huge transaction.
	pruneBatch = 50_000
)

// requireWholeLog refuses tokens restricted to some models: the audit log
// and its verification span every model.
func (l *AuditLog) requireWholeLog(ctx context.Context, operation string) error {
	if a, ok := ActorFrom(ctx); ok && len(a.Models) > 0 {
		reason := "a token restricted to some models cannot read the audit log, which spans all of them"
		l.RecordDenied(ctx, operation, auditResource, reason)
		return Errorf(ErrForbidden, "%s", reason)
	}
	return nil
}

// ListAuditInput selects and pages audit events.
type ListAuditInput struct {
	Actor     string
	Action    string
	Resource  string // exact, or a prefix ending in '*'
	Outcome   string
	Since     time.Time // inclusive; zero for no bound
	Until     time.Time // exclusive; zero for no bound
	Ascending bool      // oldest first; newest first by default
	PageSize  int
	PageToken string
}

// AuditEvent reads one audit event by its seq; ErrNotFound when there is
// none (never recorded, or pruned after its retention).
func (l *AuditLog) AuditEvent(ctx context.Context, seq int64) (audit.Event, error) {
	if err := l.requireWholeLog(ctx, "getAuditEvent"); err != nil {
		return audit.Event{}, err
	}
	if seq < 1 {
		return audit.Event{}, Errorf(ErrInvalid, "seq must be 1 or more")
	}
	if _, err := l.SyncAudit(ctx); err != nil {
		return audit.Event{}, err
	}
	events, err := l.store.QueryAudit(ctx, AuditQuery{AfterSeq: seq - 1, Ascending: true, Limit: 1})
	if err != nil {
		return audit.Event{}, err
	}
	if len(events) == 0 || events[0].Seq != seq {
		return audit.Event{}, Errorf(ErrNotFound, "audit event %d not found (never recorded, or pruned after its retention)", seq)
	}
	return events[0], nil
}

// ListAuditEvents lists audit events, newest first unless in.Ascending;
// the second result is the next page token ("" on the last page).
func (l *AuditLog) ListAuditEvents(ctx context.Context, in ListAuditInput) ([]audit.Event, string, error) {
	if err := l.requireWholeLog(ctx, "listAuditEvents"); err != nil {
		return nil, "", err
	}
	order := "desc"
	if in.Ascending {
		order = "asc"
	}
	listing := NewListing("listAuditEvents", in.Actor, in.Action, in.Resource, in.Outcome, timeParam(in.Since), timeParam(in.Until), order)
	pg, cur, err := l.pager.start(listing, in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	if cur.Num < 0 {
		return nil, "", Errorf(ErrInvalid, "invalid page_token")
	}
	switch in.Outcome {
	case "", audit.OutcomeSuccess, audit.OutcomeDenied:
	default:
		return nil, "", Errorf(ErrInvalid, "outcome %q: want success or denied", in.Outcome)
	}
	if !in.Since.IsZero() && !in.Until.IsZero() && in.Until.Before(in.Since) {
		return nil, "", Errorf(ErrInvalid, "until is before since")
	}
	q := AuditQuery{
		Actor: in.Actor, Action: in.Action, Resource: in.Resource, Outcome: in.Outcome,
		Since: in.Since, Until: in.Until, Ascending: in.Ascending, Limit: pg.limit + 1,
	}
	if in.Ascending {
		q.AfterSeq = cur.Num
	} else {
		q.BeforeSeq = cur.Num
	}
	if _, err := l.SyncAudit(ctx); err != nil {
		return nil, "", err
	}
	events, err := l.store.QueryAudit(ctx, q)
	if err != nil {
		return nil, "", err
	}
	events, next := endPage(pg, events, func(e audit.Event) pageCursor { return pageCursor{Num: e.Seq} })
	return events, next, nil
}

// auditKeys are the keys whose checkpoints the server trusts: its own.
// Checkpoints by other keys (another instance's, a rotated key) are counted
// as unverified; give all public keys to `modelkeep audit verify` instead.
func (l *AuditLog) auditKeys() audit.Keyring {
	if l.signer == nil {
		return audit.Keyring{}
	}
	return audit.NewKeyring(l.signer.PublicKey())
}

// AuditPublicKey returns the id and PEM public key of the key that signs
// checkpoints and exports (ok false when there is none).
func (l *AuditLog) AuditPublicKey() (keyID, pem string, ok bool) {
	if l.signer == nil {
		return "", "", false
	}
	return l.signer.KeyID(), l.signer.PublicKeyPEM(), true
}

// VerifyAudit checks the whole stored chain, or from sinceSeq on: every
// event's hash, the links between them, that no seq is missing, that the
// chain reaches the recorded head, and every checkpoint in the range. It
// reads the chain in batches (constant memory) and stops at the first
// broken event. With sinceSeq it trusts the stored hash of event
// sinceSeq-1: a quick check of recent events, not a proof of the whole log.
func (l *AuditLog) VerifyAudit(ctx context.Context, sinceSeq int64) (audit.Verification, error) {
	if err := l.requireWholeLog(ctx, "verifyAudit"); err != nil {
		return audit.Verification{}, err
	}
	if sinceSeq < 0 {
		return audit.Verification{}, Errorf(ErrInvalid, "since_seq must not be negative")
	}
	pending, err := l.SyncAudit(ctx)
	if err != nil {
		return audit.Verification{}, err
	}
	v, err := l.verifyChain(ctx, sinceSeq)
	v.Pending = pending
	return v, err
}

var errStopScan = errors.New("stop scan")

func (l *AuditLog) verifyChain(ctx context.Context, sinceSeq int64) (audit.Verification, error) {
	v := audit.NewVerifier(l.auditKeys())
	// The newest checkpoint is read before the head: the head only grows,
	// so a checkpoint beyond it means events were cut from the end and the
	// head row moved back.
	newest, err := l.store.LastAuditCheckpoint(ctx, math.MaxInt64, "")
	hasNewest := err == nil
	if err != nil && !errors.Is(err, ErrNotFound) {
		return audit.Verification{}, err
	}
	headSeq, headHash, err := l.store.AuditHead(ctx)
	if err != nil {
		return audit.Verification{}, err
	}
	if hasNewest && newest.Seq > headSeq {
		v.Fail(headSeq+1, fmt.Sprintf("a signed checkpoint covers event %d but the chain head is %d: events were removed from its end", newest.Seq, headSeq))
		return v.Finish(headSeq, headHash), nil
	}
	first, _, err := l.store.AuditSeqRange(ctx, time.Time{})
	if err != nil {
		return audit.Verification{}, err
	}
	start := first
	switch {
	case sinceSeq > headSeq+1:
		return audit.Verification{}, Errorf(ErrInvalid, "since_seq %d is beyond the chain head %d", sinceSeq, headSeq)
	case first == 0 && headSeq == 0:
		return v.Finish(0, audit.GenesisHash), nil // nothing was ever recorded
	case first != 0 && sinceSeq > first:
		prev, err := l.store.GetAuditEvent(ctx, sinceSeq-1)
		if errors.Is(err, ErrNotFound) {
			v.Fail(sinceSeq-1, fmt.Sprintf("event %d is missing", sinceSeq-1))
			return v.Finish(headSeq, headHash), nil
		}
		if err != nil {
			return audit.Verification{}, err
		}
		v.Start(prev.Seq, prev.Hash)
		start = sinceSeq
	case first == 1:
		v.Start(0, audit.GenesisHash)
	default:
		// The events before first (or all, when none is left) were pruned,
		// or removed: a prune leaves a signed checkpoint of the last event
		// it removed, and records itself in the chain.
		gapEnd := first - 1
		if first == 0 {
			gapEnd = headSeq
		}
		base := int64(0)
		if gapEnd > 1 {
			prev, err := l.store.LastAuditCheckpoint(ctx, gapEnd-1, audit.CheckpointPrune)
			if err == nil {
				base = prev.Seq
			} else if !errors.Is(err, ErrNotFound) {
				return audit.Verification{}, err
			}
		}
		anchor, err := l.store.LastAuditCheckpoint(ctx, gapEnd, "")
		switch {
		case errors.Is(err, ErrNotFound) || err == nil && anchor.Seq != gapEnd:
			v.Fail(base+1, fmt.Sprintf("events %d to %d are missing and no signed prune anchor covers them", base+1, gapEnd))
			return v.Finish(headSeq, headHash), nil
		case err != nil:
			return audit.Verification{}, err
		}
		if !v.Anchor(anchor, base) {
			return v.Finish(headSeq, headHash), nil
		}
		if first == 0 {
			return v.Finish(headSeq, headHash), nil
		}
	}
	if err := scanChain(ctx, l.store, start, headSeq, v.Event, v.Checkpoint); err != nil && !errors.Is(err, errStopScan) {
		return audit.Verification{}, err
	}
	return v.Finish(headSeq, headHash), nil
}

// scanChain feeds the events from..to and their checkpoints, merged in seq
// order (each checkpoint right after its event), to onEvent and
// onCheckpoint; either returning false stops the scan with errStopScan.
func scanChain(ctx context.Context, meta AuditStore, from, to int64, onEvent func(audit.Event) bool, onCheckpoint func(audit.Checkpoint) bool) error {
	cps := &checkpointCursor{meta: meta, next: from, to: to}
	return meta.ScanAudit(ctx, from, to, func(e audit.Event) error {
		if !onEvent(e) {
			return errStopScan
		}
		for {
			c, ok, err := cps.peek(ctx)
			if err != nil {
				return err
			}
			if !ok || c.Seq > e.Seq {
				return nil
			}
			cps.pop()
			if c.Seq < e.Seq {
				continue // its event is missing: onEvent has reported the gap
			}
			if !onCheckpoint(c) {
				return errStopScan
			}
		}
	})
}

// checkpointCursor reads the checkpoints of a seq range in batches.
type checkpointCursor struct {
	meta     AuditStore
	next, to int64
	buf      []audit.Checkpoint
	done     bool
}

func (c *checkpointCursor) peek(ctx context.Context) (audit.Checkpoint, bool, error) {
	if len(c.buf) == 0 && !c.done {
		const batch = 1000
		var err error
		c.buf, err = c.meta.AuditCheckpointsBetween(ctx, c.next, c.to, batch)
		if err != nil {
			return audit.Checkpoint{}, false, err
		}
		if len(c.buf) < batch {
			c.done = true
		}
		if len(c.buf) > 0 {
			c.next = c.buf[len(c.buf)-1].Seq + 1
		}
	}
	if len(c.buf) == 0 {
		return audit.Checkpoint{}, false, nil
	}
	return c.buf[0], true, nil
}

func (c *checkpointCursor) pop() { c.buf = c.buf[1:] }

// signHead signs a checkpoint of the chain head, after checking that the
// head names a stored event whose content matches its hash. ok is false
// when the chain is empty.
func (l *AuditLog) signHead(ctx context.Context, kind string) (c audit.Checkpoint, ok bool, err error) {
	if l.signer == nil {
		return audit.Checkpoint{}, false, Errorf(ErrPrecondition, "this server has no audit signing key")
	}
	seq, hash, err := l.store.AuditHead(ctx)
	if err != nil || seq == 0 {
		return audit.Checkpoint{}, false, err
	}
	e, err := l.store.GetAuditEvent(ctx, seq)
	if errors.Is(err, ErrNotFound) {
		return audit.Checkpoint{}, false, fmt.Errorf("audit chain head %d has no event: %w", seq, ErrConflict)
	}
	if err != nil {
		return audit.Checkpoint{}, false, err
	}
	if e.Hash != hash || e.ComputeHash() != hash {
		// Signing would vouch for a damaged chain; verify shows where.
		return audit.Checkpoint{}, false, fmt.Errorf("audit event %d does not match the chain head; not signing: %w", seq, ErrConflict)
	}
	return l.signer.Checkpoint(seq, hash, l.clock(), kind), true, nil
}

// CheckpointAudit signs and stores a checkpoint of the chain head if it
// moved since the newest checkpoint: the periodic job. created is false
// when there was nothing new to sign. It chains what is waiting first
// (SyncAudit), so the checkpoint covers every change committed before it.
func (l *AuditLog) CheckpointAudit(ctx context.Context) (c audit.Checkpoint, created bool, err error) {
	if _, err := l.SyncAudit(ctx); err != nil {
		return audit.Checkpoint{}, false, err
	}
	newest, err := l.store.LastAuditCheckpoint(ctx, math.MaxInt64, "")
	if err != nil && !errors.Is(err, ErrNotFound) {
		return audit.Checkpoint{}, false, err
	}
	seq, _, err := l.store.AuditHead(ctx)
	if err != nil {
		return audit.Checkpoint{}, false, err
	}
	if seq == 0 || newest.Seq >= seq {
		return newest, false, nil
	}
	c, ok, err := l.signHead(ctx, audit.CheckpointInterval)
	if err != nil || !ok {
		return audit.Checkpoint{}, false, err
	}
	return l.store.AddAuditCheckpoint(ctx, c)
}

// CreateAuditCheckpoint signs and stores a checkpoint of the chain head on
// request, recording the request in the log (after the head it signs). The
// head it signs covers every change committed before the request.
func (l *AuditLog) CreateAuditCheckpoint(ctx context.Context) (audit.Checkpoint, error) {
	if _, err := l.SyncAudit(ctx); err != nil {
		return audit.Checkpoint{}, err
	}
	c, ok, err := l.signHead(ctx, audit.CheckpointRequest)
	if err != nil {
		return audit.Checkpoint{}, err
	}
	if !ok {
		return audit.Checkpoint{}, Errorf(ErrPrecondition, "the audit log is empty: there is no head to sign")
	}
	err = l.store.InAuditTx(ctx, func(tx AuditStore) error {
		var err error
		if c, _, err = tx.AddAuditCheckpoint(ctx, c); err != nil {
			return err
		}
		return l.recordNow(ctx, tx, ActionAuditCheckpoint, auditResource, map[string]any{
			"seq": c.Seq, "hash": c.Hash, "key_id": c.KeyID})
	})
	if err != nil {
		return audit.Checkpoint{}, err
	}
	return c, nil
}

// ListAuditCheckpoints lists checkpoints, newest first.
func (l *AuditLog) ListAuditCheckpoints(ctx context.Context, pageSize int, pageToken string) ([]audit.Checkpoint, string, error) {
	pg, cur, err := l.pager.start(NewListing("listAuditCheckpoints"), pageSize, pageToken)
	if err != nil {
		return nil, "", err
	}
	if cur.Num < 0 {
		return nil, "", Errorf(ErrInvalid, "invalid page_token")
	}
	cps, err := l.store.ListAuditCheckpoints(ctx, cur.Num, pg.limit+1)
	if err != nil {
		return nil, "", err
	}
	cps, next := endPage(pg, cps, func(c audit.Checkpoint) pageCursor { return pageCursor{Num: c.Seq} })
	return cps, next, nil
}

// AuditPrune reports what PruneAudit removed (or would remove).
type AuditPrune struct {
	Cutoff     time.Time // events older than this may go
	FirstSeq   int64     // the oldest stored event before the prune (0: none)
	ThroughSeq int64     // the last event removed (or to remove)
	Deleted    int64
	Anchors    []audit.Checkpoint
}

// PruneAudit removes the events older than retention (at least
// MinAuditRetention), keeping the chain verifiable: in each transaction it
// signs a checkpoint of the last event it removes (the new anchor of the
// chain), deletes the events up to it and appends an audit.prune event
// naming it. Only a contiguous run of old events from the start goes: an
// event is removed only if it and every event before it are older than the
// cut-off, so nothing younger is ever removed, whatever the clocks did. A
// chain that does not verify is not pruned: it is evidence.
//
// It needs a database user with DELETE on the audit tables, which the
// server's user should not have (see docs/audit.md).
func (l *AuditLog) PruneAudit(ctx context.Context, retention time.Duration, dryRun bool) (AuditPrune, error) {
	if retention < MinAuditRetention {
		return AuditPrune{}, Errorf(ErrInvalid, "audit retention %s is below the minimum of 184 days", retention)
	}
	if l.signer == nil {
		return AuditPrune{}, Errorf(ErrPrecondition, "this server has no audit signing key to anchor the pruned chain")
	}
	out := AuditPrune{Cutoff: l.clock().Add(-retention)}
	// The head first: events chained after it (by a sequencer running
	// meanwhile) lie beyond it, so a young event chained between the two
	// reads can never fall inside the range to remove.
	headSeq, _, err := l.store.AuditHead(ctx)
	if err != nil {
		return AuditPrune{}, err
	}
	first, young, err := l.store.AuditSeqRange(ctx, out.Cutoff)
	if err != nil {
		return AuditPrune{}, err
	}
	out.FirstSeq, out.ThroughSeq = first, headSeq
	if young != 0 {
		out.ThroughSeq = min(headSeq, young-1)
	}
	if first == 0 || out.ThroughSeq < first {
		out.ThroughSeq = 0
		return out, nil
	}
	// The anchor must verify where the servers verify: with their key.
	if newest, err := l.store.LastAuditCheckpoint(ctx, math.MaxInt64, ""); err == nil && newest.KeyID != l.signer.KeyID() {
		return AuditPrune{}, Errorf(ErrPrecondition, "the newest audit checkpoint is signed by key %s, not by this key %s: "+
			"prune with the servers' signing key (same data dir, JWT key or MODELKEEP_AUDIT_KEY_FILE)", newest.KeyID, l.signer.KeyID())
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return AuditPrune{}, err
	}
	res, err := l.verifyChain(ctx, 0)
	if err != nil {
		return AuditPrune{}, err
	}
	if !res.OK {
		return AuditPrune{}, Errorf(ErrPrecondition, "the audit chain is broken at seq %d (%s): pruning would destroy evidence; investigate first",
			res.FirstBrokenSeq, res.Reason)
	}
	if dryRun {
		out.Deleted = out.ThroughSeq - first + 1
		return out, nil
	}
	for lo := first; lo <= out.ThroughSeq; {
		hi := min(out.ThroughSeq, lo+pruneBatch-1)
		err := l.store.InAuditTx(ctx, func(tx AuditStore) error {
			e, err := tx.GetAuditEvent(ctx, hi)
			if err != nil {
				return fmt.Errorf("read the new anchor event %d: %w", hi, err)
			}
			anchor, _, err := tx.AddAuditCheckpoint(ctx, l.signer.Checkpoint(hi, e.Hash, l.clock(), audit.CheckpointPrune))
			if err != nil {
				return err
			}
			if anchor.Hash != e.Hash {
				return Errorf(ErrConflict, "a checkpoint of event %d disagrees with it", hi)
			}
			n, err := tx.PruneAudit(ctx, hi)
			if err != nil {
				return err
			}
			out.Deleted += n
			out.Anchors = append(out.Anchors, anchor)
			return l.recordNow(ctx, tx, audit.ActionPrune, auditResource, map[string]any{
				"through_seq": hi, "anchor_hash": e.Hash, "deleted": n,
				"cutoff": audit.FormatTime(out.Cutoff), "retention_days": int64(retention / (24 * time.Hour)),
			})
		})
		if err != nil {
			return out, err
		}
		lo = hi + 1
	}
	return out, nil
}

// AuditSequencing is the optional part of an AuditStore (found by type
// assertion) that orders queued audit events (AuditQueue) into the chain,
// and elects, through the database, the one process that does it.
type AuditSequencing interface {
	// SequenceAudit chains up to limit committed queued events after the
	// head, in one transaction holding the head, and returns how many.
	SequenceAudit(ctx context.Context, limit int) (int, error)
	// PendingAudit counts the committed events not chained yet.
	PendingAudit(ctx context.Context) (int64, error)
	// AcquireAuditLease takes or renews the sequencer's lease for holder
	// for ttl when it is free, expired or holder's; it reports whether
	// holder has it.
	AcquireAuditLease(ctx context.Context, holder string, ttl time.Duration) (bool, error)
	// ReleaseAuditLease frees the lease if holder has it.
	ReleaseAuditLease(ctx context.Context, holder string) error
}

// AuditSequenceBatch is the most events one sequencer pass chains: its
// transaction holds the chain head, so a pass stays short (a few
// milliseconds on MySQL) even when a burst left thousands waiting.
const AuditSequenceBatch = 500

// auditSyncPasses bounds how many passes a reader runs to catch up
// (AuditSequenceBatch each) before it reads: under a write storm it reads
// what is chained by then rather than wait for the storm to end.
const auditSyncPasses = 20

// SyncAudit chains the events committed before it was called (up to
// auditSyncPasses batches), whichever process holds the sequencer's lease
// (package auditseq runs the lease holder's loop):
// passes serialise on the chain head, so running one here is always safe.
// Audit reads call it first, so that a read sees every change that
// committed before it began (read-your-writes for the log). It returns how
// many are still waiting.
func (l *AuditLog) SyncAudit(ctx context.Context) (pending int64, err error) {
	if l.seq == nil {
		return 0, nil
	}
	for range auditSyncPasses {
		n, err := l.seq.SequenceAudit(ctx, AuditSequenceBatch)
		if err != nil {
			return 0, fmt.Errorf("sequence audit events: %w", err)
		}
		if n < AuditSequenceBatch {
			break
		}
	}
	return l.seq.PendingAudit(ctx)
}
