package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// idp is a minimal OpenID Connect identity provider: discovery, a JWKS with
// one RSA key, and RS256 tokens.
type idp struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	kid string
}

func newIDP(t *testing.T) *idp {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{key: key, kid: "idp-key-1"}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/jwks"})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		b64 := base64.RawURLEncoding.EncodeToString
		json.NewEncoder(w).Encode(map[string]any{"keys": []map[string]string{{
			"kty": "RSA", "kid": p.kid, "alg": "RS256", "use": "sig",
			"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
		}}})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func (p *idp) token(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = p.kid
	s, err := tok.SignedString(p.key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestOIDC: with an identity provider configured, its users come in with
// their own tokens; their groups map to roles; other tokens of the provider
// (wrong audience) are refused.
func TestOIDC(t *testing.T) {
	p := newIDP(t)
	dir := t.TempDir()
	e := startEnv(t, "sqlite:"+dir+"/mk.db", "file:"+dir+"/blobs",
		"--oidc-issuer", p.srv.URL, "--oidc-audience", "modelkeep-prod",
		"--oidc-role-map", "ml-admins=admin,ml-auditors=auditor")
	e.mustCreateModel("m")
	now := time.Now()
	claims := func(aud string, groups ...string) jwt.MapClaims {
		return jwt.MapClaims{"iss": p.srv.URL, "aud": aud, "sub": "alice", "groups": groups,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "idp-1"}
	}
	auditor := e.as(p.token(t, claims("modelkeep-prod", "ml-auditors", "unrelated")))
	auditor.expect(auditor.do("GET", "/api/v1/models/m", nil), http.StatusOK, nil)
	auditor.expectError(auditor.do("POST", "/api/v1/models", map[string]any{"name": "x"}), http.StatusForbidden, "forbidden", "")

	admin := e.as(p.token(t, claims("modelkeep-prod", "ml-admins")))
	var m struct {
		CreatedBy string `json:"created_by"`
	}
	admin.expect(admin.do("POST", "/api/v1/models", map[string]any{"name": "by-alice"}), http.StatusCreated, &m)
	if m.CreatedBy != "oidc:alice" {
		t.Fatalf("created_by = %q", m.CreatedBy)
	}
	nobody := e.as(p.token(t, claims("modelkeep-prod", "marketing")))
	nobody.expectError(nobody.do("GET", "/api/v1/models/m", nil), http.StatusForbidden, "forbidden", "")
	wrongAud := e.as(p.token(t, claims("another-app", "ml-admins")))
	wrongAud.expectError(wrongAud.do("GET", "/api/v1/models/m", nil), http.StatusUnauthorized, "unauthenticated", "")
	// Local tokens keep working beside the provider's.
	e.expect(e.do("GET", "/api/v1/models/m", nil), http.StatusOK, nil)
}
