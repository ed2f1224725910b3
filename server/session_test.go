package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api"
	"github.com/modelkeep/modelkeep/server"
)

// sessionInfo is the SessionInfo of openapi.yaml.
type sessionInfo struct {
	Subject       string    `json:"subject"`
	Roles         []string  `json:"roles"`
	Models        []string  `json:"models"`
	Source        string    `json:"source"`
	CSRFToken     string    `json:"csrf_token"`
	CreatedAt     time.Time `json:"created_at"`
	ExpiresAt     time.Time `json:"expires_at"`
	IdleExpiresAt time.Time `json:"idle_expires_at"`
}

// browser is a web UI in a browser: no Authorization header, the session
// cookie on every request, and the CSRF token where the page sends it.
type browser struct {
	e      *env // with no token
	cookie string
	info   sessionInfo
}

// login signs in with token (POST /api/v1/session) and checks the cookie's
// attributes.
func (e *env) login(token string) *browser {
	e.t.Helper()
	anon := e.as("")
	resp := anon.do("POST", "/api/v1/session", map[string]any{"token": token})
	var info sessionInfo
	c := sessionCookieOf(e.t, resp)
	anon.expect(resp, http.StatusCreated, &info)
	if c == nil {
		e.t.Fatal("the sign-in set no mk_session cookie")
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
		e.t.Errorf("cookie %q: want HttpOnly, SameSite=Strict, Path=/", c.String())
	}
	if c.Value == token || strings.Contains(token, c.Value) || c.Value == info.CSRFToken || len(c.Value) < 40 {
		e.t.Errorf("cookie value %q is not a fresh secret", c.Value)
	}
	if c.MaxAge <= 0 || c.MaxAge > int(info.ExpiresAt.Sub(info.CreatedAt)/time.Second) {
		e.t.Errorf("cookie max-age %d for a session from %s to %s", c.MaxAge, info.CreatedAt, info.ExpiresAt)
	}
	watch.secret(info.CSRFToken)
	return &browser{e: anon, cookie: c.Value, info: info}
}

// sessionCookieOf returns the mk_session cookie a response sets, if any.
func sessionCookieOf(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == api.SessionCookie {
			watch.secret(c.Value) // never to be logged
			return c
		}
	}
	return nil
}

// do sends a request with the session cookie and headers (no CSRF token).
func (b *browser) do(method, path string, body any, headers ...string) *http.Response {
	b.e.t.Helper()
	return b.e.do(method, path, body, append([]string{"Cookie", api.SessionCookie + "=" + b.cookie}, headers...)...)
}

// change sends a change as the UI does: with the session's CSRF token.
func (b *browser) change(method, path string, body any, headers ...string) *http.Response {
	b.e.t.Helper()
	return b.do(method, path, body, append([]string{api.CSRFHeader, b.info.CSRFToken}, headers...)...)
}

func (b *browser) on(t *testing.T) *browser {
	c := *b
	c.e = b.e.on(t)
	return &c
}

