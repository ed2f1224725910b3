package server_test

import (
	"crypto/rand"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelkeep/modelkeep/api"
)

// testPublicURL is the public URL of the servers of the OIDC tests: the
// identity provider sends the browser back there, and the test (the
// browser) takes the path and query of that redirect to its test server.
const testPublicURL = "http://modelkeep.test"

// signIn is one sign-in at the identity provider, as a browser follows it.
type signIn struct {
	authURL *url.URL // where Modelkeep sent the browser
	state   string   // the mk_oidc_state cookie it set
}

// beginSignIn asks Modelkeep to sign in (GET .../oidc/login) and checks
// the redirect and the state cookie.
func (e *env) beginSignIn(returnTo string) signIn {
	e.t.Helper()
	anon := e.as("")
	resp := anon.do("GET", "/api/v1/session/oidc/login?return_to="+url.QueryEscape(returnTo), nil)
	var state *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "mk_oidc_state" {
			state = c
		}
	}
	loc := resp.Header.Get("Location")
	anon.expect(resp, http.StatusFound, nil)
	if state == nil || !state.HttpOnly || state.SameSite != http.SameSiteLaxMode || state.Path != api.OIDCCallbackPath || state.MaxAge != 600 {
		e.t.Fatalf("state cookie %v: want HttpOnly, SameSite=Lax, the callback's path, 10 minutes", state)
	}
	u, err := url.Parse(loc)
	if err != nil {
		e.t.Fatal(err)
	}
	watch.secret(state.Value)
	return signIn{authURL: u, state: state.Value}
}

// atIdP follows the redirect to the identity provider, which signs its
// current user in at once, and returns the path and query on Modelkeep it
// sends the browser back to.
func (s signIn) atIdP(t *testing.T) string {
	t.Helper()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Get(s.authURL.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, testPublicURL+api.OIDCCallbackPath+"?") {
		t.Fatalf("identity provider answered %d, Location %q", resp.StatusCode, loc)
	}
	return strings.TrimPrefix(loc, testPublicURL)
}

// callback brings the browser back to Modelkeep with a state cookie ("" for
// none) and returns the response's Location and session cookie.
func (e *env) callback(path, stateCookie string) (string, *http.Cookie) {
	e.t.Helper()
	anon := e.as("")
	var headers []string
	if stateCookie != "" {
		headers = []string{"Cookie", "mk_oidc_state=" + stateCookie}
	}
	resp := anon.do("GET", path, nil, headers...)
	loc, c := resp.Header.Get("Location"), sessionCookieOf(e.t, resp)
	anon.expect(resp, http.StatusFound, nil)
	return loc, c
}

// replaceParam returns path with one query parameter set to v.
func replaceParam(t *testing.T, path, name, v string) string {
	t.Helper()
	u, err := url.Parse(path)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set(name, v)
	u.RawQuery = q.Encode()
	return u.String()
}

func loginError(code string) string { return "/ui/?login_error=" + code }

