package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// metricValue is the value of an unlabelled metric in a /metrics scrape.
func metricValue(t *testing.T, scrape, name string) float64 {
	t.Helper()
	for _, l := range strings.Split(scrape, "\n") {
		if v, ok := strings.CutPrefix(l, name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", name, err)
			}
			return f
		}
	}
	t.Fatalf("metric %s not in /metrics", name)
	return 0
}

func (e *env) versionAliases(model string, number int) []string {
	e.t.Helper()
	var v struct{ Aliases []string }
	e.expect(e.do("GET", fmt.Sprintf("/api/v1/models/%s/versions/%d", model, number), nil), http.StatusOK, &v)
	return v.Aliases
}

// TestReadyVersionCache: GETs of a ready version come from the cache
// (counted in /metrics); a change through the same server is read back at
// once, one through another server on the same database within the
// cache's bound (store/readycache.go: 1.7 s).
func TestReadyVersionCache(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.expect(e.do("POST", "/api/v1/models", map[string]any{"name": "m"}), http.StatusCreated, nil)
		n := e.readyVersion("m", map[string]any{})
		for deadline := time.Now().Add(5 * time.Second); metricValue(t, e.metrics(), "modelkeep_ready_cache_serving") != 1; {
			if time.Now().After(deadline) {
				t.Fatal("the ready-version cache does not serve after 5 s")
			}
			time.Sleep(20 * time.Millisecond)
		}
		// Reads come from the cache while it trusts what it holds: on a
		// host so loaded that a query takes half a second, that trust may
		// lapse between two reads, so they are repeated for a while.
		before := metricValue(t, e.metrics(), "modelkeep_ready_cache_hits_total")
		reads := 0
		for deadline := time.Now().Add(5 * time.Second); ; {
			e.versionAliases("m", n)
			reads++
			hits := metricValue(t, e.metrics(), "modelkeep_ready_cache_hits_total") - before
			if hits >= 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%v cache hits for %d reads of a ready version in 5 s, want at least 2", hits, reads)
			}
		}

		e.expect(e.do("PUT", "/api/v1/models/m/aliases/champion", map[string]any{"version": n}), http.StatusOK, nil)
		if got := e.versionAliases("m", n); !slices.Equal(got, []string{"champion"}) {
			t.Fatalf("aliases read back from the same server: %v", got)
		}

		other := startEnv(t, e.database, e.blobs)
		other.expect(other.do("PUT", "/api/v1/models/m/aliases/challenger", map[string]any{"version": n}), http.StatusOK, nil)
		changed := time.Now()
		for !slices.Equal(e.versionAliases("m", n), []string{"challenger", "champion"}) {
			if time.Since(changed) > 3*time.Second {
				t.Fatalf("another server's alias not seen after 3 s: %v", e.versionAliases("m", n))
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Logf("another server's change seen after %v", time.Since(changed).Round(time.Millisecond))
	})
}
