package server_test

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/server"
)

// env is one running Modelkeep on one backend, driven over real HTTP.
type env struct {
	t        *testing.T
	srv      *server.Server
	token    string      // sent as the bearer token by do; an admin's unless changed
	logs     *syncBuffer // everything the server logged
	http     *httptest.Server
	client   *http.Client
	database string
	blobs    string
	dataDir  string
}

// startEnv serves a fresh Modelkeep on the given stores; extra flags tune
// its configuration.
func startEnv(t *testing.T, database, blobs string, extra ...string) *env {
	t.Helper()
	return startEnvWith(t, database, blobs, nil, extra...)
}

// startEnvWith is startEnv that lets mod change the parsed configuration
// (what no flag reaches, such as the session clock) before the server is
// built.
func startEnvWith(t *testing.T, database, blobs string, mod func(*server.Config), extra ...string) *env {
	t.Helper()
	dataDir := t.TempDir()
	args := append([]string{"--data-dir", dataDir, "--database", database, "--blobs", blobs}, extra...)
	cfg, err := server.ParseConfig("serve", args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	if mod != nil {
		mod(&cfg)
	}
	logs := &syncBuffer{}
	watch.log(logs)
	if u, err := url.Parse(database); err == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			watch.secret(pw)
		}
	}
	// Everything, debug included, goes to the buffer (searched for secrets
	// by the tests); warnings and errors also go to the test log.
	logger := slog.New(teeHandler{
		slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}),
		slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}),
	})
	srv, err := server.New(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	_, token, err := srv.IssueToken(context.Background(), modelkeep.TokenInput{Subject: "test-admin", Roles: []string{modelkeep.RoleAdmin}})
	if err != nil {
		t.Fatalf("issue admin token: %v", err)
	}
	watch.secret(token)
	// As Run does: events are chained as they come, and version reads go
	// through the ready-version cache.
	jobs, stopJobs := context.WithCancel(context.Background())
	sequencerDone := srv.StartAuditSequencer(jobs)
	followDone := srv.StartFollowingChanges(jobs)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		stopJobs()
		followDone()
		sequencerDone()
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	client := &http.Client{
		Transport: &transport{t: t, contract: theContract, next: http.DefaultTransport},
		// Redirects are part of the contract: look at them, do not follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &env{t: t, srv: srv, token: token, logs: logs, http: hs, client: client, database: database, blobs: blobs, dataDir: dataDir}
}

// forEachBackend runs fn as one subtest per backend of testenv.Backends
// (sqlite+fs, mysql+s3), each on a fresh Modelkeep on fresh stores.
func forEachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	forEachBackendFlags(t, nil, fn)
}

// forEachBackendFlags is forEachBackend with extra serve flags.
func forEachBackendFlags(t *testing.T, flags []string, fn func(t *testing.T, e *env)) {
	t.Helper()
	forEachBackendStores(t, func(t *testing.T, database, blobs string) {
		fn(t, startEnv(t, database, blobs, flags...))
	})
}

// forEachBackendStores runs fn as one subtest per backend with the
// MODELKEEP_DATABASE and MODELKEEP_BLOBS values of fresh stores, for tests
// that prepare the stores or start the server themselves.
//
// The test runs in parallel with the package's other such tests, and its
// backends' subtests in parallel with each other: each has its own stores
// and server, and they spend much of their time waiting on different things
// (SQLite's fsyncs, MySQL's commits, S3's requests), so one at a time left
// the CPUs idle for most of the run. go test -parallel bounds how many run
// at once. A test that measures its process (its heap, say) uses
// forEachBackendSerially: it stays sequential, and Go runs the sequential
// tests before it releases the parallel ones.
func forEachBackendStores(t *testing.T, fn func(t *testing.T, database, blobs string)) {
	t.Helper()
	runBackends(t, true, fn)
}

// forEachBackendSerially is forEachBackendFlags with one backend at a time,
// for tests that measure the process (heap, RSS) while a backend works.
func forEachBackendSerially(t *testing.T, flags []string, fn func(t *testing.T, e *env)) {
	t.Helper()
	runBackends(t, false, func(t *testing.T, database, blobs string) {
		fn(t, startEnv(t, database, blobs, flags...))
	})
}

func runBackends(t *testing.T, parallel bool, fn func(t *testing.T, database, blobs string)) {
	t.Helper()
	if parallel {
		t.Parallel()
	}
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			if parallel {
				t.Parallel()
			}
			database, blobs := b.New(t)
			fn(t, database, blobs)
		})
	}
}

// as returns a copy of the env that sends token (or none, if "").
func (e *env) as(token string) *env {
	c := *e
	c.token = token
	return &c
}

