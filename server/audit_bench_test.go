package server_test

import (
	"context"
	"encoding/json"
	"io"
	"maps"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
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
		t.Skip("exports 40,000 events")
	}
	// 40,000 events make about 20 MiB of JSON Lines; a server holding the
	// export would grow by more than that, a streaming one grew by 3.4 MiB
	// exporting twice as many. (Seeding took 13 CPU seconds at 80,000.)
	database := "sqlite:" + t.TempDir() + "/mk.db"
	seedAudit(t, database, 40_000)
	e := startEnv(t, database, "file:"+t.TempDir())
	var size int64
	growth := heapPeak(func() { size = exportAudit(t, e.http.URL, e.token, "jsonl") })
	t.Logf("exported %d MiB; heap grew by %.1f MiB", size>>20, float64(growth)/(1<<20))
	if size < 16<<20 {
		t.Fatalf("the export is only %d bytes: too small to show streaming", size)
	}
	if growth > 8<<20 {
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

// auditPagesWalk is one query of the audit page and how many pages of it
// to read: the first page, then the next ones by next_page_token, until
// pages or the last page.
type auditPagesWalk struct {
	query url.Values
	pages int
}

// auditPagesKind is a kind of query the audit page makes, as several walks.
type auditPagesKind struct {
	name  string
	walks []auditPagesWalk
}

// auditPagesKinds are the queries of BenchmarkAuditPages, over a chain
// seeded by store.SeedAuditChain (its doc gives the vocabulary and the
// counts quoted here for 1,000,000 events) whose events run from oldest to
// newest.
func auditPagesKinds(oldest, newest time.Time) []auditPagesKind {
	at := func(f float64) string {
		return oldest.Add(time.Duration(f * float64(newest.Sub(oldest)))).UTC().Format(time.RFC3339)
	}
	q := func(kv ...string) url.Values {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	day := func(f float64) []string {
		from := oldest.Add(time.Duration(f * float64(newest.Sub(oldest)))).UTC()
		return []string{"since", from.Format(time.RFC3339), "until", from.Add(24 * time.Hour).Format(time.RFC3339)}
	}
	hour := func(f float64) []string {
		from := oldest.Add(time.Duration(f * float64(newest.Sub(oldest)))).UTC()
		return []string{"since", from.Format(time.RFC3339), "until", from.Add(time.Hour).Format(time.RFC3339)}
	}
	with := func(a []string, b ...string) []string { return append(append([]string{}, a...), b...) }
	var deep []auditPagesWalk
	for _, f := range []float64{0.05, 0.15, 0.25, 0.35, 0.5, 0.65, 0.75, 0.85, 0.95, 0.999} {
		deep = append(deep, auditPagesWalk{q("until", at(1-f)), 20})
	}
	// The same in the middle of the log for the commonest actor, action,
	// pair and model, whose events before it are many.
	for _, kv := range [][]string{{"actor", "svc-deploy"}, {"action", "file.download"},
		{"actor", "svc-deploy", "action", "file.download"}, {"resource", "models/fraud-detector/*"}} {
		deep = append(deep, auditPagesWalk{q(append(kv, "until", at(0.5))...), 20})
	}
	first := make([]auditPagesWalk, 100)
	for i := range first {
		first[i] = auditPagesWalk{q(), 1}
	}
	return []auditPagesKind{
		// (a) no filter: the page as it opens, paging on from the newest
		// event, and pages deep in the log, reached by until.
		{"first-page", first},
		{"walk-200", []auditPagesWalk{{q(), 200}}},
		{"deep", deep},
		// (b) actor: 39 % of the log, 1.2 %, 0.23 %, 0.04 %, 78 events, 5.
		{"actor", []auditPagesWalk{
			{q("actor", "svc-deploy"), 20}, {q("actor", "svc-deploy-us"), 20}, {q("actor", "u0031@example.com"), 20},
			{q("actor", "u0103@example.com"), 20}, {q("actor", "u0291@example.com"), 20}, {q("actor", "u0944@example.com"), 20},
			{q("actor", "nobody@example.com"), 1},
		}},
		// (c) action: 41 %, 1.2 %, 0.08 % (audit.export), 384 and 277
		// events (model.delete, audit.checkpoint).
		{"action", []auditPagesWalk{
			{q("action", "file.download"), 20}, {q("action", "transition.approve"), 20}, {q("action", "audit.export"), 20},
			{q("action", "model.delete"), 20}, {q("action", "audit.checkpoint"), 20},
		}},
		// (d) resource: a model's prefix (20 % of the log, 0.3 %, 0.08 %,
		// 216, 51 and 10 events spread over it), the busiest model itself
		// and one of its versions exactly, and the version by prefix.
		{"resource", []auditPagesWalk{
			{q("resource", "models/fraud-detector"), 20},
			{q("resource", "models/fraud-detector/*"), 20}, {q("resource", "models/ranker-31/*"), 20},
			{q("resource", "models/lead-scoring-100/*"), 20}, {q("resource", "models/kyc-matcher-299/*"), 20},
			{q("resource", "models/claims-triage-906/*"), 20}, {q("resource", "models/credit-scoring-1783/*"), 20},
			{q("resource", "models/fraud-detector/versions/150"), 20}, {q("resource", "models/fraud-detector/versions/150/*"), 20},
		}},
		// (e) time: a day (86,400 events) and an hour in the middle, a day
		// near the oldest event.
		{"time", []auditPagesWalk{
			{q(day(0.5)...), 20}, {q(hour(0.5)...), 20}, {q(day(0.02)...), 20}, {q(hour(0.9)...), 20},
		}},
		// (f) combinations, from common to never matching: what the busiest
		// deployment account downloaded on a day; its refusals; a person's
		// approvals on a day and ever; the model deletions of a person; the
		// versions made of a model on a day; actor/action pairs that never
		// occur (a CI account approving, the deployer deleting), on a day
		// and over the whole log; a person's updates of a model in an hour.
		{"combined", []auditPagesWalk{
			{q(with(day(0.5), "actor", "svc-deploy", "action", "file.download")...), 20},
			{q("actor", "svc-deploy", "action", "access.denied"), 20},
			{q(with(day(0.5), "actor", "u0013@example.com", "action", "transition.approve")...), 20},
			{q("actor", "u0013@example.com", "action", "transition.approve"), 20},
			{q("actor", "u0013@example.com", "action", "model.delete"), 20},
			{q(with(day(0.5), "action", "version.create", "resource", "models/fraud-detector/*")...), 20},
			{q(with(day(0.5), "actor", "svc-ci", "action", "transition.approve")...), 1},
			{q("actor", "svc-ci", "action", "transition.approve"), 1},
			{q("actor", "svc-deploy", "action", "model.delete"), 1},
			{q(with(hour(0.5), "actor", "u0291@example.com", "action", "model.update", "resource", "models/fraud-detector/*")...), 1},
		}},
		// The page's side panel: the latest checkpoint.
		{"latest-checkpoint", []auditPagesWalk{{q("page_size", "1"), 1}}},
	}
}

// BenchmarkAuditPages measures the audit page of the web UI: the latency of
// each GET /api/v1/audit page through the whole HTTP stack (one request at
// a time, 50 events a page as the page asks) over a chain of
// MODELKEEP_BENCH_AUDIT_EVENTS events seeded by store.SeedAuditChain, for
// each kind of query the page makes (auditPagesKinds), on SQLite and, when
// MODELKEEP_TEST_MYSQL_DSN is set, MySQL. Each kind is a sub-benchmark
// whose op is one pass over its walks; it reports the p50, p99 and max of
// its page latencies over all passes, and pages/op. GET /healthz, measured
// the same way, is the baseline. Seeding a million events takes minutes,
// so it runs only when the variable is set:
//
//	MODELKEEP_BENCH_AUDIT_EVENTS=1000000 go test ./server/ -run '^$' -bench AuditPages -benchtime 5x -timeout 60m
//
// With MODELKEEP_BENCH_AUDIT_DATABASE (a sqlite: or mysql:// URL) it
// measures that database instead, kept afterwards, seeding it only when its
// chain is empty: to compare code or indexes on the same data without
// seeding again. The server migrates it first.
func BenchmarkAuditPages(b *testing.B) {
	n, err := strconv.Atoi(os.Getenv("MODELKEEP_BENCH_AUDIT_EVENTS"))
	if err != nil || n <= 0 {
		b.Skip("set MODELKEEP_BENCH_AUDIT_EVENTS (e.g. 1000000) to page through a chain of that many events")
	}
	existing := os.Getenv("MODELKEEP_BENCH_AUDIT_DATABASE")
	type backend struct {
		name string
		new  func(b *testing.B) string
	}
	backends := []backend{
		{"sqlite", func(b *testing.B) string { return "sqlite:" + b.TempDir() + "/modelkeep.db" }},
		{"mysql", func(b *testing.B) string { return testenv.MySQLDatabase(b) }},
	}
	if existing != "" {
		name := "sqlite"
		if strings.HasPrefix(existing, "mysql:") {
			name = "mysql"
		}
		backends = []backend{{name, func(*testing.B) string { return existing }}}
	}
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			database := be.new(b)
			if existing == "" || auditHeadSeq(b, database) == 0 {
				start := time.Now()
				seedAudit(b, database, n)
				b.Logf("seeded %d events in %s", n, time.Since(start).Round(time.Second))
			}
			start := time.Now()
			base, token := benchServer(b, database, "file:"+b.TempDir())
			b.Logf("server started (migrated) in %s", time.Since(start).Round(time.Millisecond))
			c := newBenchClient(token)
			// The page's side panel shows the latest checkpoint: sign one.
			c.do(b, http.MethodPost, base+"/api/v1/audit/checkpoints", nil, http.StatusCreated)
			newest := auditPage(b, c, base+"/api/v1/audit?page_size=1")
			oldest := auditPage(b, c, base+"/api/v1/audit?page_size=1&order=asc")
			if len(newest.Events) == 0 {
				b.Fatal("the audit log is empty")
			}
			tNewest, _ := time.Parse(time.RFC3339Nano, newest.Events[0].Time)
			tOldest, _ := time.Parse(time.RFC3339Nano, oldest.Events[0].Time)
			b.Logf("%d events from %s to %s", newest.Events[0].Seq, tOldest.Format(time.RFC3339), tNewest.Format(time.RFC3339))

			for range 20 { // warm up: connection, caches, the validator's first run
				c.do(b, http.MethodGet, base+"/healthz", nil, http.StatusOK)
				c.do(b, http.MethodGet, base+"/api/v1/audit", nil, http.StatusOK)
			}
			b.Run("healthz", func(b *testing.B) {
				var lat []time.Duration
				for b.Loop() {
					for range 100 {
						start := time.Now()
						c.do(b, http.MethodGet, base+"/healthz", nil, http.StatusOK)
						lat = append(lat, time.Since(start))
					}
				}
				reportLatencies(b, lat, "µs")
			})
			for _, kind := range auditPagesKinds(tOldest, tNewest) {
				b.Run(kind.name, func(b *testing.B) {
					path := "/api/v1/audit"
					if kind.name == "latest-checkpoint" {
						path = "/api/v1/audit/checkpoints"
					}
					var lat []time.Duration
					perWalk := make([][]time.Duration, len(kind.walks))
					events := make([]int, len(kind.walks))
					for b.Loop() {
						for w, walk := range kind.walks {
							query := walk.query
							events[w] = 0
							for range walk.pages {
								start := time.Now()
								page := auditPage(b, c, base+path+"?"+query.Encode())
								d := time.Since(start)
								lat = append(lat, d)
								perWalk[w] = append(perWalk[w], d)
								events[w] += len(page.Events) + len(page.Checkpoints)
								if page.NextPageToken == "" {
									break
								}
								query = maps.Clone(query)
								query.Set("page_token", page.NextPageToken)
							}
						}
					}
					reportLatencies(b, lat, "ms")
					for w, walk := range kind.walks {
						d := perWalk[w]
						slices.Sort(d)
						b.Logf("%-70s %3d pages, %5d events: p50 %6.2f ms, max %7.2f ms", walk.query.Encode(),
							len(d)/b.N, events[w], ms(d[len(d)/2]), ms(d[len(d)-1]))
					}
				})
			}
		})
	}
}

