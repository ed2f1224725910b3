package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/websession"
)

func TestWebSessions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		base := time.Date(2026, 11, 1, 12, 0, 0, 123456789, time.UTC)
		sess := websession.Session{
			ID: strings.Repeat("a", 64), Subject: "alice", Roles: []string{"deployer", "auditor"}, Models: []string{"fraud-*"},
			Source: websession.SourceToken, TokenID: strings.Repeat("1", 32), CSRFToken: strings.Repeat("c", 43),
			CreatedAt: base, LastSeenAt: base, IdleExpiresAt: base.Add(30 * time.Minute), ExpiresAt: base.Add(12 * time.Hour),
		}
		if err := s.CreateSession(ctx, sess); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetSession(ctx, sess.ID)
		if err != nil {
			t.Fatal(err)
		}
		want := sess
		want.CreatedAt, want.LastSeenAt = utc(base), utc(base)
		want.IdleExpiresAt, want.ExpiresAt = utc(sess.IdleExpiresAt), utc(sess.ExpiresAt)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("get\n %+v\nwant\n %+v", got, want)
		}
		if _, err := s.GetSession(ctx, strings.Repeat("b", 64)); !errors.Is(err, modelkeep.ErrNotFound) {
			t.Fatalf("missing session: %v", err)
		}

		later := base.Add(5 * time.Minute)
		if err := s.TouchSession(ctx, sess.ID, later, later.Add(30*time.Minute)); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetSession(ctx, sess.ID); !got.LastSeenAt.Equal(utc(later)) || !got.IdleExpiresAt.Equal(utc(later.Add(30*time.Minute))) {
			t.Fatalf("after touch: %+v", got)
		}

		// Revoking twice keeps the first time; a revoked session is not touched.
		for _, at := range []time.Time{later, later.Add(time.Minute)} {
			if err := s.RevokeSession(ctx, sess.ID, at); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.TouchSession(ctx, sess.ID, later.Add(time.Hour), later.Add(2*time.Hour)); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetSession(ctx, sess.ID)
		if got.RevokedAt == nil || !got.RevokedAt.Equal(utc(later)) || !got.LastSeenAt.Equal(utc(later)) {
			t.Fatalf("after revoke: %+v", got)
		}
		if err := s.RevokeSession(ctx, strings.Repeat("b", 64), later); !errors.Is(err, modelkeep.ErrNotFound) {
			t.Fatalf("revoke a missing session: %v", err)
		}

		// The sweep: the revoked one and the idle one go, the live one stays.
		idle, live := sess, sess
		idle.ID, idle.RevokedAt, idle.IdleExpiresAt = strings.Repeat("d", 64), nil, base.Add(time.Minute)
		live.ID, live.RevokedAt, live.IdleExpiresAt = strings.Repeat("e", 64), nil, base.Add(time.Hour)
		for _, x := range []websession.Session{idle, live} {
			if err := s.CreateSession(ctx, x); err != nil {
				t.Fatal(err)
			}
		}
		login := websession.OIDCLogin{ID: strings.Repeat("f", 64), Nonce: "n", CodeVerifier: "v", ReturnTo: "/ui/x", CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute)}
		if err := s.CreateOIDCLogin(ctx, login); err != nil {
			t.Fatal(err)
		}
		n, err := s.DeleteEndedSessions(ctx, base.Add(20*time.Minute))
		if err != nil || n != 3 {
			t.Fatalf("sweep removed %d (%v), want 3", n, err)
		}
		for id, wantErr := range map[string]error{sess.ID: modelkeep.ErrNotFound, idle.ID: modelkeep.ErrNotFound, live.ID: nil} {
			if _, err := s.GetSession(ctx, id); !errors.Is(err, wantErr) && !(wantErr == nil && err == nil) {
				t.Errorf("session %s…: %v, want %v", id[:4], err, wantErr)
			}
		}
	})
}

// A sign-in's state is redeemed once, even by callers racing for it.
func TestTakeOIDCLogin(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		login := websession.OIDCLogin{ID: strings.Repeat("a", 64), Nonce: "nonce", CodeVerifier: "verifier", ReturnTo: "/ui/models?x=1#y",
			CreatedAt: base, ExpiresAt: base.Add(10 * time.Minute)}
		if err := s.CreateOIDCLogin(ctx, login); err != nil {
			t.Fatal(err)
		}
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []string
			got  []websession.OIDCLogin
		)
		for range 8 {
			wg.Go(func() {
				l, err := s.TakeOIDCLogin(ctx, login.ID)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					got = append(got, l)
				} else if errors.Is(err, modelkeep.ErrNotFound) {
					errs = append(errs, "not found")
				} else {
					errs = append(errs, err.Error())
				}
			})
		}
		wg.Wait()
		if len(got) != 1 || fmt.Sprint(got[0]) != fmt.Sprint(login) {
			t.Fatalf("taken %d times: %+v (others: %v)", len(got), got, errs)
		}
		if slices.ContainsFunc(errs, func(e string) bool { return e != "not found" }) {
			t.Fatalf("errors: %v", errs)
		}
	})
}