// TestSessionOIDC: the authorization-code flow with PKCE against a fake
// identity provider, and each way it must fail: the state of another
// browser, a forged or replayed state, an injected code (wrong verifier), a
// wrong nonce or audience, the provider's refusal, a user without roles,
// and return_to pointing anywhere but /ui/.
func TestSessionOIDC(t *testing.T) {
	p := newIDP(t)
	flags := []string{"--oidc-issuer", p.srv.URL, "--oidc-audience", "modelkeep-api",
		"--oidc-role-map", "ml-admins=admin,ml-auditors=auditor", "--oidc-client-id", "modelkeep-ui", "--public-url", testPublicURL}
	forEachBackendFlags(t, flags, func(t *testing.T, admin *env) {
		alice := idpUser{sub: "alice", groups: []string{"ml-auditors", "unrelated"}}
		p.set(alice, nil)
		anon := admin.as("")
		var status struct {
			Enabled  bool   `json:"enabled"`
			LoginURL string `json:"login_url"`
			Issuer   string `json:"issuer"`
		}
		anon.expect(anon.do("GET", "/api/v1/session/oidc", nil), http.StatusOK, &status)
		if !status.Enabled || status.LoginURL != "/api/v1/session/oidc/login" || status.Issuer != p.srv.URL {
			t.Fatalf("oidc status %+v", status)
		}

		t.Run("sign-in", func(t *testing.T) {
			admin := admin.on(t)
			s := admin.beginSignIn("/ui/audit?since=today#top")
			q := s.authURL.Query()
			if s.authURL.Host != strings.TrimPrefix(p.srv.URL, "http://") || s.authURL.Path != "/authorize" {
				t.Errorf("sent to %s", s.authURL)
			}
			for k, v := range map[string]string{"response_type": "code", "client_id": "modelkeep-ui", "scope": "openid",
				"redirect_uri": testPublicURL + api.OIDCCallbackPath, "code_challenge_method": "S256", "state": s.state} {
				if q.Get(k) != v {
					t.Errorf("%s = %q, want %q", k, q.Get(k), v)
				}
			}
			if len(q.Get("nonce")) < 40 || len(q.Get("code_challenge")) != 43 {
				t.Errorf("nonce %q, challenge %q", q.Get("nonce"), q.Get("code_challenge"))
			}
			back := s.atIdP(t)
			loc, c := admin.callback(back, s.state)
			if loc != "/ui/audit?since=today#top" || c == nil {
				t.Fatalf("signed in to %q with cookie %v", loc, c)
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.Secure {
				t.Errorf("session cookie %q", c.String())
			}
			b := &browser{e: admin.as(""), cookie: c.Value}
			b.e.expect(b.do("GET", "/api/v1/session", nil), http.StatusOK, &b.info)
			if b.info.Subject != "oidc:alice" || b.info.Source != "oidc" || !slices.Equal(b.info.Roles, []string{"auditor"}) || len(b.info.Models) != 0 {
				t.Errorf("session %+v", b.info)
			}
			b.e.expect(b.do("GET", "/api/v1/audit/verify", nil), http.StatusOK, nil)
			// An auditor changes nothing, CSRF token or not; the public URL
			// is the origin changes must come from.
			b.e.expectError(b.change("POST", "/api/v1/models", map[string]any{"name": "x"}, "Origin", testPublicURL), http.StatusForbidden, "forbidden", "")
			b.e.expectError(b.change("POST", "/api/v1/models", map[string]any{"name": "x"}, "Origin", b.e.http.URL), http.StatusForbidden, "csrf_failed", "another origin")
			logins := admin.auditEvents("action=session.login&actor=oidc:alice&outcome=success")
			if len(logins) != 1 || !strings.Contains(string(logins[0].Details), `"source":"oidc"`) {
				t.Errorf("session.login events %+v", logins)
			}

			// The state is used once.
			if loc, c := admin.callback(back, s.state); loc != loginError("state_unknown") || c != nil {
				t.Errorf("replayed callback: %q, cookie %v", loc, c)
			}
		})

		failures := []struct {
			name string
			// run takes the browser through a failing sign-in and returns
			// the callback's Location and cookie.
			run  func(t *testing.T, e *env) (string, *http.Cookie)
			want string
		}{
			{"another browser's state", func(t *testing.T, e *env) (string, *http.Cookie) {
				mine, theirs := e.beginSignIn("/ui/"), e.beginSignIn("/ui/")
				back := mine.atIdP(t)
				loc, c := e.callback(back, theirs.state)
				// The state survives the attempt: its own browser still signs in.
				if ok, c2 := e.callback(back, mine.state); ok != "/ui/" || c2 == nil {
					t.Errorf("the rightful browser: %q %v", ok, c2)
				}
				return loc, c
			}, "state_mismatch"},
			{"no state cookie", func(t *testing.T, e *env) (string, *http.Cookie) {
				return e.callback(e.beginSignIn("/ui/").atIdP(t), "")
			}, "state_mismatch"},
			{"forged state", func(t *testing.T, e *env) (string, *http.Cookie) {
				forged := rand.Text() + rand.Text()[:17]
				return e.callback(api.OIDCCallbackPath+"?code=made-up&state="+forged, forged)
			}, "state_unknown"},
			{"injected code (another sign-in's, so the wrong verifier)", func(t *testing.T, e *env) (string, *http.Cookie) {
				attacker, victim := e.beginSignIn("/ui/"), e.beginSignIn("/ui/")
				attackerCode, _ := url.Parse(attacker.atIdP(t))
				victimBack := victim.atIdP(t)
				return e.callback(replaceParam(t, victimBack, "code", attackerCode.Query().Get("code")), victim.state)
			}, "token_rejected"},
			{"wrong nonce", func(t *testing.T, e *env) (string, *http.Cookie) {
				p.set(alice, func(c jwt.MapClaims) { c["nonce"] = "nonce-of-another-sign-in" })
				defer p.set(alice, nil)
				s := e.beginSignIn("/ui/")
				return e.callback(s.atIdP(t), s.state)
			}, "nonce_mismatch"},
			{"ID token for another client", func(t *testing.T, e *env) (string, *http.Cookie) {
				p.set(alice, func(c jwt.MapClaims) { c["aud"] = "another-client" })
				defer p.set(alice, nil)
				s := e.beginSignIn("/ui/")
				return e.callback(s.atIdP(t), s.state)
			}, "token_rejected"},
			{"the provider refused", func(t *testing.T, e *env) (string, *http.Cookie) {
				s := e.beginSignIn("/ui/")
				return e.callback(api.OIDCCallbackPath+"?error=access_denied&state="+s.state, s.state)
			}, "idp_error"},
			{"no code", func(t *testing.T, e *env) (string, *http.Cookie) {
				s := e.beginSignIn("/ui/")
				return e.callback(api.OIDCCallbackPath+"?state="+s.state, s.state)
			}, "invalid_request"},
			{"a user without roles", func(t *testing.T, e *env) (string, *http.Cookie) {
				p.set(idpUser{sub: "mallory", groups: []string{"marketing"}}, nil)
				defer p.set(alice, nil)
				s := e.beginSignIn("/ui/")
				return e.callback(s.atIdP(t), s.state)
			}, "no_roles"},
		}
		for _, f := range failures {
			t.Run(f.name, func(t *testing.T) {
				e := admin.on(t)
				seq := e.headSeq()
				loc, c := f.run(t, e)
				if loc != loginError(f.want) || c != nil {
					t.Errorf("callback: %q with cookie %v, want %q and none", loc, c, loginError(f.want))
				}
				denied := e.eventsAfter(seq, "action=session.login&outcome=denied")
				reason := f.want
				if f.want == "no_roles" {
					reason = "has no Modelkeep role"
				}
				if len(denied) == 0 || !strings.Contains(string(denied[0].Details), reason) {
					t.Errorf("refusal not recorded: %+v", denied)
				}
			})
		}

		t.Run("return_to stays under /ui/", func(t *testing.T) {
			anon := anon.on(t)
			for _, to := range []string{"https://evil.example/ui/", "//evil.example/ui/", "/\\evil.example", "/ui/../api/v1/tokens",
				"/ui/%2e%2e/evil", "/api/v1/models", "javascript:alert(1)"} {
				anon.expectError(anon.do("GET", "/api/v1/session/oidc/login?return_to="+url.QueryEscape(to), nil),
					http.StatusBadRequest, "invalid_argument", "return_to")
			}
		})
	})
}

// TestSessionOIDCConfidentialClient: with a client secret, the code is
// redeemed with HTTP Basic client authentication.
func TestSessionOIDCConfidentialClient(t *testing.T) {
	p := newIDP(t)
	p.secret = "s3cret/with+odd=chars"
	p.set(idpUser{sub: "bob", groups: []string{"ml-admins"}}, nil)
	dir := t.TempDir()
	e := startEnv(t, "sqlite:"+dir+"/mk.db", "file:"+dir+"/blobs",
		"--oidc-issuer", p.srv.URL, "--oidc-audience", "modelkeep-api", "--oidc-role-map", "ml-admins=admin",
		"--oidc-client-id", "modelkeep-ui", "--oidc-client-secret", p.secret, "--public-url", testPublicURL)
	s := e.beginSignIn("")
	if loc, c := e.callback(s.atIdP(t), s.state); loc != "/ui/" || c == nil {
		t.Fatalf("callback: %q, cookie %v", loc, c)
	}
}

// TestSessionOIDCOff: without a client id the UI is told there is no
// identity provider sign-in, and its routes say so.
func TestSessionOIDCOff(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		anon := e.as("")
		var status struct {
			Enabled  bool    `json:"enabled"`
			LoginURL *string `json:"login_url"`
		}
		anon.expect(anon.do("GET", "/api/v1/session/oidc", nil), http.StatusOK, &status)
		if status.Enabled || status.LoginURL != nil {
			t.Errorf("oidc status %+v", status)
		}
		anon.expectError(anon.do("GET", "/api/v1/session/oidc/login", nil), http.StatusNotFound, "not_found", "not configured")
		if loc, c := e.callback(api.OIDCCallbackPath+"?code=c&state=s", "s"); loc != loginError("not_configured") || c != nil {
			t.Errorf("callback: %q %v", loc, c)
		}
	})
}