// auditHeadSeq returns the seq of the last event of the chain in database.
func auditHeadSeq(tb testing.TB, database string) int64 {
	s, err := store.Open(context.Background(), store.Options{URL: database})
	if err != nil {
		tb.Fatal(err)
	}
	defer s.Close()
	seq, _, err := s.AuditHead(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return seq
}

// auditPageBody is what BenchmarkAuditPages reads of a page.
type auditPageBody struct {
	Events []struct {
		Seq  int64  `json:"seq"`
		Time string `json:"time"`
	} `json:"events"`
	Checkpoints   []json.RawMessage `json:"checkpoints"`
	NextPageToken string            `json:"next_page_token"`
}

// auditPage GETs one page and decodes it (after reading it whole, which is
// what the caller times).
func auditPage(tb testing.TB, c *benchClient, u string) auditPageBody {
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		tb.Fatalf("GET %s: status %d, %v: %s", u, resp.StatusCode, err, body)
	}
	var page auditPageBody
	if err := json.Unmarshal(body, &page); err != nil {
		tb.Fatalf("GET %s: %v", u, err)
	}
	return page
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// reportLatencies reports the p50, p99 and max of lat, in unit (ms or µs),
// and the requests per op.
func reportLatencies(b *testing.B, lat []time.Duration, unit string) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	scale := float64(time.Millisecond)
	if unit == "µs" {
		scale = float64(time.Microsecond)
	}
	at := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(math.Ceil(p*float64(len(lat))))-1)]) / scale
	}
	b.ReportMetric(at(0.5), "p50-"+unit)
	b.ReportMetric(at(0.99), "p99-"+unit)
	b.ReportMetric(float64(lat[len(lat)-1])/scale, "max-"+unit)
	b.ReportMetric(float64(len(lat))/float64(b.N), "pages/op")
}
