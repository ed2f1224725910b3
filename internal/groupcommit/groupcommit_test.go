package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/internal/turn"
)

// doConcurrently queues items 0..n-1 at once and returns each caller's
// result and error, by item.
func doConcurrently(b *Batcher[int, string], n int, run func(context.Context, []Item[int]) []Result[string]) ([]string, []error) {
	values, errs := make([]string, n), make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { values[i], errs[i] = b.Do(context.Background(), i, run) })
	}
	wg.Wait()
	return values, errs
}

// waitPending waits until n items are pending in b.
func waitPending(t *testing.T, b *Batcher[int, string], n int) {
	t.Helper()
	eventually(t, fmt.Sprintf("%d items pending", n), func() bool { return b.Pending() == n })
}

// eventually polls cond for up to 10 s and reports whether it held; it
// fails t with Errorf, so that a batch's run may call it.
func eventually(t *testing.T, what string, cond func() bool) bool {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(50 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Errorf("timed out waiting for %s", what)
			return false
		}
	}
	return true
}

// TestBatcher: the first batch is held until every other caller is
// waiting, so the batches are known: the first caller's own (with whoever
// queued before it took the batch), then the rest in batches of at most
// Max. Every caller gets its own item's result, or its batch's failure.
func TestBatcher(t *testing.T) {
	const max = 64
	for _, tc := range []struct {
		name     string
		callers  int
		failFrom int // the batches from this one on fail (0: none)
	}{
		{name: "one caller", callers: 1},
		{name: "a burst", callers: 50},
		{name: "more than one batch holds", callers: 3 * max},
		{name: "a failing batch", callers: 100, failFrom: 2}, // the first succeeds, the rest fail
	} {
		t.Run(tc.name, func(t *testing.T) {
			var (
				b       = Batcher[int, string]{Max: max}
				mu      sync.Mutex
				batches [][]int
				failed  = map[int]bool{}
			)
			run := func(ctx context.Context, items []Item[int]) []Result[string] {
				mu.Lock()
				first := len(batches) == 0
				mu.Unlock()
				if first {
					waitPending(t, &b, tc.callers-len(items))
				}
				mu.Lock()
				defer mu.Unlock()
				var values []int
				for _, it := range items {
					values = append(values, it.Value)
				}
				batches = append(batches, values)
				if tc.failFrom > 0 && len(batches) >= tc.failFrom {
					for _, v := range values {
						failed[v] = true
					}
					return Same[string](len(items), errors.New("disk full"))
				}
				out := make([]Result[string], len(items))
				for i, v := range values {
					out[i].Value = fmt.Sprint("done ", v)
				}
				return out
			}
			values, errs := doConcurrently(&b, tc.callers, run)

			var ran []int
			for _, batch := range batches {
				if len(batch) > max {
					t.Errorf("a batch of %d items, want at most %d", len(batch), max)
				}
				ran = append(ran, batch...)
			}
			slices.Sort(ran)
			if distinct := len(slices.Compact(slices.Clone(ran))); distinct != tc.callers || len(ran) != tc.callers {
				t.Fatalf("%d items run (%d distinct), want each of %d once", len(ran), distinct, tc.callers)
			}
			rest := tc.callers - len(batches[0])
			if want := 1 + (rest+max-1)/max; len(batches) != want {
				t.Errorf("%d batches for %d callers (%d in the first), want %d", len(batches), tc.callers, len(batches[0]), want)
			}
			for i, err := range errs {
				if want := failed[i]; (err != nil) != want {
					t.Errorf("caller %d: %v, want failed %v", i, err, want)
				}
				if err == nil && values[i] != fmt.Sprint("done ", i) {
					t.Errorf("caller %d got %q, another item's result", i, values[i])
				}
			}
			if tc.failFrom > 0 && (len(failed) == 0 || len(failed) == tc.callers) {
				t.Errorf("%d of %d callers failed: want the first batch to succeed and the rest to fail", len(failed), tc.callers)
			}
			if batchesRun, itemsRun := b.Stats(); batchesRun != uint64(len(batches)) || itemsRun != uint64(tc.callers) {
				t.Errorf("Stats: %d batches of %d items, want %d of %d", batchesRun, itemsRun, len(batches), tc.callers)
			}
			if b.running || len(b.pending) != 0 {
				t.Errorf("after the burst: running %v, %d pending", b.running, len(b.pending))
			}
			t.Logf("%d callers, %d batches", tc.callers, len(batches))
		})
	}
}

// A panicking run fails its own batch only: its callers get an error,
// and the batcher runs the next batch as before.
func TestBatcherRunPanics(t *testing.T) {
	var b Batcher[int, string]
	var calls int
	run := func(_ context.Context, items []Item[int]) []Result[string] {
		calls++
		if calls == 1 {
			panic("driver bug")
		}
		return make([]Result[string], len(items))
	}
	func() {
		defer func() {
			if r := recover(); r != "driver bug" {
				t.Fatalf("recovered %v, want the run's panic", r)
			}
		}()
		_, _ = b.Do(context.Background(), 1, run)
	}()
	if b.running {
		t.Fatal("still running after the panic: every later caller would wait for good")
	}
	if _, err := b.Do(context.Background(), 2, run); err != nil || calls != 2 {
		t.Fatalf("the next call: %v after %d runs", err, calls)
	}
}