// TestSessionLogin: a token pasted once becomes a cookie session with the
// token's roles and scopes; every change made with the cookie needs the
// CSRF token and this server's origin, and a refused one changes nothing
// and is audited; sign-out revokes the session.
func TestSessionLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		admin.mustCreateModel("fraud-a")
		admin.mustCreateModel("churn")
		tokenID, token := admin.issueWithID("ui-publisher", []string{modelkeep.RolePublisher}, "fraud-*")
		b := admin.login(token)
		if b.info.Subject != "ui-publisher" || !slices.Equal(b.info.Roles, []string{"publisher"}) ||
			!slices.Equal(b.info.Models, []string{"fraud-*"}) || b.info.Source != "token" || b.info.CSRFToken == "" {
			t.Fatalf("session %+v", b.info)
		}
		if d := b.info.ExpiresAt.Sub(b.info.CreatedAt); d != 12*time.Hour {
			t.Errorf("absolute lifetime %s, want 12h", d)
		}
		if d := b.info.IdleExpiresAt.Sub(b.info.CreatedAt); d != 30*time.Minute {
			t.Errorf("idle lifetime %s, want 30m", d)
		}

		t.Run("reads", func(t *testing.T) {
			b := b.on(t)
			var got sessionInfo
			b.e.expect(b.do("GET", "/api/v1/session", nil), http.StatusOK, &got)
			if got.Subject != "ui-publisher" || got.CSRFToken != b.info.CSRFToken {
				t.Errorf("GET /session: %+v", got)
			}
			b.e.expect(b.do("GET", "/api/v1/models/fraud-a", nil), http.StatusOK, nil)
			// The token's model scope holds for its session.
			b.e.expectError(b.do("GET", "/api/v1/models/churn", nil), http.StatusForbidden, "forbidden", `not valid for model "churn"`)
			// Without the cookie the UI is nobody.
			b.e.expectError(b.e.do("GET", "/api/v1/models/fraud-a", nil), http.StatusUnauthorized, "unauthenticated", "missing bearer token")
			b.e.expectError(b.do("GET", "/api/v1/session", nil, "Cookie", api.SessionCookie+"=forged"), http.StatusUnauthorized, "unauthenticated", "invalid session cookie")
		})

		t.Run("changes need the CSRF token", func(t *testing.T) {
			b := b.on(t)
			seq := admin.on(t).headSeq()
			own := b.e.http.URL
			refused := []struct {
				name    string
				method  string
				path    string
				body    any
				headers []string
				want    string
			}{
				{"POST without", "POST", "/api/v1/models", map[string]any{"name": "fraud-b"}, nil, "needs the session's CSRF token"},
				{"POST with a wrong one", "POST", "/api/v1/models", map[string]any{"name": "fraud-b"}, []string{api.CSRFHeader, strings.Repeat("x", 43)}, "not this session's CSRF token"},
				{"POST from another origin", "POST", "/api/v1/models", map[string]any{"name": "fraud-b"}, []string{api.CSRFHeader, b.info.CSRFToken, "Origin", "https://evil.example"}, "another origin"},
				{"POST from another site", "POST", "/api/v1/models", map[string]any{"name": "fraud-b"}, []string{api.CSRFHeader, b.info.CSRFToken, "Sec-Fetch-Site", "cross-site"}, "another site"},
				{"PATCH without", "PATCH", "/api/v1/models/fraud-a", map[string]any{"description": "changed"}, nil, "needs the session's CSRF token"},
				{"PUT (a byte route) without", "PUT", "/api/v1/models/fraud-a/versions/1/files/w.bin", []byte("weights"), nil, "needs the session's CSRF token"},
				{"DELETE without", "DELETE", "/api/v1/models/fraud-a", nil, nil, "needs the session's CSRF token"},
				{"sign-out without", "DELETE", "/api/v1/session", nil, nil, "needs the session's CSRF token"},
			}
			for _, r := range refused {
				t.Run(r.name, func(t *testing.T) {
					b := b.on(t)
					b.e.expectError(b.do(r.method, r.path, r.body, r.headers...), http.StatusForbidden, "csrf_failed", r.want)
				})
			}
			// Nothing changed, and every refusal is in the audit log.
			admin := admin.on(t)
			admin.expectError(admin.do("GET", "/api/v1/models/fraud-b", nil), http.StatusNotFound, "not_found", "")
			var m struct{ Description string }
			admin.expect(admin.do("GET", "/api/v1/models/fraud-a", nil), http.StatusOK, &m)
			if m.Description != "" {
				t.Errorf("description %q changed", m.Description)
			}
			b.e.expect(b.do("GET", "/api/v1/session", nil), http.StatusOK, nil) // still signed in
			denied := admin.eventsAfter(seq, "action=access.denied&actor=ui-publisher")
			if len(denied) != len(refused) {
				t.Errorf("%d access.denied events for %d refusals", len(denied), len(refused))
			}
			if len(denied) > 0 && !strings.Contains(string(denied[0].Details), "CSRF") && !strings.Contains(string(denied[0].Details), "origin") {
				t.Errorf("details %s", denied[0].Details)
			}
			if changes := admin.eventsAfter(seq, "outcome=success&actor=ui-publisher"); len(changes) != 0 {
				t.Errorf("refused changes recorded as made: %v", changes)
			}

			// With the token (and this origin, or none) they are made.
			b.e.expect(b.change("POST", "/api/v1/models", map[string]any{"name": "fraud-b"}, "Origin", own), http.StatusCreated, nil)
			b.e.expect(b.change("PATCH", "/api/v1/models/fraud-b", map[string]any{"description": "by the UI"}), http.StatusOK, nil)
			b.e.expect(b.change("POST", "/api/v1/models/fraud-b/versions", map[string]any{}), http.StatusCreated, nil)
			b.e.expect(b.change("PUT", "/api/v1/models/fraud-b/versions/1/files/w.bin", []byte("weights")), http.StatusCreated, nil)
			admin.mustCreateModel("gone")
			ab := admin.login(admin.token)
			ab.e.expect(ab.change("DELETE", "/api/v1/models/gone", nil), http.StatusNoContent, nil)
			// The token's roles hold: a publisher issues no tokens, CSRF
			// token or not.
			b.e.expectError(b.change("POST", "/api/v1/tokens", map[string]any{"subject": "x", "roles": []string{"admin"}}), http.StatusForbidden, "forbidden", "createToken needs")
			// Bearer requests are no ambient credentials: no CSRF token.
			admin.expect(admin.do("PATCH", "/api/v1/models/fraud-b", map[string]any{"description": "by curl"}, "Origin", "https://elsewhere.example"), http.StatusOK, nil)
		})

		t.Run("audit", func(t *testing.T) {
			admin := admin.on(t)
			logins := admin.auditEvents("action=session.login&actor=ui-publisher")
			if len(logins) != 1 || logins[0].Outcome != "success" || !strings.HasPrefix(logins[0].Resource, "sessions/") {
				t.Fatalf("session.login events %+v", logins)
			}
			var d struct {
				Source  string `json:"source"`
				TokenID string `json:"token_id"`
			}
			if err := json.Unmarshal(logins[0].Details, &d); err != nil || d.Source != "token" || d.TokenID != tokenID {
				t.Errorf("details %s", logins[0].Details)
			}
			if strings.Contains(logins[0].Resource, b.cookie) {
				t.Error("the audit log names the cookie")
			}
		})

		t.Run("refused sign-ins", func(t *testing.T) {
			anon := admin.on(t).as("")
			seq := admin.on(t).headSeq()
			anon.expectError(anon.do("POST", "/api/v1/session", map[string]any{"token": "not-a-token"}), http.StatusUnauthorized, "unauthenticated", "malformed token")
			// A page of another site cannot sign the browser in.
			anon.expectError(anon.do("POST", "/api/v1/session", map[string]any{"token": token}, "Origin", "https://evil.example"), http.StatusForbidden, "csrf_failed", "another origin")
			anon.expectError(anon.do("POST", "/api/v1/session", map[string]any{}), http.StatusBadRequest, "invalid_argument", "token")
			events := admin.on(t).eventsAfter(seq, "outcome=denied")
			var actions []string
			for _, ev := range events {
				actions = append(actions, ev.Action)
			}
			if !slices.Equal(actions, []string{"access.denied", "session.login"}) { // newest first
				t.Errorf("denied events %v", actions)
			}
			// A request with a token has no session to show.
			admin.on(t).expectError(admin.do("GET", "/api/v1/session", nil), http.StatusUnauthorized, "unauthenticated", "not made with a session cookie")
		})

		t.Run("sign-out", func(t *testing.T) {
			b := b.on(t)
			resp := b.change("DELETE", "/api/v1/session", nil)
			c := sessionCookieOf(t, resp)
			b.e.expect(resp, http.StatusNoContent, nil)
			if c == nil || c.Value != "" || c.MaxAge >= 0 || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("sign-out cookie %v, want it cleared", c)
			}
			b.e.expectError(b.do("GET", "/api/v1/session", nil), http.StatusUnauthorized, "unauthenticated", "signed out")
			b.e.expectError(b.change("POST", "/api/v1/models", map[string]any{"name": "fraud-c"}), http.StatusUnauthorized, "unauthenticated", "signed out")
			if out := admin.on(t).auditEvents("action=session.logout&actor=ui-publisher"); len(out) != 1 {
				t.Errorf("session.logout events %+v", out)
			}
			// The token itself lives on.
			admin.as(token).on(t).expect(admin.as(token).do("GET", "/api/v1/models/fraud-a", nil), http.StatusOK, nil)
		})
	})
}

