package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/server"
)

// BenchmarkHandler measures the server's own cost of each scenario's
// request (no network, one request at a time) on a seeded database
// (MODELKEEP_BENCH_MYSQL_DSN): CPU time and allocations per request, the
// figures the load test's throughput follows.
func BenchmarkHandler(b *testing.B) {
	database := os.Getenv("MODELKEEP_BENCH_MYSQL_DSN")
	if database == "" {
		b.Skip("MODELKEEP_BENCH_MYSQL_DSN is not set")
	}
	ctx := context.Background()
	dataDir := b.TempDir()
	args := []string{"--data-dir", dataDir, "--database", database, "--blobs", "file:" + dataDir + "/blobs",
		"--orphan-sweep-interval", "0", "--audit-checkpoint-interval", "0"}
	cfg, err := server.ParseConfig("serve", args, func(string) string { return "" }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	srv, err := server.New(ctx, cfg, logger)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { srv.Close() })
	_, token, err := srv.IssueToken(ctx, modelkeep.TokenInput{Subject: "bench-admin", Roles: []string{modelkeep.RoleAdmin}})
	if err != nil {
		b.Fatal(err)
	}
	h := srv.Handler()
	for _, sc := range []struct{ name, path string }{
		{"healthz", "/healthz"},
		{"get", "/api/v1/models/bench-m00042/versions/7"},
		{"list100", "/api/v1/models/" + bigModel + "/versions?page_size=100"},
		{"lineage", "/api/v1/models/" + bigModel + "/versions/500/lineage?direction=both&depth=3"},
	} {
		b.Run(sc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, sc.path, nil)
				req.Header.Set("Authorization", "Bearer "+token)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("%s: %d %s", sc.path, rec.Code, rec.Body)
				}
			}
		})
	}
}
