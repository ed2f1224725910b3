// Command meta is the metadata benchmark of issue 18: it runs the registry's
// hot metadata workloads against two or more Modelkeep binaries (the first is
// the baseline, typically the code before a change, built from a `git
// worktree` of it), each started as its own process on a fresh MariaDB
// database with its log going to a file, alternating the binaries' order
// from round to round, and prints each workload's rate and latencies and
// their ratio to the baseline's in the same round.
//
// Workloads (each for -duration with -connections keep-alive clients on
// -threads OS threads, as `wrk -t2 -c32 -d20s` would):
//
//	get        GET one version (of a model with 100 ready versions)
//	list       GET a page of 100 versions
//	create1    POST a version, all on one model
//	create100  POST a version, round-robin over 100 models
//	download   GET a 4 KiB file of a ready version (each writes file.download)
//
// Usage:
//
//	go build -o /tmp/meta ./bench/meta
//	/tmp/meta -dsn mysql://user:pass@127.0.0.1:3306/ -bin base=/tmp/mk-base -bin new=/tmp/mk-new
//
// -dsn names a MariaDB/MySQL user that may create databases (scripts/test.sh
// and bench/run.sh --meta make one); each server gets a database
// mk_bench_meta_<random>, dropped at the end.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/go-sql-driver/mysql"
)

type binFlag []string

func (b *binFlag) String() string     { return strings.Join(*b, ",") }
func (b *binFlag) Set(v string) error { *b = append(*b, v); return nil }

type workload struct {
	name string
	// request builds the i-th request of one client.
	request func(base string, client, i int) (*http.Request, error)
	want    int // expected status
}

type result struct {
	n         int
	errs      int
	elapsed   time.Duration
	latencies []time.Duration
}

func (r result) rps() float64 { return float64(r.n) / r.elapsed.Seconds() }
func (r result) pct(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[min(len(r.latencies)-1, int(p*float64(len(r.latencies))))]
}

func main() {
	var bins binFlag
	dsn := flag.String("dsn", os.Getenv("MODELKEEP_TEST_MYSQL_DSN"), "mysql://user:pass@host:port/ of a user that may create databases")
	flag.Var(&bins, "bin", "name=path of a modelkeep binary; the first is the baseline (repeat)")
	rounds := flag.Int("rounds", 2, "rounds; each starts every binary once, the order alternating")
	duration := flag.Duration("duration", 20*time.Second, "duration of each workload")
	conns := flag.Int("connections", 32, "concurrent keep-alive clients")
	threads := flag.Int("threads", 2, "OS threads of this load generator (GOMAXPROCS), as wrk -t")
	only := flag.String("only", "", "comma-separated workloads to run (default all)")
	logDir := flag.String("logs", os.TempDir(), "directory for the servers' log files")
	flag.Parse()
	runtime.GOMAXPROCS(*threads)
	if len(bins) < 2 || *dsn == "" {
		fmt.Fprintln(os.Stderr, "need -dsn and at least two -bin name=path")
		os.Exit(2)
	}
	if err := run(*dsn, bins, *rounds, *duration, *conns, *only, *logDir); err != nil {
		fmt.Fprintln(os.Stderr, "meta:", err)
		os.Exit(1)
	}
}

