package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/audit"
)

// addConcurrently adds n rows at once (resources r0..r{n-1}) and returns
// each caller's error, by row.
func addConcurrently(b *auditBatcher, n int, insert func(context.Context, []auditPendingRow) error) []error {
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = b.add(context.Background(), auditPendingRow{Resource: fmt.Sprint("r", i)}, insert)
		})
	}
	wg.Wait()
	return errs
}

// waitPending waits until n rows are pending in b.
func waitPending(t *testing.T, b *auditBatcher, n int) {
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Microsecond) {
		b.mu.Lock()
		got := len(b.pending)
		b.mu.Unlock()
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d rows pending, want %d", got, n)
			return
		}
	}
}

// TestAuditBatcher: the first caller's insert is held until every other
// caller is waiting, so the batches are known: the first caller's own
// (with whoever queued before it took the batch), then the rest in batches
// of at most maxAuditBatch.
func TestAuditBatcher(t *testing.T) {
	for _, tc := range []struct {
		name     string
		callers  int
		failFrom int // the batches from this one on fail (0: none)
	}{
		{name: "one caller", callers: 1},
		{name: "a burst", callers: 200},
		{name: "more than one batch holds", callers: 3 * maxAuditBatch},
		{name: "a failing batch", callers: 100, failFrom: 2}, // the first succeeds, the rest fail
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				b       auditBatcher
				mu      sync.Mutex
				batches [][]string
				failed  = map[string]bool{}
			)
			insert := func(ctx context.Context, rows []auditPendingRow) error {
				mu.Lock()
				first := len(batches) == 0
				mu.Unlock()
				if first {
					waitPending(t, &b, tc.callers-len(rows))
				}
				mu.Lock()
				defer mu.Unlock()
				var names []string
				for _, r := range rows {
					names = append(names, r.Resource)
				}
				batches = append(batches, names)
				if tc.failFrom > 0 && len(batches) >= tc.failFrom {
					for _, n := range names {
						failed[n] = true
					}
					return errors.New("disk full")
				}
				return nil
			}
			errs := addConcurrently(&b, tc.callers, insert)

			var written []string
			for _, batch := range batches {
				if len(batch) > maxAuditBatch {
					t.Errorf("a batch of %d rows, want at most %d", len(batch), maxAuditBatch)
				}
				written = append(written, batch...)
			}
			slices.Sort(written)
			if distinct := len(slices.Compact(slices.Clone(written))); distinct != tc.callers || len(written) != tc.callers {
				t.Fatalf("%d rows written (%d distinct), want each of %d once", len(written), distinct, tc.callers)
			}
			rest := tc.callers - len(batches[0])
			if want := 1 + (rest+maxAuditBatch-1)/maxAuditBatch; len(batches) != want {
				t.Errorf("%d inserts for %d callers (%d in the first), want %d", len(batches), tc.callers, len(batches[0]), want)
			}
			for i, err := range errs {
				if want := failed[fmt.Sprint("r", i)]; (err != nil) != want {
					t.Errorf("caller %d: %v, want failed %v", i, err, want)
				}
			}
			if tc.failFrom > 0 && (len(failed) == 0 || len(failed) == tc.callers) {
				t.Errorf("%d of %d callers failed: want the first batch to succeed and the rest to fail", len(failed), tc.callers)
			}
			if b.flushing || len(b.pending) != 0 {
				t.Errorf("after the burst: flushing %v, %d pending", b.flushing, len(b.pending))
			}
			t.Logf("%d callers, %d inserts", tc.callers, len(batches))
		})
	}
}

// TestQueueAuditOutsideTransactions: events queued at once outside
// transactions, as concurrent downloads queue theirs, are each stored once
// and chained by the sequencer.
func TestQueueAuditOutsideTransactions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		ctx := t.Context()
		s := openReplica(t, newURL(t))
		const n = 120
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				e := audit.Event{Actor: "deployer", Action: "file.download", Resource: fmt.Sprint("models/m/versions/", i+1),
					Outcome: audit.OutcomeSuccess, Details: []byte(`{}`)}
				errs[i] = s.QueueAudit(ctx, e)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		var pending int64
		if err := s.db.WithContext(ctx).Model(&auditPendingRow{}).Count(&pending).Error; err != nil || pending != n {
			t.Fatalf("%d events pending (%v), want %d", pending, err, n)
		}
		if got, err := s.SequenceAudit(ctx, 1000); err != nil || got != n {
			t.Fatalf("sequenced %d (%v), want %d", got, err, n)
		}
		events, err := s.QueryAudit(ctx, modelkeep.AuditQuery{Action: "file.download"})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, e := range events {
			seen[e.Resource]++
		}
		for i := range n {
			if r := fmt.Sprint("models/m/versions/", i+1); seen[r] != 1 {
				t.Errorf("%s chained %d times", r, seen[r])
			}
		}
	})
}

// A panicking insert fails its own batch only: its callers get an error,
// and the batcher writes the next batch as before.
func TestAuditBatcherInsertPanics(t *testing.T) {
	var b auditBatcher
	var calls int
	insert := func(context.Context, []auditPendingRow) error {
		calls++
		if calls == 1 {
			panic("driver bug")
		}
		return nil
	}
	func() {
		defer func() {
			if r := recover(); r != "driver bug" {
				t.Fatalf("recovered %v, want the insert's panic", r)
			}
		}()
		_ = b.add(context.Background(), auditPendingRow{Resource: "first"}, insert)
	}()
	if b.flushing {
		t.Fatal("still flushing after the panic: every later caller would wait for good")
	}
	if err := b.add(context.Background(), auditPendingRow{Resource: "second"}, insert); err != nil || calls != 2 {
		t.Fatalf("the next add: %v after %d inserts", err, calls)
	}
}
