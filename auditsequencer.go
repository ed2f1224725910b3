package modelkeep

import (
	"context"
	"fmt"
	"time"
)

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

// auditSequenceBatch is the most events one sequencer pass chains: its
// transaction holds the chain head, so a pass stays short (a few
// milliseconds on MySQL) even when a burst left thousands waiting.
const auditSequenceBatch = 500

// auditSyncPasses bounds how many passes a reader runs to catch up
// (auditSequenceBatch each) before it reads: under a write storm it reads
// what is chained by then rather than wait for the storm to end.
const auditSyncPasses = 20

// sequencing is the store's sequencing part, nil if it has none.
func (l *AuditLog) sequencing() AuditSequencing { return l.seq }

// SyncAudit chains the events committed before it was called (up to
// auditSyncPasses batches), whichever process holds the sequencer's lease:
// passes serialise on the chain head, so running one here is always safe.
// Audit reads call it first, so that a read sees every change that
// committed before it began (read-your-writes for the log). It returns how
// many are still waiting.
func (l *AuditLog) SyncAudit(ctx context.Context) (pending int64, err error) {
	if l.seq == nil {
		return 0, nil
	}
	for range auditSyncPasses {
		n, err := l.seq.SequenceAudit(ctx, auditSequenceBatch)
		if err != nil {
			return 0, fmt.Errorf("sequence audit events: %w", err)
		}
		if n < auditSequenceBatch {
			break
		}
	}
	return l.seq.PendingAudit(ctx)
}

// AuditSequencerOptions tune RunAuditSequencer; the zero value is usable.
type AuditSequencerOptions struct {
	// Holder names this process in the lease row (host and pid, say);
	// it must differ between processes sharing the database.
	Holder string
	// Interval is how often the lease holder looks for queued events
	// (default 20 ms): the usual bound on the time an event waits.
	Interval time.Duration
	// LeaseTTL is how long the lease holds without renewal (default 5 s),
	// the time another process waits before taking over from one that
	// died. It is renewed every third of it.
	LeaseTTL time.Duration
}

// RunAuditSequencer runs the audit sequencer until ctx ends: it takes the
// lease when it is free or expired, and while it holds it chains the queued
// events every Interval; it releases the lease when ctx ends. Errors are
// logged and retried at the next tick. Without a store that queues events
// it returns at once.
func (l *AuditLog) RunAuditSequencer(ctx context.Context, opts AuditSequencerOptions) {
	if l.seq == nil {
		return
	}
	if opts.Interval <= 0 {
		opts.Interval = 20 * time.Millisecond
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 5 * time.Second
	}
	ticker := time.NewTicker(opts.Interval)
	defer ticker.Stop()
	var held bool
	var renewed time.Time
	defer func() {
		if held {
			// A fresh context: ctx is done, and the lease should go now
			// rather than after its expiry.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			if err := l.seq.ReleaseAuditLease(rctx, opts.Holder); err != nil {
				l.logger.WarnContext(ctx, "release the audit sequencer lease", "err", err)
			}
		}
	}()
	for {
		if !held || time.Since(renewed) >= opts.LeaseTTL/3 {
			ok, err := l.seq.AcquireAuditLease(ctx, opts.Holder, opts.LeaseTTL)
			switch {
			case err != nil && ctx.Err() == nil:
				l.logger.WarnContext(ctx, "acquire the audit sequencer lease", "err", err)
				held = false
			case err == nil:
				if ok != held {
					l.logger.InfoContext(ctx, "audit sequencer lease", "holder", opts.Holder, "held", ok)
				}
				held, renewed = ok, time.Now()
			}
		}
		if held {
			for {
				n, err := l.seq.SequenceAudit(ctx, auditSequenceBatch)
				if err != nil {
					if ctx.Err() == nil {
						l.logger.WarnContext(ctx, "sequence audit events", "err", err)
					}
					break
				}
				if n < auditSequenceBatch {
					break
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}
