// Package auditseq runs the audit log's sequencer: the loop in which one
// process among the replicas sharing a database, elected by a lease row the
// store keeps (modelkeep.AuditSequencing), chains the audit events that
// changes queued in their own transactions (docs/audit.md §2). The chaining
// itself is the store's; readers that need read-your-writes run a pass of
// their own (modelkeep.AuditLog.SyncAudit), so this loop only bounds how long
// an event waits when nobody reads.
package auditseq

import (
	"context"
	"log/slog"
	"time"

	"github.com/modelkeep/modelkeep"
)

// Options tune Run; the zero value is usable.
type Options struct {
	// Holder names this process in the lease row (host and pid, say);
	// it must differ between processes sharing the database.
	Holder string
	// Wake, when not nil, signals that this process queued events and
	// committed them (the store's AuditQueued): the holder chains them at
	// once instead of at its next look, at most one pass per MinGap.
	Wake <-chan struct{}
	// Interval is how often the lease holder looks for queued events
	// without being woken (default 20 ms without Wake, 250 ms with it):
	// the bound on the time an event queued by another process waits. An
	// idle process looked 50 times a second before Wake, which cost 1.6 %
	// of a CPU and a query each time.
	Interval time.Duration
	// MinGap is the least time between two passes when woken (default
	// 20 ms), so that a burst of changes is chained in batches rather than
	// a pass per commit.
	MinGap time.Duration
	// LeaseTTL is how long the lease holds without renewal (default 5 s),
	// the time another process waits before taking over from one that
	// died. It is renewed every third of it.
	LeaseTTL time.Duration
}

// Run runs the audit sequencer until ctx ends: it takes the
// lease when it is free or expired, and while it holds it chains the queued
// events every Interval; it releases the lease when ctx ends. Errors are
// logged and retried at the next tick. With a nil seq (a store that does not
// queue events) it returns at once.
func Run(ctx context.Context, seq modelkeep.AuditSequencing, logger *slog.Logger, opts Options) {
	if seq == nil {
		return
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.Interval <= 0 {
		opts.Interval = 20 * time.Millisecond
		if opts.Wake != nil {
			opts.Interval = 250 * time.Millisecond
		}
	}
	if opts.MinGap <= 0 {
		opts.MinGap = 20 * time.Millisecond
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 5 * time.Second
	}
	ticker := time.NewTicker(opts.Interval)
	defer ticker.Stop()
	var held bool
	var renewed, lastPass time.Time
	defer func() {
		if held {
			// A fresh context: ctx is done, and the lease should go now
			// rather than after its expiry.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
			defer cancel()
			if err := seq.ReleaseAuditLease(rctx, opts.Holder); err != nil {
				logger.WarnContext(ctx, "release the audit sequencer lease", "err", err)
			}
		}
	}()
	for {
		if !held || time.Since(renewed) >= opts.LeaseTTL/3 {
			ok, err := seq.AcquireAuditLease(ctx, opts.Holder, opts.LeaseTTL)
			switch {
			case err != nil && ctx.Err() == nil:
				logger.WarnContext(ctx, "acquire the audit sequencer lease", "err", err)
				held = false
			case err == nil:
				if ok != held {
					logger.InfoContext(ctx, "audit sequencer lease", "holder", opts.Holder, "held", ok)
				}
				held, renewed = ok, time.Now()
			}
		}
		if held {
			lastPass = time.Now()
			for {
				n, err := seq.SequenceAudit(ctx, modelkeep.AuditSequenceBatch)
				if err != nil {
					if ctx.Err() == nil {
						logger.WarnContext(ctx, "sequence audit events", "err", err)
					}
					break
				}
				if n < modelkeep.AuditSequenceBatch {
					break
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-opts.Wake:
			if !sleep(ctx, opts.MinGap-time.Since(lastPass)) {
				return
			}
		}
	}
}

// sleep waits for d (nothing when d <= 0) unless ctx ends first; it
// reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