// on returns a copy of the env that reports to t (a subtest's own).
func (e *env) on(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

// walkPages reads every page of the list at path (query q, page_size size;
// 0 for the default of 50), checks that every page but the last is full and
// none is larger, and returns the pages in order. count and next read a
// page's number of items and its next_page_token.
func walkPages[P any](t *testing.T, e *env, path string, q url.Values, size int, count func(P) int, next func(P) string) []P {
	t.Helper()
	e = e.on(t)
	var pages []P
	token := ""
	for range 200 {
		pq := url.Values{}
		for k, vs := range q {
			pq[k] = vs
		}
		if size > 0 {
			pq.Set("page_size", fmt.Sprint(size))
		}
		if token != "" {
			pq.Set("page_token", token)
		}
		var page P
		e.expect(e.do("GET", path+"?"+pq.Encode(), nil), http.StatusOK, &page)
		full := cmp.Or(size, 50)
		if n := count(page); n > full || next(page) != "" && n != full {
			t.Fatalf("%s: a page of %d items with page_size %d (next %q)", path, n, size, next(page))
		}
		pages = append(pages, page)
		if token = next(page); token == "" {
			return pages
		}
	}
	t.Fatalf("%s: no last page after 200 pages", path)
	return nil
}

// issue makes a token with the given roles (and model scope).
func (e *env) issue(subject string, roles []string, models ...string) string {
	e.t.Helper()
	_, token := e.issueWithID(subject, roles, models...)
	return token
}

// issueWithID is issue that also returns the token's id.
func (e *env) issueWithID(subject string, roles []string, models ...string) (id, token string) {
	e.t.Helper()
	t, token, err := e.srv.IssueToken(context.Background(), modelkeep.TokenInput{Subject: subject, Roles: roles, Models: models})
	if err != nil {
		e.t.Fatalf("issue token: %v", err)
	}
	watch.secret(token)
	return t.ID, token
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// teeHandler sends each record to two handlers.
type teeHandler [2]slog.Handler

func (h teeHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h[0].Enabled(ctx, l) || h[1].Enabled(ctx, l)
}

func (h teeHandler) Handle(ctx context.Context, r slog.Record) error {
	for _, x := range h {
		if x.Enabled(ctx, r.Level) {
			if err := x.Handle(ctx, r.Clone()); err != nil {
				return err
			}
		}
	}
	return nil
}

func (h teeHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return teeHandler{h[0].WithAttrs(attrs), h[1].WithAttrs(attrs)}
}

func (h teeHandler) WithGroup(name string) slog.Handler {
	return teeHandler{h[0].WithGroup(name), h[1].WithGroup(name)}
}

// testWriter sends server logs to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// do sends a request; body may be nil, []byte, string, io.Reader or a value
// to encode as JSON.
func (e *env) do(method, path string, body any, headers ...string) *http.Response {
	e.t.Helper()
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	case string:
		r, ctype = strings.NewReader(b), "application/json"
	case io.Reader:
		r = b
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			e.t.Fatalf("encode body: %v", err)
		}
		r, ctype = bytes.NewReader(enc), "application/json"
	}
	req, err := http.NewRequest(method, e.http.URL+path, r)
	if err != nil {
		e.t.Fatalf("new request: %v", err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// expect checks the status and decodes a JSON body into out (if not nil).
func (e *env) expect(resp *http.Response, status int, out any) {
	e.t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatalf("read body: %v", err)
	}
	if resp.StatusCode != status {
		e.t.Fatalf("%s %s: status %d, want %d; body: %s", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, status, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			e.t.Fatalf("decode %s: %v", body, err)
		}
	}
}

// expectError checks an error response: status, the error body's code, and
// that the message mentions want (when not empty).
func (e *env) expectError(resp *http.Response, status int, code, want string) {
	e.t.Helper()
	var body struct {
		Error struct{ Code, Message string }
	}
	e.expect(resp, status, &body)
	if body.Error.Code != code {
		e.t.Errorf("error code %q, want %q (message %q)", body.Error.Code, code, body.Error.Message)
	}
	if !strings.Contains(body.Error.Message, want) {
		e.t.Errorf("error message %q does not mention %q", body.Error.Message, want)
	}
}

// mustCreateModel and mustCreateVersion set up fixtures.
func (e *env) mustCreateModel(name string) {
	e.t.Helper()
	e.expect(e.do("POST", "/api/v1/models", map[string]any{"name": name}), http.StatusCreated, nil)
}

func (e *env) mustCreateVersion(model string) int {
	e.t.Helper()
	var v struct{ Version int }
	e.expect(e.do("POST", "/api/v1/models/"+model+"/versions", map[string]any{}), http.StatusCreated, &v)
	return v.Version
}

// blobKeys lists what the blob store holds, whichever it is.
func (e *env) blobKeys() []string {
	e.t.Helper()
	if strings.HasPrefix(e.blobs, "s3://") {
		return testenv.BucketKeys(e.t, e.blobs)
	}
	return listFiles(e.t, strings.TrimPrefix(e.blobs, "file:"))
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// status sends a JSON request from any goroutine (no t.Fatal) and returns
// the status code; concurrency tests use it. The contract check is skipped:
// its failures would report from the wrong goroutine.
func (e *env) status(method, path string, body []byte) (int, error) {
	req, err := http.NewRequest(method, e.http.URL+path, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}
