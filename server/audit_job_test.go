package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

func newJobServer(t *testing.T, interval string) *Server {
	t.Helper()
	dir := t.TempDir()
	cfg, err := ParseConfig("serve", []string{"--data-dir", dir, "--audit-checkpoint-interval", interval}, func(string) string { return "" }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(t.Context(), cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func (s *Server) mutate(t *testing.T) {
	t.Helper()
	if _, _, err := s.IssueToken(t.Context(), modelkeep.TokenInput{Subject: "x", Roles: []string{modelkeep.RoleAuditor}}); err != nil {
		t.Fatal(err)
	}
}

func (s *Server) newestCheckpoint(t *testing.T) int64 {
	t.Helper()
	cps, _, err := s.service.ListAuditCheckpoints(t.Context(), 1, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(cps) == 0 {
		return 0
	}
	return cps[0].Seq
}

func TestAuditCheckpointJob(t *testing.T) {
	t.Run("signs the moving head on its interval", func(t *testing.T) {
		s := newJobServer(t, "10ms")
		ctx, cancel := context.WithCancel(t.Context())
		wait := s.startAuditCheckpoints(ctx)
		defer func() { cancel(); wait() }()
		s.mutate(t)
		// Bounded polling: the job runs on its own clock.
		for deadline := time.Now().Add(10 * time.Second); s.newestCheckpoint(t) != 1; {
			if time.Now().After(deadline) {
				t.Fatal("no checkpoint of the head after 10s")
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	t.Run("signs the head once more at shutdown", func(t *testing.T) {
		s := newJobServer(t, "1h")
		ctx, cancel := context.WithCancel(t.Context())
		wait := s.startAuditCheckpoints(ctx)
		s.mutate(t)
		s.mutate(t)
		cancel()
		wait()
		if got := s.newestCheckpoint(t); got != 2 {
			t.Errorf("newest checkpoint %d after shutdown, want 2", got)
		}
	})
	t.Run("disabled", func(t *testing.T) {
		s := newJobServer(t, "0")
		ctx, cancel := context.WithCancel(t.Context())
		wait := s.startAuditCheckpoints(ctx)
		s.mutate(t)
		cancel()
		wait()
		if got := s.newestCheckpoint(t); got != 0 {
			t.Errorf("checkpoint %d with the job disabled", got)
		}
	})
}
