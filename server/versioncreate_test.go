package server_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"
)

// TestConcurrentVersionCreates: versions created at once over HTTP, which
// may share transactions (group commit), each get their own number,
// gapless, and their own content, with one version.create event each, and
// /metrics counts them. Whether and how they share depends on timing here;
// store.TestCreateVersionThenShared makes them share.
func TestConcurrentVersionCreates(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.mustCreateModel("m")
		metric := func(name string) float64 { return metricValue(t, e.metrics(), name) }
		batchesBefore, createsBefore := metric("modelkeep_version_create_batches_total"), metric("modelkeep_version_create_batched_total")
		const n = 24
		numbers := make([]int, n)
		codes := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				resp := e.do("POST", "/api/v1/models/m/versions", map[string]any{"description": fmt.Sprint("client ", i)})
				defer resp.Body.Close()
				codes[i] = resp.StatusCode
				var v struct{ Version int }
				_ = json.NewDecoder(resp.Body).Decode(&v)
				numbers[i] = v.Version
			})
		}
		wg.Wait()
		for i, code := range codes {
			if code != http.StatusCreated {
				t.Fatalf("client %d: %d", i, code)
			}
		}
		// Each client got the version it created: the one holding its
		// description (a batch that mixed up its callers' numbers fails).
		for i, number := range numbers {
			var v struct{ Description string }
			e.expect(e.do("GET", fmt.Sprintf("/api/v1/models/m/versions/%d", number), nil), http.StatusOK, &v)
			if want := fmt.Sprint("client ", i); v.Description != want {
				t.Errorf("client %d got version %d, which holds %q", i, number, v.Description)
			}
		}
		slices.Sort(numbers)
		for i, got := range numbers {
			if got != i+1 {
				t.Fatalf("numbers %v, want 1..%d", numbers, n)
			}
		}
		// The events are listed once chained, within moments of the commit.
		var page struct{ Events []struct{ Resource string } }
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			e.expect(e.do("GET", "/api/v1/audit?action=version.create&page_size=100", nil), http.StatusOK, &page)
			if len(page.Events) >= n || time.Now().After(deadline) {
				break
			}
		}
		resources := map[string]bool{}
		for _, ev := range page.Events {
			resources[ev.Resource] = true
		}
		if len(page.Events) != n || len(resources) != n {
			t.Errorf("%d version.create events on %d versions, want one on each of %d", len(page.Events), len(resources), n)
		}
		batches, creates := metric("modelkeep_version_create_batches_total")-batchesBefore, metric("modelkeep_version_create_batched_total")-createsBefore
		if creates != n || batches < 1 || batches > n {
			t.Errorf("metrics: %v creates in %v batches, want %d in 1 to %d", creates, batches, n, n)
		}
		if reruns := metric("modelkeep_version_create_reruns_total"); reruns != 0 {
			t.Errorf("%v creates ran again alone, want none", reruns)
		}
		t.Logf("%d creates in %v transactions", n, batches)
	})
}
