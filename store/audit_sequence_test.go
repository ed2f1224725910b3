package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/auditseq"
	"github.com/modelkeep/modelkeep/internal/testenv"
)

// openReplica opens the database at dbURL as one more server process would:
// its own pool, the real clock (leases expire in real time).
func openReplica(t *testing.T, dbURL string) *Store {
	t.Helper()
	s, err := Open(t.Context(), Options{URL: dbURL, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// queue records one event in a transaction of its own, as a change does.
func queue(ctx context.Context, s *Store, log *modelkeep.AuditLog, resource string) error {
	return s.InTx(ctx, func(tx modelkeep.MetaStore) error {
		return log.RecordChange(ctx, tx, "test.write", resource, map[string]any{"r": resource})
	})
}

// TestAuditSequencerTakeover: two replicas share a database while writers
// record events through both. Replica A holds the sequencer's lease and dies
// in the middle of a batch, after chaining it and before committing; replica
// B, running the sequencer loop all along, waits out A's lease, takes over,
// and chains everything: one gapless chain, every record exactly once.
func TestAuditSequencerTakeover(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		ctx := t.Context()
		url := newURL(t)
		a, b := openReplica(t, url), openReplica(t, url)
		logA := modelkeep.NewAuditLog(a, modelkeep.AuditLogOptions{})
		logB := modelkeep.NewAuditLog(b, modelkeep.AuditLogOptions{})
		const ttl = 2 * time.Second

		// A takes the lease and writes a first burst. (The lease runs from
		// a time inside the call: the time before it is the earliest.)
		acquired := time.Now()
		if ok, err := a.AcquireAuditLease(ctx, "A", ttl); err != nil || !ok {
			t.Fatalf("A acquires the free lease: %v %v", ok, err)
		}
		// B cannot take a held lease. (Asked at once: on a loaded machine
		// the burst below has outlasted the lease, which B may then take.)
		if ok, err := b.AcquireAuditLease(ctx, "B", ttl); err != nil || ok {
			t.Fatalf("B took A's lease %s after A took it for %s: %v %v", time.Since(acquired), ttl, ok, err)
		}
		const first = 30
		for i := range first {
			if err := queue(ctx, a, logA, fmt.Sprint("w/a/", i)); err != nil {
				t.Fatal(err)
			}
		}

		// A dies mid-batch: its pass inserts the chained events and removes
		// the pending rows, then the process is gone before the commit.
		killed := errors.New("killed mid-batch")
		var hookRan int
		a.sequenceHook = func(context.Context, int) error { hookRan++; return killed }
		if n, err := a.SequenceAudit(ctx, 1000); !errors.Is(err, killed) || n != 0 {
			t.Fatalf("A's pass: %d, %v; want killed", n, err)
		}
		if hookRan != 1 {
			t.Fatalf("the hook ran %d times", hookRan)
		}
		if seq, _, err := b.AuditHead(ctx); err != nil || seq != 0 {
			t.Fatalf("head after the killed pass %d (%v), want 0", seq, err)
		}
		if n, err := b.PendingAudit(ctx); err != nil || n != first {
			t.Fatalf("pending after the killed pass %d (%v), want %d: records lost", n, err, first)
		}

		// B runs the sequencer while writers go on through both replicas.
		bctx, stopB := context.WithCancel(ctx)
		bDone := make(chan struct{})
		go func() {
			defer close(bDone)
			auditseq.Run(bctx, b, nil, auditseq.Options{Holder: "B", Interval: 10 * time.Millisecond, LeaseTTL: ttl})
		}()
		defer func() { stopB(); <-bDone }()
		const writers, each = 4, 40
		var wg sync.WaitGroup
		errs := make(chan error, writers)
		for w := range writers {
			wg.Go(func() {
				s, log := a, logA
				if w%2 == 1 {
					s, log = b, logB
				}
				for i := range each {
					if err := queue(ctx, s, log, fmt.Sprintf("w/%d/%d", w, i)); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		// While A's lease holds, nothing is chained.
		if seq, _, err := b.AuditHead(ctx); err != nil || seq != 0 && time.Since(acquired) < ttl {
			t.Fatalf("head %d (%v) while A's lease holds, want 0", seq, err)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		total := int64(first + writers*each)
		// B takes over once the lease expires, and drains the queue: poll
		// (without chaining anything here) within a bound.
		for deadline := time.Now().Add(ttl + 20*time.Second); ; {
			n, err := b.PendingAudit(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if seq, _, _ := b.AuditHead(ctx); n == 0 && seq == total {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d still pending after B's takeover", n)
			}
			time.Sleep(20 * time.Millisecond)
		}
		if time.Since(acquired) < ttl {
			t.Errorf("B chained events %s after A took the lease, before it expired (%s)", time.Since(acquired), ttl)
		}
		var lease auditLeaseRow
		if err := b.db.Take(&lease, 1).Error; err != nil || lease.Holder != "B" {
			t.Errorf("lease %+v (%v), want held by B", lease, err)
		}

		v, err := logB.VerifyAudit(ctx, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !v.OK || v.Events != total || v.HeadSeq != total || v.Pending != 0 {
			t.Fatalf("verify %+v, want ok with %d events", v, total)
		}
		events, err := b.QueryAudit(ctx, modelkeep.AuditQuery{Ascending: true})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for i, e := range events {
			if e.Seq != int64(i+1) {
				t.Fatalf("event %d has seq %d", i, e.Seq)
			}
			seen[e.Resource]++
		}
		for i := range first {
			if r := fmt.Sprint("w/a/", i); seen[r] != 1 {
				t.Errorf("%s chained %d times", r, seen[r])
			}
		}
		for w := range writers {
			for i := range each {
				if r := fmt.Sprintf("w/%d/%d", w, i); seen[r] != 1 {
					t.Errorf("%s chained %d times", r, seen[r])
				}
			}
		}
	})
}

// TestSequenceAuditLateCommit: on MySQL a record with a lower id may commit
// after one with a higher id. The sequencer chains what it sees, keeps no
// high-water mark, and so chains the late one in its next pass: nothing
// skipped, nothing twice. (SQLite has one writer at a time, so its ids
// commit in order.)
func TestSequenceAuditLateCommit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		if t.Name() == "TestSequenceAuditLateCommit/sqlite" {
			t.Skip("SQLite serialises writers: a lower id cannot commit later")
		}
		ctx := t.Context()
		s := openReplica(t, newURL(t))
		log := modelkeep.NewAuditLog(s, modelkeep.AuditLogOptions{})
		queued, release := make(chan struct{}), make(chan struct{})
		late := make(chan error, 1)
		go func() {
			late <- s.InTx(ctx, func(tx modelkeep.MetaStore) error {
				if err := log.RecordChange(ctx, tx, "test.write", "late", nil); err != nil {
					return err
				}
				// A transaction writes its events just before its commit;
				// write them now, so that "late" takes the lower id and
				// sits uncommitted while "early" commits.
				txs := tx.(*Store)
				if err := txs.txAudit.write(txs.db.WithContext(ctx)); err != nil {
					return err
				}
				close(queued)
				<-release
				return nil
			})
		}()
		<-queued // "late" has the lower id, uncommitted
		if err := queue(ctx, s, log, "early"); err != nil {
			t.Fatal(err)
		}
		if n, err := s.SequenceAudit(ctx, 100); err != nil || n != 1 {
			t.Fatalf("first pass chained %d (%v), want 1", n, err)
		}
		close(release)
		if err := <-late; err != nil {
			t.Fatal(err)
		}
		if n, err := s.SequenceAudit(ctx, 100); err != nil || n != 1 {
			t.Fatalf("second pass chained %d (%v), want the late record", n, err)
		}
		events, err := s.QueryAudit(ctx, modelkeep.AuditQuery{Ascending: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 2 || events[0].Resource != "early" || events[1].Resource != "late" || events[1].PrevHash != events[0].Hash {
			t.Fatalf("chain %+v, want early then late, linked", events)
		}
		if v, err := log.VerifyAudit(ctx, 0); err != nil || !v.OK || v.Events != 2 {
			t.Fatalf("verify %+v, %v", v, err)
		}
	})
}

// TestAuditSequencerWakes: the sequencer's poll is an hour, yet an event a
// change queued through the same store is chained within moments of the
// commit, because the commit wakes it (AuditQueued); nothing is signalled
// before the commit, so an uncommitted record is not looked for too early
// and then left to the poll.
func TestAuditSequencerWakes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		ctx := t.Context()
		s := openReplica(t, newURL(t))
		log := modelkeep.NewAuditLog(s, modelkeep.AuditLogOptions{})
		rctx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() {
			defer close(done)
			auditseq.Run(rctx, s, nil, auditseq.Options{Holder: "solo", Wake: s.AuditQueued(), Interval: time.Hour})
		}()
		t.Cleanup(func() { stop(); <-done })
		chained := func(want int64) bool {
			deadline := time.Now().Add(5 * time.Second)
			for time.Now().Before(deadline) {
				seq, _, err := s.AuditHead(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if seq == want {
					return true
				}
				time.Sleep(5 * time.Millisecond)
			}
			return false
		}
		for i := range 3 {
			held := make(chan struct{})
			release := make(chan struct{})
			errc := make(chan error, 1)
			go func() {
				errc <- s.InTx(ctx, func(tx modelkeep.MetaStore) error {
					if err := log.RecordChange(ctx, tx, "test.write", fmt.Sprint("w/", i), nil); err != nil {
						return err
					}
					close(held)
					<-release
					return nil
				})
			}()
			<-held
			time.Sleep(50 * time.Millisecond) // a signal sent at the insert would be spent by now
			close(release)
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if !chained(int64(i + 1)) {
				t.Fatalf("event %d not chained within 5 s of its commit (poll: an hour)", i+1)
			}
		}
	})
}

// BenchmarkAuditRecordParallel: 32 concurrent changes, each a transaction
// that creates a version of one of 64 models (models=64) or all of the same
// model (models=1) and records its audit event, with
// the event appended to the chain in the transaction (append: the audit_head
// lock is held to the commit) or queued for the sequencer running beside
// (queue). It isolates what issue 18 changes from the HTTP path.
func BenchmarkAuditRecordParallel(b *testing.B) {
	for _, c := range []struct {
		mode   string
		models int
	}{{"append", 64}, {"queue", 64}, {"append", 1}, {"queue", 1}} {
		mode, models := c.mode, c.models
		b.Run(fmt.Sprintf("%s/models=%d", mode, models), func(b *testing.B) {
			testenv.MySQLConfig(b)
			s, err := Open(b.Context(), Options{URL: testenv.MySQLDatabase(b)})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			log := modelkeep.NewAuditLog(s, modelkeep.AuditLogOptions{})
			ctx, stop := context.WithCancel(b.Context())
			done := make(chan struct{})
			go func() {
				defer close(done)
				auditseq.Run(ctx, s, nil, auditseq.Options{Holder: "bench"})
			}()
			defer func() { stop(); <-done }()
			for i := range models {
				if err := s.CreateModel(b.Context(), modelkeep.Model{Name: fmt.Sprint("m", i)}); err != nil {
					b.Fatal(err)
				}
			}
			var next atomic.Int64
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(16) // 32 goroutines on 2 CPUs
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				defer func() { mu.Lock(); lat = append(lat, mine...); mu.Unlock() }()
				for pb.Next() {
					t0 := time.Now()
					i := next.Add(1)
					name := fmt.Sprint("m", i%int64(models))
					err := s.InTx(ctx, func(tx modelkeep.MetaStore) error {
						if _, err := tx.CreateVersion(ctx, modelkeep.Version{Model: name}); err != nil {
							return err
						}
						if mode == "append" {
							_, err := log.Record(ctx, tx, "version.create", name, map[string]any{"i": i})
							return err
						}
						return log.RecordChange(ctx, tx, "version.create", name, map[string]any{"i": i})
					})
					if err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(t0))
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "changes/s")
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
			}
		})
	}
}

// TestEarlyWrittenEventsSignal: a transaction that writes its events
// before inTxStore's own write (creates of versions sharing a transaction,
// store/versions_batch.go) still signals the sequencer at its commit, and
// one that wrote none does not.
func TestEarlyWrittenEventsSignal(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		ctx := t.Context()
		s := openReplica(t, newURL(t))
		log := modelkeep.NewAuditLog(s, modelkeep.AuditLogOptions{})
		signalled := func() bool {
			select {
			case <-s.AuditQueued():
				return true
			default:
				return false
			}
		}
		signalled() // drain
		if err := s.inTxStore(ctx, func(tx *Store) error {
			if err := log.RecordChange(ctx, tx, "test.write", "early", nil); err != nil {
				return err
			}
			return tx.txAudit.write(tx.db.WithContext(ctx))
		}); err != nil {
			t.Fatal(err)
		}
		if !signalled() {
			t.Error("no signal after a commit whose events were written early")
		}
		if err := s.inTxStore(ctx, func(tx *Store) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if signalled() {
			t.Error("a signal after a commit without events")
		}
	})
}