func run(dsn string, bins []string, rounds int, duration time.Duration, conns int, only, logDir string) error {
	u, err := url.Parse(dsn)
	if err != nil {
		return err
	}
	pass, _ := u.User.Password()
	admin, err := sql.Open("mysql", fmt.Sprintf("%s:%s@tcp(%s)/", u.User.Username(), pass, u.Host))
	if err != nil {
		return err
	}
	defer admin.Close()
	names := []string{"get", "list", "create1", "create100", "download"}
	if only != "" {
		names = strings.Split(only, ",")
	}
	type key struct{ bin, wl string }
	results := map[key][]result{}
	for r := range rounds {
		order := slices.Clone(bins)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		for _, b := range order {
			name, path, _ := strings.Cut(b, "=")
			res, err := runServer(admin, u, pass, name, path, r, names, duration, conns, logDir)
			if err != nil {
				return fmt.Errorf("%s round %d: %w", name, r+1, err)
			}
			for _, wl := range names {
				x := res[wl]
				results[key{name, wl}] = append(results[key{name, wl}], x)
				fmt.Printf("round %d %-6s %-10s %9.0f req/s  p50 %6.2f ms  p99 %6.2f ms  errors %d\n", r+1, name, wl, x.rps(),
					ms(x.pct(0.50)), ms(x.pct(0.99)), x.errs)
			}
		}
	}
	baseName, _, _ := strings.Cut(bins[0], "=")
	fmt.Println("\nper round, ratio to", baseName, "(rate; p99 in ms)")
	for _, wl := range names {
		for _, b := range bins[1:] {
			name, _, _ := strings.Cut(b, "=")
			var parts []string
			for r := range rounds {
				base, cur := results[key{baseName, wl}][r], results[key{name, wl}][r]
				parts = append(parts, fmt.Sprintf("%.2f× (%.0f vs %.0f req/s; p99 %.2f vs %.2f)", cur.rps()/base.rps(), cur.rps(), base.rps(),
					ms(cur.pct(0.99)), ms(base.pct(0.99))))
			}
			fmt.Printf("%-10s %s: %s\n", wl, name, strings.Join(parts, "; "))
		}
	}
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// runServer starts one binary on a fresh database, seeds it and runs the
// workloads, then stops it and drops the database.
func runServer(admin *sql.DB, u *url.URL, pass, name, path string, round int, names []string, duration time.Duration, conns int, logDir string) (map[string]result, error) {
	ctx := context.Background()
	db := "mk_bench_meta_" + randHex(5)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE `"+db+"`"); err != nil {
		return nil, err
	}
	defer admin.ExecContext(ctx, "DROP DATABASE `"+db+"`")
	dataDir, err := os.MkdirTemp("", "mk-bench-meta-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dataDir)
	dbURL := fmt.Sprintf("mysql://%s:%s@%s/%s", u.User.Username(), pass, u.Host, db)
	common := []string{"--database", dbURL, "--data-dir", dataDir}
	// Migrate and issue the token first (the token command opens the store).
	out, err := exec.Command(path, append([]string{"token", "create", "--subject", "bench", "--role", "admin"}, common...)...).Output()
	if err != nil {
		return nil, fmt.Errorf("token create: %w", err)
	}
	lines := strings.Fields(strings.TrimSpace(string(out)))
	token := lines[len(lines)-1]
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	logFile, err := os.Create(filepath.Join(logDir, fmt.Sprintf("mk-bench-meta-%s-round%d.log", name, round+1)))
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	cmd := exec.Command(path, append([]string{"serve", "--listen", fmt.Sprintf("127.0.0.1:%d", port)}, common...)...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if resp, err := http.Get(base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return nil, errors.New("server not ready after 30s")
		}
	}
	c := &client{base: base, token: token, http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns + 8}}}
	if err := seed(c); err != nil {
		return nil, fmt.Errorf("seed: %w", err)
	}
	wls := workloads()
	out2 := map[string]result{}
	for _, n := range names {
		w, ok := wls[n]
		if !ok {
			return nil, fmt.Errorf("unknown workload %q", n)
		}
		out2[n] = measure(c, w, conns, duration)
	}
	return out2, nil
}

type client struct {
	base, token string
	http        *http.Client
}