// The batch's context keeps the leader's values but not its cancellation,
// and each item carries its own caller's context.
func TestBatcherContexts(t *testing.T) {
	type key struct{}
	var b Batcher[int, string]
	ctx, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "leader"))
	cancel()
	_, err := b.Do(ctx, 1, func(ctx context.Context, items []Item[int]) []Result[string] {
		if ctx.Err() != nil || ctx.Value(key{}) != "leader" {
			return Same[string](len(items), fmt.Errorf("batch context: err %v, value %v", ctx.Err(), ctx.Value(key{})))
		}
		if items[0].Ctx.Err() == nil {
			return Same[string](len(items), errors.New("the item's context lost its cancellation"))
		}
		return make([]Result[string], len(items))
	})
	if err != nil {
		t.Fatal(err)
	}
}

type turnRecorder struct {
	mu    sync.Mutex
	calls []string
}

func (r *turnRecorder) Release() { r.mu.Lock(); r.calls = append(r.calls, "release"); r.mu.Unlock() }
func (r *turnRecorder) Reclaim() { r.mu.Lock(); r.calls = append(r.calls, "reclaim"); r.mu.Unlock() }

// A caller waiting for another's batch gives back its request's turn to
// run meanwhile (internal/turn) and takes it back before it returns; the
// caller running the batch keeps its own.
func TestBatcherWaitsAwayFromTurn(t *testing.T) {
	var b Batcher[int, string]
	leaderIn, release := make(chan struct{}), make(chan struct{})
	run := func(_ context.Context, items []Item[int]) []Result[string] {
		if items[0].Value == 1 {
			close(leaderIn)
			<-release
		}
		return make([]Result[string], len(items))
	}
	var leader, waiter turnRecorder
	var wg sync.WaitGroup
	wg.Go(func() { _, _ = b.Do(turn.With(context.Background(), &leader), 1, run) })
	<-leaderIn
	wg.Go(func() { _, _ = b.Do(turn.With(context.Background(), &waiter), 2, run) })
	released := eventually(t, "the waiting caller to give back its turn", func() bool {
		waiter.mu.Lock()
		defer waiter.mu.Unlock()
		return slices.Equal(waiter.calls, []string{"release"})
	})
	close(release)
	wg.Wait()
	if !released {
		return
	}
	if len(leader.calls) != 0 {
		t.Errorf("the leader's turn: %v, want kept", leader.calls)
	}
	if !slices.Equal(waiter.calls, []string{"release", "reclaim"}) {
		t.Errorf("the waiter's turn: %v, want released, then reclaimed", waiter.calls)
	}
}

// When a batch's run panics, the callers waiting in it get ErrPanicked
// (the panic itself goes up in the caller that ran it), and a caller that
// arrived meanwhile leads the next batch.
func TestBatcherPanicFailsItsBatchOnly(t *testing.T) {
	b := Batcher[int, string]{Max: 2}
	leaderIn, release := make(chan struct{}), make(chan struct{})
	run := func(_ context.Context, items []Item[int]) []Result[string] {
		if items[0].Value == 0 {
			close(leaderIn)
			<-release
			return make([]Result[string], len(items))
		}
		if items[0].Value == 1 {
			panic("bug")
		}
		out := make([]Result[string], len(items))
		for i, it := range items {
			out[i].Value = fmt.Sprint("done ", it.Value)
		}
		return out
	}
	errs := make([]error, 4)
	values := make([]string, 4)
	var wg sync.WaitGroup
	wg.Go(func() { _, errs[0] = b.Do(context.Background(), 0, run) })
	<-leaderIn
	// 1 and 2 make the next batch (Max 2), whose run panics in 1's
	// goroutine; 3 waits for the one after.
	for i := 1; i <= 3; i++ {
		wg.Go(func() {
			defer func() {
				if r := recover(); r != nil {
					errs[i] = fmt.Errorf("panicked: %v", r)
				}
			}()
			values[i], errs[i] = b.Do(context.Background(), i, run)
		})
		waitPending(t, &b, i)
	}
	close(release)
	wg.Wait()
	if errs[0] != nil {
		t.Errorf("the first batch: %v", errs[0])
	}
	if errs[1] == nil || errs[1].Error() != "panicked: bug" {
		t.Errorf("the caller whose batch panicked in its goroutine: %v", errs[1])
	}
	if !errors.Is(errs[2], ErrPanicked) {
		t.Errorf("the other caller of the panicking batch: %v, want ErrPanicked", errs[2])
	}
	if errs[3] != nil || values[3] != "done 3" {
		t.Errorf("the caller after it: %q, %v, want its own result", values[3], errs[3])
	}
}
