package server_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// idp is a minimal OpenID Connect identity provider: discovery, a JWKS with
// one RSA key, RS256 tokens, and the authorization-code flow with PKCE: an
// authorization endpoint that signs in user at once and a token endpoint
// that checks the code verifier.
type idp struct {
	srv *httptest.Server
	key *rsa.PrivateKey
	kid string

	mu    sync.Mutex
	user  idpUser
	codes map[string]idpGrant
	// tamper, when set, changes the claims of the next ID tokens.
	tamper func(jwt.MapClaims)
	// secret, when set, is the client secret the token endpoint requires
	// (client_secret_basic).
	secret string
}

// idpUser is who the authorization endpoint signs in.
type idpUser struct {
	sub    string
	groups []string
}

// idpGrant is an issued authorization code and what it was issued for.
type idpGrant struct {
	clientID, redirectURI, challenge, nonce string
	user                                    idpUser
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
		json.NewEncoder(w).Encode(map[string]string{"issuer": p.srv.URL, "jwks_uri": p.srv.URL + "/jwks",
			"authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token"})
	})
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.token)
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

// authorize approves every well-formed request at once: it issues a code
// for the current user and sends the browser back with it and the state.
func (p *idp) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
		q.Get("client_id") == "" || q.Get("nonce") == "" || q.Get("state") == "" || !strings.Contains(" "+q.Get("scope")+" ", " openid ") {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	code := rand.Text()
	p.mu.Lock()
	if p.codes == nil {
		p.codes = map[string]idpGrant{}
	}
	p.codes[code] = idpGrant{clientID: q.Get("client_id"), redirectURI: q.Get("redirect_uri"),
		challenge: q.Get("code_challenge"), nonce: q.Get("nonce"), user: p.user}
	p.mu.Unlock()
	back := url.Values{"code": {code}, "state": {q.Get("state")}}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

// token redeems a code once, for its client and redirect URI, with the
// verifier whose S256 challenge the authorization request carried; the
// answer's ID token names the user, the nonce and the client as audience.
func (p *idp) token(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"error": code})
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "authorization_code" {
		fail(http.StatusBadRequest, "invalid_request")
		return
	}
	f := r.PostForm
	p.mu.Lock()
	g, ok := p.codes[f.Get("code")]
	delete(p.codes, f.Get("code"))
	tamper, secret := p.tamper, p.secret
	p.mu.Unlock()
	clientID := f.Get("client_id")
	if secret != "" {
		user, pass, basic := r.BasicAuth()
		if !basic || pass != url.QueryEscape(secret) {
			fail(http.StatusUnauthorized, "invalid_client")
			return
		}
		clientID, _ = url.QueryUnescape(user)
	}
	sum := sha256.Sum256([]byte(f.Get("code_verifier")))
	switch {
	case !ok, g.clientID != clientID, g.redirectURI != f.Get("redirect_uri"),
		base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge:
		fail(http.StatusBadRequest, "invalid_grant")
		return
	}
	now := time.Now()
	claims := jwt.MapClaims{"iss": p.srv.URL, "aud": g.clientID, "sub": g.user.sub, "groups": g.user.groups,
		"nonce": g.nonce, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()}
	if tamper != nil {
		tamper(claims)
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
	tok.Header["kid"] = p.kid
	signed, err := tok.SignedString(p.key)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]string{"id_token": signed, "access_token": rand.Text(), "token_type": "Bearer"})
}

func (p *idp) set(u idpUser, tamper func(jwt.MapClaims)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.user, p.tamper = u, tamper
}

func (p *idp) signToken(t *testing.T, claims jwt.MapClaims) string {
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
	auditor := e.as(p.signToken(t, claims("modelkeep-prod", "ml-auditors", "unrelated")))
	auditor.expect(auditor.do("GET", "/api/v1/models/m", nil), http.StatusOK, nil)
	auditor.expectError(auditor.do("POST", "/api/v1/models", map[string]any{"name": "x"}), http.StatusForbidden, "forbidden", "")

	admin := e.as(p.signToken(t, claims("modelkeep-prod", "ml-admins")))
	var m struct {
		CreatedBy string `json:"created_by"`
	}
	admin.expect(admin.do("POST", "/api/v1/models", map[string]any{"name": "by-alice"}), http.StatusCreated, &m)
	if m.CreatedBy != "oidc:alice" {
		t.Fatalf("created_by = %q", m.CreatedBy)
	}
	nobody := e.as(p.signToken(t, claims("modelkeep-prod", "marketing")))
	nobody.expectError(nobody.do("GET", "/api/v1/models/m", nil), http.StatusForbidden, "forbidden", "")
	wrongAud := e.as(p.signToken(t, claims("another-app", "ml-admins")))
	wrongAud.expectError(wrongAud.do("GET", "/api/v1/models/m", nil), http.StatusUnauthorized, "unauthenticated", "")
	// Local tokens keep working beside the provider's.
	e.expect(e.do("GET", "/api/v1/models/m", nil), http.StatusOK, nil)
}
