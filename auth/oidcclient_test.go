package auth

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelkeep/modelkeep"
)

const testClientID = "modelkeep-ui"

// tokenRequest is what the fake token endpoint saw.
type tokenRequest struct {
	form         map[string]string
	user, secret string
	basic        bool
}

// tokenEndpoint answers the exchange with status and body, recording the
// request into seen.
func tokenEndpoint(seen *tokenRequest, status int, body map[string]any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		seen.form = map[string]string{}
		for k := range r.PostForm {
			seen.form[k] = r.PostForm.Get(k)
		}
		seen.user, seen.secret, seen.basic = r.BasicAuth()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		writeJSON(w, body)
	}
}

func TestOIDCClientRedeem(t *testing.T) {
	tests := []struct {
		name   string
		secret string
		// methods is the discovery's token_endpoint_auth_methods_supported.
		methods []string
		status  int
		// claims changes the ID token's claims; nil body means the token
		// endpoint answers body instead.
		claims  func(c jwt.MapClaims)
		body    map[string]any
		wantErr error
		wantMsg string
		// check looks at the token request.
		check func(t *testing.T, r tokenRequest)
	}{
		{name: "public client", status: 200, check: func(t *testing.T, r tokenRequest) {
			want := map[string]string{"grant_type": "authorization_code", "code": "the-code", "code_verifier": "the-verifier",
				"redirect_uri": "https://mk.example/api/v1/session/oidc/callback", "client_id": testClientID}
			for k, v := range want {
				if r.form[k] != v {
					t.Errorf("form %s = %q, want %q", k, r.form[k], v)
				}
			}
			if r.basic || r.form["client_secret"] != "" {
				t.Error("a public client sent a secret")
			}
		}},
		{name: "confidential client: basic", secret: "s3cret/+", status: 200, check: func(t *testing.T, r tokenRequest) {
			if !r.basic || r.user != testClientID || r.secret != "s3cret%2F%2B" || r.form["client_secret"] != "" {
				t.Errorf("basic %v user %q secret %q form %v", r.basic, r.user, r.secret, r.form)
			}
		}},
		{name: "confidential client: post when only post is offered", secret: "s3cret", methods: []string{"client_secret_post"}, status: 200,
			check: func(t *testing.T, r tokenRequest) {
				if r.basic || r.form["client_id"] != testClientID || r.form["client_secret"] != "s3cret" {
					t.Errorf("basic %v form %v", r.basic, r.form)
				}
			}},
		{name: "code refused", status: 400, body: map[string]any{"error": "invalid_grant"},
			wantErr: modelkeep.ErrUnauthenticated, wantMsg: "the identity provider refused the code (invalid_grant)"},
		{name: "odd error code is not echoed", status: 401, body: map[string]any{"error": "<script>"},
			wantErr: modelkeep.ErrUnauthenticated, wantMsg: "the identity provider refused the code (status 401)"},
		{name: "provider failing", status: 502, body: map[string]any{}, wantErr: modelkeep.ErrUnavailable},
		{name: "no id token", status: 200, body: map[string]any{"access_token": "x"},
			wantErr: modelkeep.ErrUnauthenticated, wantMsg: "the identity provider's token response has no id_token"},
		{name: "audience is the API's, not the client's", status: 200, claims: func(c jwt.MapClaims) { c["aud"] = testOIDCAudience },
			wantErr: modelkeep.ErrUnauthenticated, wantMsg: "invalid token audience"},
		{name: "several audiences without azp", status: 200, claims: func(c jwt.MapClaims) { c["aud"] = []string{testClientID, "other"} },
			wantErr: modelkeep.ErrUnauthenticated, wantMsg: "the ID token was issued to another client"},
		{name: "several audiences with azp", status: 200, claims: func(c jwt.MapClaims) {
			c["aud"], c["azp"] = []string{testClientID, "other"}, testClientID
		}},
		{name: "expired", status: 200, claims: func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Hour).Unix() },
			wantErr: modelkeep.ErrUnauthenticated, wantMsg: "token expired"},
		{name: "another issuer", status: 200, claims: func(c jwt.MapClaims) { c["iss"] = "https://evil.example" },
			wantErr: modelkeep.ErrUnauthenticated, wantMsg: "invalid token issuer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			e := newOIDCEnv(t, p, nil)
			e.clock.t = time.Now().UTC().Truncate(time.Second)
			c, err := e.v.OIDCClient(testClientID, tt.secret)
			if err != nil {
				t.Fatal(err)
			}
			claims := p.claims(e.clock, "alice", []any{"ml-ops"})
			claims["aud"], claims["nonce"] = testClientID, "n-1"
			if tt.claims != nil {
				tt.claims(claims)
			}
			body := tt.body
			if body == nil {
				body = map[string]any{"id_token": p.token(t, "k1", claims), "access_token": "at", "token_type": "Bearer"}
			}
			var seen tokenRequest
			p.mu.Lock()
			p.tokenHandler, p.authMethods = tokenEndpoint(&seen, tt.status, body), tt.methods
			p.mu.Unlock()

			got, err := c.Redeem(t.Context(), "the-code", "the-verifier", "https://mk.example/api/v1/session/oidc/callback")
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || (tt.wantMsg != "" && err.Error() != tt.wantMsg) {
					t.Fatalf("Redeem: %v, want %v %q", err, tt.wantErr, tt.wantMsg)
				}
				return
			}
			if err != nil {
				t.Fatalf("Redeem: %v", err)
			}
			if got.Subject != "oidc:alice" || got.Nonce != "n-1" || !slices.Equal(got.Roles, []string{"deployer", "auditor"}) {
				t.Errorf("id token %+v", got)
			}
			if tt.check != nil {
				tt.check(t, seen)
			}
		})
	}
}

func TestOIDCClientDiscovery(t *testing.T) {
	p := newIDP(t)
	e := newOIDCEnv(t, p, nil)
	if _, err := newEnv(t, testEdKey(t), nil).v.OIDCClient(testClientID, ""); !errors.Is(err, modelkeep.ErrInvalid) {
		t.Errorf("a client without an identity provider: %v", err)
	}
	if _, err := e.v.OIDCClient("", ""); !errors.Is(err, modelkeep.ErrInvalid) {
		t.Errorf("a client without a client id: %v", err)
	}
	c, err := e.v.OIDCClient(testClientID, "")
	if err != nil {
		t.Fatal(err)
	}
	p.setStatus(http.StatusServiceUnavailable)
	if _, err := c.AuthorizationEndpoint(t.Context()); !errors.Is(err, modelkeep.ErrUnavailable) {
		t.Fatalf("provider down: %v", err)
	}
	p.setStatus(0)
	got, err := c.AuthorizationEndpoint(t.Context())
	if err != nil || got != p.srv.URL+"/authorize" {
		t.Fatalf("AuthorizationEndpoint = %q, %v", got, err)
	}
	// Once known, the document outlives an outage.
	p.setStatus(http.StatusServiceUnavailable)
	e.clock.Advance(2 * time.Hour)
	if got, err := c.AuthorizationEndpoint(t.Context()); err != nil || !strings.HasSuffix(got, "/authorize") {
		t.Fatalf("during an outage: %q, %v", got, err)
	}
}
