package store

import (
	"context"
	"errors"
	"sync"
	"time"
)

// auditBatcher writes the audit events queued outside a transaction (each
// download's file.download, refusals) that arrive together as one
// multi-row INSERT: one statement and one commit for a burst of
// concurrent downloads instead of one of each per download. Every caller
// still returns only once its own event is committed (or failed), so a
// download is never served before its event is stored.
//
// No goroutine of its own: the first caller to find no flush running
// writes what is pending, itself included; callers arriving meanwhile
// wait, and when the flush ends the first of them writes the next batch.
// Under one request at a time nothing waits and nothing changes.
type auditBatcher struct {
	mu       sync.Mutex
	pending  []*batchedAudit
	flushing bool
}

type batchedAudit struct {
	row  auditPendingRow
	done chan error    // its batch's outcome (buffered)
	lead chan struct{} // closed when this caller is to write the next batch
}

// maxAuditBatch bounds one INSERT's rows (each at most a few KiB).
const maxAuditBatch = 256

// auditBatchTimeout bounds one batch's INSERT. The batch does not run
// under any one caller's context: a caller that went away must not fail
// the others' events.
const auditBatchTimeout = 30 * time.Second

// add queues row and returns once the batch holding it is written by
// insert.
func (b *auditBatcher) add(ctx context.Context, row auditPendingRow, insert func(context.Context, []auditPendingRow) error) error {
	q := &batchedAudit{row: row, done: make(chan error, 1), lead: make(chan struct{})}
	b.mu.Lock()
	b.pending = append(b.pending, q)
	leader := !b.flushing
	b.flushing = true
	b.mu.Unlock()
	if !leader {
		// Not abandoned when ctx ends: this caller may be the next to write.
		select {
		case err := <-q.done:
			return err
		case <-q.lead:
		}
	}
	b.flush(context.WithoutCancel(ctx), insert)
	return <-q.done
}

// flush writes up to maxAuditBatch pending rows, reports the outcome to
// their callers, and hands the next batch to the first caller still
// waiting (or ends the flushing).
func (b *auditBatcher) flush(ctx context.Context, insert func(context.Context, []auditPendingRow) error) {
	b.mu.Lock()
	n := min(len(b.pending), maxAuditBatch)
	batch := b.pending[:n:n]
	b.pending = b.pending[n:]
	b.mu.Unlock()

	rows := make([]auditPendingRow, len(batch))
	for i, q := range batch {
		rows[i] = q.row
	}
	// Deferred, so that a panicking insert fails its batch and hands on
	// instead of leaving every later caller waiting for good.
	err := errAuditBatchPanicked
	defer func() {
		for _, q := range batch {
			q.done <- err
		}
		b.mu.Lock()
		if len(b.pending) > 0 {
			close(b.pending[0].lead)
		} else {
			b.flushing = false
		}
		b.mu.Unlock()
	}()
	ctx, cancel := context.WithTimeout(ctx, auditBatchTimeout)
	defer cancel()
	err = insert(ctx, rows)
}

var errAuditBatchPanicked = errors.New("write audit events: the insert panicked")
