package websession

import (
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

// return_to must keep the browser on this server, under /ui/.
func TestCheckReturnTo(t *testing.T) {
	tests := []struct {
		in, want string // want "" means refused
	}{
		{"", "/ui/"},
		{"/ui/", "/ui/"},
		{"/ui/models/fraud-detector?tab=versions#v3", "/ui/models/fraud-detector?tab=versions#v3"},
		{"/ui/#/audit", "/ui/#/audit"},
		{"/ui", ""},
		{"/", ""},
		{"/api/v1/tokens", ""},
		{"https://evil.example/ui/", ""},
		{"//evil.example/ui/", ""},
		{"/\\evil.example", ""},
		{"/ui/\\..\\..\\evil", ""},
		{"/ui/../api/v1/session", ""},
		{"/ui/%2e%2e/%2e%2e/evil", ""},
		{"/ui/\t/x", ""},
		{"/ui/\n", ""},
		{"javascript:alert(1)", ""},
		{"ui/", ""},
		{"/ui/" + strings.Repeat("a", 2048), ""},
	}
	for _, tt := range tests {
		got, err := checkReturnTo(tt.in)
		switch {
		case tt.want == "" && (err == nil || !errors.Is(err, modelkeep.ErrInvalid)):
			t.Errorf("checkReturnTo(%q) = %q, %v; want a 400", tt.in, got, err)
		case tt.want != "" && (err != nil || got != tt.want):
			t.Errorf("checkReturnTo(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// beginOIDC starts a sign-in and returns the authorization URL's query and
// the stored sign-in.
func beginOIDC(t *testing.T, f *fixture, returnTo string) (url.Values, string, OIDCLogin) {
	t.Helper()
	authURL, state, err := f.svc.BeginOIDC(t.Context(), returnTo)
	if err != nil {
		t.Fatalf("BeginOIDC: %v", err)
	}
	u, err := url.Parse(authURL)
	if err != nil {
		t.Fatal(err)
	}
	login, ok := f.store.logins[hashValue(state)]
	if !ok {
		t.Fatal("the sign-in is not stored under the hash of its state")
	}
	return u.Query(), state, login
}

func TestBeginOIDC(t *testing.T) {
	f := newFixture(t, nil)
	q, state, login := beginOIDC(t, f, "/ui/models")
	want := map[string]string{
		"tenant": "t1", "response_type": "code", "client_id": "modelkeep-ui",
		"redirect_uri": "https://mk.example/api/v1/session/oidc/callback", "scope": "openid",
		"state": state, "nonce": login.Nonce, "code_challenge": pkceChallenge(login.CodeVerifier),
		"code_challenge_method": "S256",
	}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if q.Get("code_challenge") == login.CodeVerifier || strings.Contains(q.Encode(), login.CodeVerifier) {
		t.Error("the verifier itself left the server")
	}
	if login.ReturnTo != "/ui/models" || !login.ExpiresAt.Equal(t0.Add(10*time.Minute)) {
		t.Errorf("login %+v", login)
	}
	if _, _, err := f.svc.BeginOIDC(t.Context(), "https://evil.example/"); !errors.Is(err, modelkeep.ErrInvalid) {
		t.Errorf("an open redirect: %v", err)
	}
	off := newFixture(t, func(o *Options) { o.OIDC = nil })
	if _, _, err := off.svc.BeginOIDC(t.Context(), ""); !errors.Is(err, modelkeep.ErrNotFound) {
		t.Errorf("without OIDC: %v", err)
	}
	f.idp.err = modelkeep.Errorf(modelkeep.ErrUnavailable, "identity provider down")
	if _, _, err := f.svc.BeginOIDC(t.Context(), ""); !errors.Is(err, modelkeep.ErrUnavailable) {
		t.Errorf("with the provider down: %v", err)
	}
}

func TestCompleteOIDC(t *testing.T) {
	alice := modelkeep.Actor{Subject: "oidc:alice", Roles: []string{modelkeep.RoleAuditor}}
	tests := []struct {
		name string
		// prepare gets the sign-in's state and stored login, grants codes
		// and returns the callback.
		prepare func(f *fixture, state string, l OIDCLogin) Callback
		code    string // the LoginError's code; "" for success
	}{
		{"success", func(f *fixture, state string, l OIDCLogin) Callback {
			f.idp.grant("c1", l.CodeVerifier, Identity{Actor: alice, Nonce: l.Nonce})
			return Callback{State: state, Code: "c1", BrowserState: state}
		}, ""},
		{"no state", func(f *fixture, state string, l OIDCLogin) Callback {
			return Callback{Code: "c1", BrowserState: state}
		}, CodeInvalidRequest},
		{"another browser's state", func(f *fixture, state string, l OIDCLogin) Callback {
			other, _ := randomValue()
			return Callback{State: state, Code: "c1", BrowserState: other}
		}, CodeStateMismatch},
		{"no browser state", func(f *fixture, state string, l OIDCLogin) Callback {
			return Callback{State: state, Code: "c1"}
		}, CodeStateMismatch},
		{"forged state", func(f *fixture, state string, l OIDCLogin) Callback {
			forged, _ := randomValue()
			return Callback{State: forged, Code: "c1", BrowserState: forged}
		}, CodeStateUnknown},
		{"replayed state", func(f *fixture, state string, l OIDCLogin) Callback {
			f.idp.grant("c1", l.CodeVerifier, Identity{Actor: alice, Nonce: l.Nonce})
			if _, _, _, err := f.svc.CompleteOIDC(t.Context(), Callback{State: state, Code: "c1", BrowserState: state}); err != nil {
				t.Fatal(err)
			}
			f.idp.grant("c2", l.CodeVerifier, Identity{Actor: alice, Nonce: l.Nonce})
			return Callback{State: state, Code: "c2", BrowserState: state}
		}, CodeStateUnknown},
		{"too slow", func(f *fixture, state string, l OIDCLogin) Callback {
			f.idp.grant("c1", l.CodeVerifier, Identity{Actor: alice, Nonce: l.Nonce})
			f.clock.Advance(10 * time.Minute)
			return Callback{State: state, Code: "c1", BrowserState: state}
		}, CodeStateUnknown},
		{"provider error", func(f *fixture, state string, l OIDCLogin) Callback {
			return Callback{State: state, Error: "access_denied", BrowserState: state}
		}, CodeIdPError},
		{"no code", func(f *fixture, state string, l OIDCLogin) Callback {
			return Callback{State: state, BrowserState: state}
		}, CodeInvalidRequest},
		{"code refused", func(f *fixture, state string, l OIDCLogin) Callback {
			return Callback{State: state, Code: "unknown", BrowserState: state}
		}, CodeTokenRejected},
		{"wrong verifier", func(f *fixture, state string, l OIDCLogin) Callback {
			other, _ := randomValue()
			f.idp.grant("c1", other, Identity{Actor: alice, Nonce: l.Nonce})
			return Callback{State: state, Code: "c1", BrowserState: state}
		}, CodeTokenRejected},
		{"another sign-in's nonce", func(f *fixture, state string, l OIDCLogin) Callback {
			f.idp.grant("c1", l.CodeVerifier, Identity{Actor: alice, Nonce: "n-of-another-sign-in"})
			return Callback{State: state, Code: "c1", BrowserState: state}
		}, CodeNonceMismatch},
		{"no nonce", func(f *fixture, state string, l OIDCLogin) Callback {
			f.idp.grant("c1", l.CodeVerifier, Identity{Actor: alice})
			return Callback{State: state, Code: "c1", BrowserState: state}
		}, CodeNonceMismatch},
		{"no roles", func(f *fixture, state string, l OIDCLogin) Callback {
			f.idp.grant("c1", l.CodeVerifier, Identity{Actor: modelkeep.Actor{Subject: "oidc:bob"}, Nonce: l.Nonce})
			return Callback{State: state, Code: "c1", BrowserState: state}
		}, CodeNoRoles},
		{"provider down", func(f *fixture, state string, l OIDCLogin) Callback {
			f.idp.err = modelkeep.Errorf(modelkeep.ErrUnavailable, "identity provider down")
			return Callback{State: state, Code: "c1", BrowserState: state}
		}, CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, nil)
			_, state, login := beginOIDC(t, f, "/ui/audit")
			cb := tt.prepare(f, state, login)
			before := len(f.store.sessions)
			sess, cookie, returnTo, err := f.svc.CompleteOIDC(t.Context(), cb)
			if tt.code == "" {
				if err != nil {
					t.Fatalf("CompleteOIDC: %v", err)
				}
				if sess.Subject != "oidc:alice" || sess.Source != SourceOIDC || sess.TokenID != "" || returnTo != "/ui/audit" || hashValue(cookie) != sess.ID {
					t.Errorf("session %+v, return to %q", sess, returnTo)
				}
				if !sess.ExpiresAt.Equal(f.clock.Now().Add(DefaultMaxAge)) {
					t.Errorf("expires %s", sess.ExpiresAt)
				}
				if got := f.events(); !slices.Equal(got, []string{"success session.login oidc:alice"}) {
					t.Errorf("events %q", got)
				}
				return
			}
			var le *LoginError
			if !errors.As(err, &le) || le.Code != tt.code {
				t.Fatalf("CompleteOIDC: %v, want code %s", err, tt.code)
			}
			if modelkeep.KindOf(err) == nil {
				t.Errorf("error %v has no kind", err)
			}
			if len(f.store.sessions) != before {
				t.Error("a failed sign-in made a session")
			}
			if got := f.events(); tt.code != CodeUnavailable && (len(got) == 0 || !strings.HasPrefix(got[len(got)-1], "denied session.login")) {
				t.Errorf("the refusal is not recorded: %q", got)
			}
		})
	}
}
