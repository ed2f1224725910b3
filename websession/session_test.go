package websession

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

var t0 = time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)

// The rule for using a session: each way it ends.
func TestSessionCheck(t *testing.T) {
	revoked := t0.Add(time.Minute)
	live := Session{CreatedAt: t0, LastSeenAt: t0, IdleExpiresAt: t0.Add(30 * time.Minute), ExpiresAt: t0.Add(12 * time.Hour)}
	tests := []struct {
		name string
		mod  func(*Session)
		at   time.Duration
		want string // "" for usable
	}{
		{"fresh", nil, 0, ""},
		{"just before idle expiry", nil, 30*time.Minute - time.Microsecond, ""},
		{"at idle expiry", nil, 30 * time.Minute, "session expired after inactivity"},
		{"at absolute expiry", func(s *Session) { s.IdleExpiresAt = s.ExpiresAt }, 12 * time.Hour, "session expired"},
		{"signed out", func(s *Session) { s.RevokedAt = &revoked }, 2 * time.Minute, "session ended (signed out)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := live
			if tt.mod != nil {
				tt.mod(&s)
			}
			err := s.check(t0.Add(tt.at))
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("check: %v", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want || !errors.Is(err, modelkeep.ErrUnauthenticated)):
				t.Fatalf("check: %v, want %q (401)", err, tt.want)
			}
		})
	}
}

// The idle expiry moves at most once a minute and never past the absolute
// expiry.
func TestSessionTouch(t *testing.T) {
	s := Session{LastSeenAt: t0, IdleExpiresAt: t0.Add(30 * time.Minute), ExpiresAt: t0.Add(time.Hour)}
	tests := []struct {
		at        time.Duration
		touch     bool
		idleUntil time.Duration
	}{
		{59 * time.Second, false, 0},
		{time.Minute, true, 31 * time.Minute},
		{45 * time.Minute, true, time.Hour}, // capped
	}
	for _, tt := range tests {
		now := t0.Add(tt.at)
		if got := s.needsTouch(now); got != tt.touch {
			t.Errorf("at +%s: needsTouch %v, want %v", tt.at, got, tt.touch)
		}
		if tt.touch {
			if got := s.touched(now, 30*time.Minute).IdleExpiresAt; !got.Equal(t0.Add(tt.idleUntil)) {
				t.Errorf("at +%s: idle expiry %s, want +%s", tt.at, got, tt.idleUntil)
			}
		}
	}
}

func TestLogin(t *testing.T) {
	admin := []string{modelkeep.RoleAdmin}
	tests := []struct {
		name       string
		token      func(f *fixture) string
		wantErr    error
		wantExpiry time.Duration // from now
		wantModels []string
		wantEvent  string
	}{
		{"modelkeep token", func(f *fixture) string {
			f.tokens.add("tok1", "alice", 24*time.Hour, []string{modelkeep.RoleDeployer}, "fraud-*")
			return "tok1"
		}, nil, 12 * time.Hour, []string{"fraud-*"}, "success session.login alice"},
		{"pasted with its Bearer prefix and blanks", func(f *fixture) string {
			f.tokens.add("tok3", "erin", 24*time.Hour, admin)
			return "  bearer tok3\n"
		}, nil, 12 * time.Hour, []string{}, "success session.login erin"},
		{"token expiring before the max age bounds the session", func(f *fixture) string {
			f.tokens.add("tok2", "bob", 2*time.Hour, admin)
			return "tok2"
		}, nil, 2 * time.Hour, []string{}, "success session.login bob"},
		{"identity provider token: its exp bounds the session", func(f *fixture) string {
			return f.tokens.addIDP(modelkeep.Actor{Subject: "oidc:carol", Roles: admin}, f.clock.Now().Add(90*time.Minute))
		}, nil, 90 * time.Minute, []string{}, "success session.login oidc:carol"},
		{"bad token", func(f *fixture) string { return "nope" }, modelkeep.ErrUnauthenticated, 0, nil, "denied session.login anonymous"},
		{"no role", func(f *fixture) string {
			return f.tokens.addIDP(modelkeep.Actor{Subject: "oidc:dave"}, f.clock.Now().Add(time.Hour))
		}, modelkeep.ErrForbidden, 0, nil, "denied session.login oidc:dave"},
		{"subject too long", func(f *fixture) string {
			return f.tokens.addIDP(modelkeep.Actor{Subject: "oidc:" + strings.Repeat("e", 200), Roles: admin}, f.clock.Now().Add(time.Hour))
		}, modelkeep.ErrUnauthenticated, 0, nil, "denied session.login oidc:" + strings.Repeat("e", 200)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			sess, cookie, err := f.svc.Login(t.Context(), tt.token(f))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Login: %v, want %v", err, tt.wantErr)
				}
				if len(f.store.sessions) != 0 {
					t.Errorf("a refused sign-in left a session")
				}
			} else {
				if err != nil {
					t.Fatalf("Login: %v", err)
				}
				if !sess.ExpiresAt.Equal(t0.Add(tt.wantExpiry)) || !sess.IdleExpiresAt.Equal(t0.Add(30*time.Minute)) {
					t.Errorf("expires %s, idle %s", sess.ExpiresAt, sess.IdleExpiresAt)
				}
				if !slices.Equal(sess.Models, tt.wantModels) || sess.Source != SourceToken {
					t.Errorf("models %v source %q", sess.Models, sess.Source)
				}
				if !validValue(cookie) || !validValue(sess.CSRFToken) || cookie == sess.CSRFToken {
					t.Errorf("cookie %q csrf %q", cookie, sess.CSRFToken)
				}
				if sess.ID != hashValue(cookie) || strings.Contains(sess.ID, cookie) {
					t.Errorf("the session is not stored under the hash of its cookie")
				}
			}
			if got := f.events(); len(got) != 1 || got[0] != tt.wantEvent {
				t.Errorf("audit events %q, want [%q]", got, tt.wantEvent)
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	tests := []struct {
		name string
		// after signs in as tok (24h, deployer) and then changes things
		after   func(f *fixture, cookie string) string // returns the cookie to present
		want    string                                 // the 401's message; "" for success
		touches int
	}{
		{"fresh", func(f *fixture, c string) string { return c }, "", 0},
		{"a minute later the idle expiry moves", func(f *fixture, c string) string { f.clock.Advance(time.Minute); return c }, "", 1},
		{"malformed cookie", func(f *fixture, c string) string { return c[:20] }, "invalid session cookie", 0},
		{"unknown cookie", func(f *fixture, c string) string { v, _ := randomValue(); return v }, "no such session", 0},
		{"idle", func(f *fixture, c string) string { f.clock.Advance(30 * time.Minute); return c }, "session expired after inactivity", 0},
		{"token revoked", func(f *fixture, c string) string { f.tokens.revoke("tok"); return c }, "the session's token was revoked", 0},
		{"signed out", func(f *fixture, c string) string {
			sess, err := f.svc.Authenticate(t.Context(), c)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.svc.Logout(t.Context(), sess); err != nil {
				t.Fatal(err)
			}
			return c
		}, "session ended (signed out)", 0},
		{"absolute expiry despite activity", func(f *fixture, c string) string {
			for range 12 * 2 {
				f.clock.Advance(29 * time.Minute)
				if _, err := f.svc.Authenticate(t.Context(), c); err != nil {
					t.Fatalf("at %s: %v", f.clock.Now(), err)
				}
			}
			f.clock.Advance(29 * time.Minute) // 12h05m after sign-in
			return c
		}, "session expired", 24},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			f.tokens.add("tok", "alice", 24*time.Hour, []string{modelkeep.RoleDeployer})
			_, cookie, err := f.svc.Login(t.Context(), "tok")
			if err != nil {
				t.Fatal(err)
			}
			sess, err := f.svc.Authenticate(t.Context(), tt.after(f, cookie))
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Authenticate: %v", err)
				}
				if a := sess.Actor(); a.Subject != "alice" || a.TokenID != "tok" || !slices.Equal(a.Roles, []string{modelkeep.RoleDeployer}) {
					t.Errorf("actor %+v", a)
				}
			} else if err == nil || err.Error() != tt.want || !errors.Is(err, modelkeep.ErrUnauthenticated) {
				t.Fatalf("Authenticate: %v, want 401 %q", err, tt.want)
			}
			if f.store.touches != tt.touches {
				t.Errorf("%d touches, want %d", f.store.touches, tt.touches)
			}
		})
	}
}

