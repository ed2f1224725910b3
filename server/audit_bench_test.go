package server_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/store"
)

// seedAudit appends n synthetic events to the (fresh) database in bulk.
func seedAudit(tb testing.TB, database string, n int) {
	tb.Helper()
	s, err := store.Open(context.Background(), store.Options{URL: database})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	if err := store.SeedAuditChain(context.Background(), s, n, time.Now().Add(-time.Duration(n)*time.Second)); err != nil {
		tb.Fatal(err)
	}
}

// exportAudit streams GET /api/v1/audit/export into io.Discard and returns
// the bytes received.
func exportAudit(tb testing.TB, base, token, format string) int64 {
	req, _ := http.NewRequest("GET", base+"/api/v1/audit/export?format="+format, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := newBenchClient(token).http.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("export: status %d, %v", resp.StatusCode, err)
	}
	return n
}

// TestAuditExportMemory: an export many times larger than the allowed heap
// growth streams through with the heap nearly flat (the 1,000,000-event
// figure is BenchmarkAuditExport's).
func TestAuditExportMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("exports 80,000 events")
	}
	database := "sqlite:" + t.TempDir() + "/mk.db"
	seedAudit(t, database, 80_000)
	e := startEnv(t, database, "file:"+t.TempDir())
	var size int64
	growth := heapPeak(func() { size = exportAudit(t, e.http.URL, e.token, "jsonl") })
	t.Logf("exported %d MiB; heap grew by %.1f MiB", size>>20, float64(growth)/(1<<20))
	if size < 32<<20 {
		t.Fatalf("the export is only %d bytes: too small to show streaming", size)
	}
	if growth > 16<<20 {
		t.Errorf("heap grew by %d MiB exporting %d MiB", growth>>20, size>>20)
	}
}

// BenchmarkAuditExport exports a chain of MODELKEEP_BENCH_AUDIT_EVENTS events
// through the HTTP API, in both formats, and reports the server's heap
// growth (the process holds client and server; the client discards what it
// reads) and the throughput. Seeding a million events takes a minute or
// more per backend, so it runs only when the variable is set:
//
//	MODELKEEP_BENCH_AUDIT_EVENTS=1000000 go test ./server/ -run '^$' -bench AuditExport -benchtime 1x -timeout 30m
func BenchmarkAuditExport(b *testing.B) {
	n, err := strconv.Atoi(os.Getenv("MODELKEEP_BENCH_AUDIT_EVENTS"))
	if err != nil || n <= 0 {
		b.Skip("set MODELKEEP_BENCH_AUDIT_EVENTS (e.g. 1000000) to export a chain of that many events")
	}
	for _, backend := range testenv.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			database, blobs := backend.New(b)
			start := time.Now()
			seedAudit(b, database, n)
			b.Logf("seeded %d events in %s", n, time.Since(start).Round(time.Second))
			base, token := benchServer(b, database, blobs)
			for _, format := range []string{"jsonl", "csv"} {
				b.Run(format, func(b *testing.B) {
					var (
						size   int64
						growth uint64
					)
					rss := rssPeak(func() {
						growth = heapPeak(func() {
							for b.Loop() {
								size = exportAudit(b, base, token, format)
							}
						})
					})
					secs := b.Elapsed().Seconds() / float64(b.N)
					b.ReportMetric(float64(growth)/(1<<20), "heap-growth-MiB")
					if rss >= 0 {
						b.ReportMetric(float64(rss)/(1<<20), "rss-growth-MiB")
					}
					b.ReportMetric(float64(n)/secs, "events/s")
					b.ReportMetric(float64(size)/(1<<20)/secs, "MiB/s")
					b.ReportMetric(float64(size)/(1<<20), "export-MiB")
				})
			}
		})
	}
}

// rssPeak runs f and returns how far the process's resident set grew above
// where it was before (Linux; -1 elsewhere).
func rssPeak(f func()) int64 {
	read := func() int64 {
		b, err := os.ReadFile("/proc/self/status")
		if err != nil {
			return -1
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				return kb << 10
			}
		}
		return -1
	}
	base := read()
	if base < 0 {
		f()
		return -1
	}
	peak := base
	stop, done := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			peak = max(peak, read())
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	f()
	close(stop)
	<-done
	return peak - base
}
