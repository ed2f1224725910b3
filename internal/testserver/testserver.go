// Package testserver serves a fresh Modelkeep in process, over HTTP on
// loopback, for the tests of what talks to it from outside: the CLI, the
// Python client and the web UI in a browser. (The server package's tests
// have a harness of their own, which also searches the logs for secrets.)
package testserver

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/modelkeep/modelkeep/server"
)

// Start serves a fresh Modelkeep on the given stores (a database and a
// blob store URL, as testenv's backends make them) with the extra flags of
// `modelkeep serve`, and stops it when the test ends. It returns the
// server, for what the tests set up behind the API (tokens), and its base
// URL. The server's warnings and errors go to the test log.
func Start(t testing.TB, database, blobs string, flags ...string) (*server.Server, string) {
	t.Helper()
	args := append([]string{"--data-dir", t.TempDir(), "--database", database, "--blobs", blobs}, flags...)
	cfg, err := server.ParseConfig("serve", args, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logger := slog.New(slog.NewTextHandler(&testLog{t: t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
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
	return srv, hs.URL
}

// testLog writes what the server logs to the test log, a record a line.
// The server logs from many goroutines at once.
type testLog struct {
	t  testing.TB
	mu sync.Mutex
}

func (w *testLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