// TestSessionDiesWithToken: revoking the token ends every session made
// from it, at once.
func TestSessionDiesWithToken(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		id, token := admin.issueWithID("ui-auditor", []string{modelkeep.RoleAuditor})
		b, other := admin.login(token), admin.login(token)
		b.e.expect(b.do("GET", "/api/v1/audit/verify", nil), http.StatusOK, nil)
		admin.expect(admin.do("DELETE", "/api/v1/tokens/"+id, nil), http.StatusNoContent, nil)
		for _, s := range []*browser{b, other} {
			s.e.expectError(s.do("GET", "/api/v1/session", nil), http.StatusUnauthorized, "unauthenticated", "token was revoked")
		}
		admin.as("").expectError(admin.as("").do("POST", "/api/v1/session", map[string]any{"token": token}), http.StatusUnauthorized, "unauthenticated", "revoked")
	})
}

// testClock is a settable clock for the sessions of one server.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestSessionExpiry: a session ends after the idle timeout without a
// request, at its absolute expiry despite requests, and with its token's
// expiry; the sweep removes ended sessions.
func TestSessionExpiry(t *testing.T) {
	forEachBackendStores(t, func(t *testing.T, database, blobs string) {
		clock := &testClock{t: time.Now()}
		admin := startEnvWith(t, database, blobs, func(c *server.Config) { server.SetSessionClock(c, clock.Now) },
			"--session-idle-timeout", "10m", "--session-max-age", "1h")
		token := admin.issue("ui-deployer", []string{modelkeep.RoleDeployer})

		idle := admin.login(token)
		active := admin.login(token)
		if d := active.info.ExpiresAt.Sub(active.info.CreatedAt); d != time.Hour {
			t.Fatalf("absolute lifetime %s, want the configured 1h", d)
		}
		// A token that ends sooner ends its session sooner.
		rec, shortToken, err := admin.srv.IssueToken(t.Context(), modelkeep.TokenInput{Subject: "short", Roles: []string{modelkeep.RoleAuditor}, TTL: 20 * time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		watch.secret(shortToken)
		short := admin.login(shortToken)
		if !short.info.ExpiresAt.Equal(rec.ExpiresAt) {
			t.Fatalf("a session of a 20m token ends at %s, the token at %s", short.info.ExpiresAt, rec.ExpiresAt)
		}

		for i := range 5 { // 5 × 9m = 45m: each request keeps the session alive
			clock.Advance(9 * time.Minute)
			var got sessionInfo
			active.e.expect(active.do("GET", "/api/v1/session", nil), http.StatusOK, &got)
			if want := clock.Now().Add(10 * time.Minute); !got.IdleExpiresAt.Equal(want.UTC().Truncate(time.Microsecond)) {
				t.Fatalf("request %d: idle expiry %s, want %s", i, got.IdleExpiresAt, want)
			}
			if i < 2 {
				short.e.expect(short.do("GET", "/api/v1/session", nil), http.StatusOK, nil)
			}
		}
		idle.e.expectError(idle.do("GET", "/api/v1/session", nil), http.StatusUnauthorized, "unauthenticated", "after inactivity")
		short.e.expectError(short.do("GET", "/api/v1/session", nil), http.StatusUnauthorized, "unauthenticated", "expired")
		clock.Advance(9 * time.Minute) // 54m
		active.e.expect(active.do("GET", "/api/v1/deployments", nil), http.StatusOK, nil)
		clock.Advance(6 * time.Minute) // 60m: the absolute end, though active
		active.e.expectError(active.do("GET", "/api/v1/session", nil), http.StatusUnauthorized, "unauthenticated", "session expired")

		// The sweep removes what ended over a minute ago: the idle and the
		// short session now, the active one a little later.
		if n, err := admin.srv.SweepSessions(t.Context()); err != nil || n != 2 {
			t.Fatalf("sweep removed %d (%v), want 2", n, err)
		}
		clock.Advance(2 * time.Minute)
		if n, err := admin.srv.SweepSessions(t.Context()); err != nil || n != 1 {
			t.Fatalf("second sweep removed %d (%v), want 1", n, err)
		}
	})
}

// TestSessionSecureCookie: under an https public URL the cookie is Secure
// and the public URL is the origin changes must come from; without one, a
// request over TLS gets a Secure cookie too.
func TestSessionSecureCookie(t *testing.T) {
	forEachBackendFlags(t, []string{"--public-url", "https://models.example"}, func(t *testing.T, admin *env) {
		b := admin.login(admin.token)
		resp := admin.as("").do("POST", "/api/v1/session", map[string]any{"token": admin.token})
		c := sessionCookieOf(t, resp)
		admin.expect(resp, http.StatusCreated, nil)
		if c == nil || !c.Secure {
			t.Fatalf("cookie %v under an https public URL, want Secure", c)
		}
		b.e.expectError(b.change("POST", "/api/v1/models", map[string]any{"name": "m"}, "Origin", b.e.http.URL), http.StatusForbidden, "csrf_failed", "another origin")
		b.e.expect(b.change("POST", "/api/v1/models", map[string]any{"name": "m"}, "Origin", "https://models.example"), http.StatusCreated, nil)
	})

	dir := t.TempDir()
	e := startEnv(t, "sqlite:"+dir+"/mk.db", "file:"+dir+"/blobs")
	tlsServer := httptest.NewTLSServer(e.srv.Handler())
	defer tlsServer.Close()
	resp, err := tlsServer.Client().Post(tlsServer.URL+"/api/v1/session", "application/json", strings.NewReader(`{"token":"`+e.token+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if c := sessionCookieOf(t, resp); resp.StatusCode != http.StatusCreated || c == nil || !c.Secure {
		t.Fatalf("over TLS: %d, cookie %v, want Secure", resp.StatusCode, c)
	}
	plain := e.as("").do("POST", "/api/v1/session", map[string]any{"token": e.token})
	if c := sessionCookieOf(t, plain); c == nil || c.Secure {
		t.Errorf("over plain http without a public URL: cookie %v, want not Secure", c)
	}
	e.expect(plain, http.StatusCreated, nil)
}