func TestAuthenticateStoreDown(t *testing.T) {
	f := newFixture(t, nil)
	f.tokens.add("tok", "alice", time.Hour, []string{modelkeep.RoleAdmin})
	_, cookie, err := f.svc.Login(t.Context(), "tok")
	if err != nil {
		t.Fatal(err)
	}
	f.store.err = modelkeep.Errorf(modelkeep.ErrUnavailable, "database unavailable")
	if _, err := f.svc.Authenticate(t.Context(), cookie); !errors.Is(err, modelkeep.ErrUnavailable) || errors.Is(err, modelkeep.ErrUnauthenticated) {
		t.Fatalf("Authenticate with the database down: %v, want 503", err)
	}
}

func TestLogoutAndSweep(t *testing.T) {
	f := newFixture(t, nil)
	f.tokens.add("tok", "alice", time.Hour, []string{modelkeep.RoleAdmin})
	sess, cookie, err := f.svc.Login(t.Context(), "tok")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Logout(modelkeep.WithActor(t.Context(), sess.Actor()), sess); err != nil {
		t.Fatal(err)
	}
	if got := f.events(); !slices.Equal(got, []string{"success session.login alice", "success session.logout alice"}) {
		t.Errorf("events %q", got)
	}
	if _, err := f.svc.Authenticate(t.Context(), cookie); !errors.Is(err, modelkeep.ErrUnauthenticated) {
		t.Fatalf("the signed-out cookie: %v", err)
	}
	// A live session stays; the revoked one goes a minute later.
	if _, _, err := f.svc.Login(t.Context(), "tok"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(2 * time.Minute)
	if n, err := f.svc.Sweep(t.Context()); err != nil || n != 1 || len(f.store.sessions) != 1 {
		t.Fatalf("sweep removed %d (%v), %d left", n, err, len(f.store.sessions))
	}
}

func TestExpiryClaim(t *testing.T) {
	tok := &tokens{idp: map[string]modelkeep.Actor{}}
	exp := time.Unix(1_800_000_000, 0).UTC()
	tests := []struct {
		raw  string
		want time.Time
		ok   bool
	}{
		{tok.addIDP(modelkeep.Actor{}, exp), exp, true},
		{"a.b", time.Time{}, false},
		{"a.!!!.c", time.Time{}, false},
		{"a.e30.c", time.Time{}, false},                 // {}
		{"a.eyJleHAiOiJzb29uIn0.c", time.Time{}, false}, // {"exp":"soon"}
	}
	for _, tt := range tests {
		got, ok := expiryClaim(tt.raw)
		if ok != tt.ok || !got.Equal(tt.want) {
			t.Errorf("expiryClaim(%q) = %s %v, want %s %v", tt.raw, got, ok, tt.want, tt.ok)
		}
	}
}
