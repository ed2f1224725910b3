package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/server"
)

// benchServer serves a fresh Modelkeep over real HTTP (an httptest server
// on loopback) and returns its base URL and an admin's token. The server
// logs as in production (one line per request, at info), into io.Discard.
func benchServer(b *testing.B, database, blobs string) (base, token string) {
	b.Helper()
	_, base, token = benchServerOf(b, database, blobs)
	return base, token
}

// benchServerOf is benchServer that also returns the server, for seeding
// through its domain service.
func benchServerOf(b *testing.B, database, blobs string) (srv *server.Server, base, token string) {
	b.Helper()
	args := []string{"--data-dir", b.TempDir(), "--database", database, "--blobs", blobs}
	cfg, err := server.ParseConfig("serve", args, func(string) string { return "" }, io.Discard)
	if err != nil {
		b.Fatalf("config: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err = server.New(context.Background(), cfg, logger)
	if err != nil {
		b.Fatalf("start server: %v", err)
	}
	_, token, err = srv.IssueToken(context.Background(), modelkeep.TokenInput{Subject: "bench-admin", Roles: []string{modelkeep.RoleAdmin}})
	if err != nil {
		b.Fatalf("issue token: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			b.Errorf("close server: %v", err)
		}
	})
	return srv, hs.URL, token
}

// benchClient sends one request at a time over a kept-alive connection. It
// is a plain client: the contract checker of the tests' transport would
// dominate the numbers.
type benchClient struct {
	http  *http.Client
	token string
}

func newBenchClient(token string) *benchClient {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true
	return &benchClient{http: &http.Client{Transport: t}, token: token}
}

// do sends a request (body encoded as JSON when not nil), reads the whole
// response and checks its status.
func (c *benchClient) do(tb testing.TB, method, url string, body any, want int) {
	var r io.Reader
	if body != nil {
		enc, err := json.Marshal(body)
		if err != nil {
			tb.Fatal(err)
		}
		r = bytes.NewReader(enc)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		tb.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, url, err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		tb.Fatalf("%s %s: read body: %v", method, url, err)
	}
	if resp.StatusCode != want {
		tb.Fatalf("%s %s: status %d, want %d", method, url, resp.StatusCode, want)
	}
}

// BenchmarkGetVersion measures GET /api/v1/models/m/versions/1 through the
// whole HTTP stack (middleware, authentication, validation, the metadata
// store, JSON) on each backend, with its baseline in the same run: GET
// /healthz, which passes the same stack but does no work of its own.
//
//	BenchmarkGetVersion/<backend>/healthz   the baseline's round trip
//	BenchmarkGetVersion/<backend>/version   the version's round trip, and
//	                                        x-healthz: its time over the
//	                                        baseline's, the latter measured
//	                                        right before and after it
//
// x-healthz compares like with like on any machine; ns/op alone moves with
// the host and its load.
func BenchmarkGetVersion(b *testing.B) {
	for _, backend := range testenv.Backends() {
		b.Run(backend.Name, func(b *testing.B) {
			database, blobs := backend.New(b)
			base, token := benchServer(b, database, blobs)
			c := newBenchClient(token)
			c.do(b, http.MethodPost, base+"/api/v1/models", map[string]any{
				"name": "m", "description": "benchmark model", "tags": map[string]string{"team": "bench", "task": "scoring"},
			}, http.StatusCreated)
			c.do(b, http.MethodPost, base+"/api/v1/models/m/versions", map[string]any{
				"params": map[string]string{"learning_rate": "0.05", "epochs": "20", "batch_size": "256"},
				"source": map[string]string{"run_id": "run-42", "git_commit": "0123456789abcdef0123456789abcdef01234567"},
			}, http.StatusCreated)
			healthz, version := base+"/healthz", base+"/api/v1/models/m/versions/1"
			// Warm up: connection, caches, the validator's first run.
			for range 10 {
				c.do(b, http.MethodGet, healthz, nil, http.StatusOK)
				c.do(b, http.MethodGet, version, nil, http.StatusOK)
			}

			b.Run("healthz", func(b *testing.B) {
				for b.Loop() {
					c.do(b, http.MethodGet, healthz, nil, http.StatusOK)
				}
			})
			b.Run("version", func(b *testing.B) {
				// The baseline is timed for a while before and after the
				// measured loop, so that drift in the host's speed affects
				// both alike.
				baseline := func(d time.Duration) (time.Duration, int) {
					start, n := time.Now(), 0
					for time.Since(start) < d {
						c.do(b, http.MethodGet, healthz, nil, http.StatusOK)
						n++
					}
					return time.Since(start), n
				}
				before, n1 := baseline(200 * time.Millisecond)
				for b.Loop() {
					c.do(b, http.MethodGet, version, nil, http.StatusOK)
				}
				perOp := float64(b.Elapsed()) / float64(b.N)
				after, n2 := baseline(200 * time.Millisecond)
				basePerOp := float64(before+after) / float64(n1+n2)
				b.ReportMetric(basePerOp, "healthz-ns/op")
				b.ReportMetric(perOp/basePerOp, "x-healthz")
			})
		})
	}
}