func (c *client) do(method, path string, body []byte, hdr map[string]string) (int, []byte, error) {
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil && hdr["Content-Type"] == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (c *client) must(want int, method, path string, body []byte, hdr map[string]string) error {
	code, b, err := c.do(method, path, body, hdr)
	if err != nil {
		return err
	}
	if code != want {
		return fmt.Errorf("%s %s: %d %s", method, path, code, b)
	}
	return nil
}

// seed makes model "m" with 100 ready versions, each with a 4 KiB file,
// model "w" for creates on one model, and models w0..w99.
func seed(c *client) error {
	file := bytes.Repeat([]byte("modelkeep"), 4096/9+1)[:4096]
	sum := sha256.Sum256(file)
	if err := c.must(201, "POST", "/api/v1/models", []byte(`{"name":"m"}`), nil); err != nil {
		return err
	}
	for i := 1; i <= 100; i++ {
		body, _ := json.Marshal(map[string]any{"description": fmt.Sprint("version ", i), "tags": map[string]string{"team": "risk"},
			"params": map[string]any{"lr": "0.01", "epochs": fmt.Sprint(i)}})
		if err := c.must(201, "POST", "/api/v1/models/m/versions", body, nil); err != nil {
			return err
		}
		if err := c.must(201, "PUT", fmt.Sprintf("/api/v1/models/m/versions/%d/files/model.bin", i), file,
			map[string]string{"Content-Type": "application/octet-stream", "X-Checksum-Sha256": hex.EncodeToString(sum[:])}); err != nil {
			return err
		}
		if err := c.must(200, "POST", fmt.Sprintf("/api/v1/models/m/versions/%d/finalize", i), []byte(`{}`), nil); err != nil {
			return err
		}
	}
	for i := -1; i < 100; i++ {
		name := "w"
		if i >= 0 {
			name = fmt.Sprint("w", i)
		}
		if err := c.must(201, "POST", "/api/v1/models", []byte(`{"name":"`+name+`"}`), nil); err != nil {
			return err
		}
	}
	return nil
}

func workloads() map[string]workload {
	get := func(path string) func(string, int, int) (*http.Request, error) {
		return func(base string, _, _ int) (*http.Request, error) { return http.NewRequest("GET", base+path, nil) }
	}
	post := func(model func(client, i int) string) func(string, int, int) (*http.Request, error) {
		return func(base string, client, i int) (*http.Request, error) {
			req, err := http.NewRequest("POST", base+"/api/v1/models/"+model(client, i)+"/versions",
				strings.NewReader(`{"description":"bench","tags":{"team":"risk"},"params":{"lr":"0.01"}}`))
			if err == nil {
				req.Header.Set("Content-Type", "application/json")
			}
			return req, err
		}
	}
	return map[string]workload{
		"get":       {name: "get", request: get("/api/v1/models/m/versions/50"), want: 200},
		"list":      {name: "list", request: get("/api/v1/models/m/versions?page_size=100"), want: 200},
		"download":  {name: "download", request: get("/api/v1/models/m/versions/7/files/model.bin"), want: 200},
		"create1":   {name: "create1", request: post(func(int, int) string { return "w" }), want: 201},
		"create100": {name: "create100", request: post(func(c, i int) string { return fmt.Sprint("w", (c*7919+i)%100) }), want: 201},
	}
}

// measure runs w with conns clients for d, each sending its next request
// when the previous answer is read (closed loop, like wrk).
func measure(c *client, w workload, conns int, d time.Duration) result {
	var (
		mu   sync.Mutex
		all  []time.Duration
		errs atomic.Int64
		wg   sync.WaitGroup
	)
	start := time.Now()
	stop := start.Add(d)
	for k := range conns {
		wg.Go(func() {
			var lat []time.Duration
			for i := 0; time.Now().Before(stop); i++ {
				req, err := w.request(c.base, k, i)
				if err != nil {
					errs.Add(1)
					continue
				}
				req.Header.Set("Authorization", "Bearer "+c.token)
				t0 := time.Now()
				resp, err := c.http.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(t0))
				if resp.StatusCode != w.want {
					errs.Add(1)
				}
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	slices.Sort(all)
	return result{n: len(all), errs: int(errs.Load()), elapsed: time.Since(start), latencies: all}
}
