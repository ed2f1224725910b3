package server_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/server"
)

// env is one running Modelkeep on one backend, driven over real HTTP.
type env struct {
	t        *testing.T
	srv      *server.Server
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
	dataDir := t.TempDir()
	args := append([]string{"--data-dir", dataDir, "--database", database, "--blobs", blobs}, extra...)
	cfg, err := server.ParseConfig("serve", args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	srv, err := server.New(context.Background(), cfg, logger)
	if err != nil {
		t.Fatalf("start server: %v", err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("close server: %v", err)
		}
	})
	client := &http.Client{
		Transport: &transport{t: t, contract: theContract, next: http.DefaultTransport},
		// Redirects are part of the contract: look at them, do not follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &env{t: t, srv: srv, http: hs, client: client, database: database, blobs: blobs, dataDir: dataDir}
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
