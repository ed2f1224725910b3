package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelkeep/modelkeep"
)

// RSA key generation is slow; the tests share a few keys.
var testRSAKeys = sync.OnceValue(func() []*rsa.PrivateKey {
	keys := make([]*rsa.PrivateKey, 3)
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = k
	}
	return keys
})

const testOIDCAudience = "modelkeep-api"

// idp is an OpenID provider served by httptest: discovery, a JWKS that tests
// can change, and signing of RS256 (or ES256) tokens.
type idp struct {
	srv *httptest.Server

	mu        sync.Mutex
	keys      map[string]any // kid → *rsa.PrivateKey or *ecdsa.PrivateKey
	published []string       // kids in the JWKS
	jwkAlg    map[string]string
	status    int // when not 0, every response has this status
	discIss   string
	// tokenHandler answers POST /token (the authorization-code exchange)
	// when set.
	tokenHandler http.HandlerFunc
	// authMethods is the discovery's token_endpoint_auth_methods_supported.
	authMethods []string

	jwksHits atomic.Int32
}

func newIDP(t testing.TB) *idp {
	t.Helper()
	rsaKeys := testRSAKeys()
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	p := &idp{
		keys:      map[string]any{"k1": rsaKeys[0], "k2": rsaKeys[1], "ec1": ecKey},
		published: []string{"k1", "ec1"},
		jwkAlg:    map[string]string{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		status, iss, methods := p.status, p.discIss, p.authMethods
		p.mu.Unlock()
		if status != 0 {
			http.Error(w, "down", status)
			return
		}
		if iss == "" {
			iss = p.srv.URL
		}
		doc := map[string]any{"issuer": iss, "jwks_uri": p.srv.URL + "/jwks",
			"authorization_endpoint": p.srv.URL + "/authorize", "token_endpoint": p.srv.URL + "/token"}
		if methods != nil {
			doc["token_endpoint_auth_methods_supported"] = methods
		}
		writeJSON(w, doc)
	})
	mux.HandleFunc("POST /token", func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		h := p.tokenHandler
		p.mu.Unlock()
		if h == nil {
			http.NotFound(w, r)
			return
		}
		h(w, r)
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		p.jwksHits.Add(1)
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.status != 0 {
			http.Error(w, "down", p.status)
			return
		}
		var keys []map[string]any
		// Keys the verifier must skip without failing.
		keys = append(keys, map[string]any{"kty": "oct", "kid": "sym", "k": "c2VjcmV0"})
		keys = append(keys, map[string]any{"kty": "RSA", "kid": "enc", "use": "enc", "n": b64Int(rsaKeys[2].N), "e": "AQAB"})
		keys = append(keys, map[string]any{"kty": "RSA", "kid": "weak", "n": b64Int(big.NewInt(65537 * 3)), "e": "AQAB"})
		for _, kid := range p.published {
			keys = append(keys, publicJWKJSON(kid, p.keys[kid], p.jwkAlg[kid]))
		}
		writeJSON(w, map[string]any{"keys": keys})
	})
	p.srv = httptest.NewServer(mux)
	t.Cleanup(p.srv.Close)
	return p
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func b64Int(n *big.Int) string { return base64.RawURLEncoding.EncodeToString(n.Bytes()) }

func publicJWKJSON(kid string, key any, alg string) map[string]any {
	m := map[string]any{"kid": kid, "use": "sig"}
	switch k := key.(type) {
	case *rsa.PrivateKey:
		m["kty"], m["n"], m["e"] = "RSA", b64Int(k.N), b64Int(big.NewInt(int64(k.E)))
	case *ecdsa.PrivateKey:
		pt, _ := k.PublicKey.Bytes() // 0x04 || x || y
		m["kty"], m["crv"] = "EC", "P-256"
		m["x"] = base64.RawURLEncoding.EncodeToString(pt[1:33])
		m["y"] = base64.RawURLEncoding.EncodeToString(pt[33:])
	}
	if alg != "" {
		m["alg"] = alg
	}
	return m
}

func (p *idp) publish(kids ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.published = kids
}

func (p *idp) setStatus(status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status = status
}

func (p *idp) claims(c *clock, sub string, groups any) jwt.MapClaims {
	now := c.Now()
	m := jwt.MapClaims{
		"iss": p.srv.URL, "aud": testOIDCAudience, "sub": sub,
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(),
		"preferred_username": sub + "@example.com",
	}
	if groups != nil {
		m["groups"] = groups
	}
	return m
}

// token signs c with the key kid (RS256 or ES256 by its type).
func (p *idp) token(t testing.TB, kid string, c jwt.MapClaims) string {
	t.Helper()
	p.mu.Lock()
	key := p.keys[kid]
	p.mu.Unlock()
	method := jwt.SigningMethod(jwt.SigningMethodRS256)
	if _, ok := key.(*ecdsa.PrivateKey); ok {
		method = jwt.SigningMethodES256
	}
	return signRaw(t, method, key, map[string]any{"kid": kid}, c)
}

func newOIDCEnv(t testing.TB, p *idp, mod func(*OIDCConfig)) *env {
	t.Helper()
	roleMap, err := ParseRoleMap("ml-admins=admin,ml-approvers=approver,ml-ops=deployer,ml-ops=auditor")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &OIDCConfig{Issuer: p.srv.URL, Audience: testOIDCAudience, RoleMap: roleMap, HTTPClient: p.srv.Client()}
	if mod != nil {
		mod(cfg)
	}
	return newEnv(t, testEdKey(t), func(o *VerifierOptions) { o.OIDC = cfg })
}

func TestOIDCValid(t *testing.T) {
	tests := []struct {
		name      string
		mod       func(*OIDCConfig)
		kid       string
		groups    any
		wantSub   string
		wantRoles []string
	}{
		{"string group claim", nil, "k1", "ml-admins", "oidc:alice", []string{"admin"}},
		{"array group claim", nil, "k1", []string{"unrelated", "ml-ops", "ml-approvers"}, "oidc:alice", []string{"approver", "deployer", "auditor"}},
		{"no mapped group", nil, "k1", []string{"staff"}, "oidc:alice", nil},
		{"no group claim", nil, "k1", nil, "oidc:alice", nil},
		{"group claim of another type", nil, "k1", 42, "oidc:alice", nil},
		{"ES256 key", nil, "ec1", "ml-approvers", "oidc:alice", []string{"approver"}},
		{"custom claims", func(c *OIDCConfig) {
			c.SubjectClaim, c.RoleClaim = "preferred_username", "roles"
			c.RoleMap = map[string][]string{"ml-admins": {"publisher"}}
		}, "k1", nil, "oidc:alice@example.com", []string{"publisher"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			e := newOIDCEnv(t, p, tt.mod)
			c := p.claims(e.clock, "alice", tt.groups)
			c["roles"] = "ml-admins"
			actor, err := e.v.Authenticate(context.Background(), "Bearer "+p.token(t, tt.kid, c))
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if actor.Subject != tt.wantSub || !slices.Equal(actor.Roles, tt.wantRoles) || actor.TokenID != "" || actor.Models != nil {
				t.Fatalf("actor = %+v, want subject %q roles %v", actor, tt.wantSub, tt.wantRoles)
			}
			if e.store.lookups != 0 {
				t.Errorf("identity-provider token looked up in the tokens table")
			}
			// Modelkeep's own tokens still work beside the provider's.
			rec := e.record("tok-1", "ci-bot", modelkeep.RolePublisher)
			if _, err := e.v.Authenticate(context.Background(), "Bearer "+e.sign(t, rec)); err != nil {
				t.Fatalf("modelkeep token with oidc enabled: %v", err)
			}
		})
	}
}

func TestOIDCRejects(t *testing.T) {
	rsaKeys := testRSAKeys()
	edKey := testEdKey(t)
	edPriv, _ := edKey.Ed25519()
	tests := []struct {
		name   string
		header func(t *testing.T, p *idp, e *env) string
		msg    string
	}{
		{"wrong aud", func(t *testing.T, p *idp, e *env) string {
			c := p.claims(e.clock, "alice", "ml-admins")
			c["aud"] = "another-app"
			return "Bearer " + p.token(t, "k1", c)
		}, "invalid token audience"},
		{"wrong iss", func(t *testing.T, p *idp, e *env) string {
			c := p.claims(e.clock, "alice", "ml-admins")
			c["iss"] = p.srv.URL + "/evil"
			return "Bearer " + p.token(t, "k1", c)
		}, "signing algorithm not allowed"}, // judged as a Modelkeep token
		{"expired", func(t *testing.T, p *idp, e *env) string {
			c := p.claims(e.clock, "alice", "ml-admins")
			c["exp"] = e.clock.Now().Add(-time.Hour).Unix()
			return "Bearer " + p.token(t, "k1", c)
		}, "token expired"},
		{"nbf in the future", func(t *testing.T, p *idp, e *env) string {
			c := p.claims(e.clock, "alice", "ml-admins")
			c["nbf"] = e.clock.Now().Add(time.Hour).Unix()
			return "Bearer " + p.token(t, "k1", c)
		}, "token not valid yet"},
		{"missing exp", func(t *testing.T, p *idp, e *env) string {
			c := p.claims(e.clock, "alice", "ml-admins")
			delete(c, "exp")
			return "Bearer " + p.token(t, "k1", c)
		}, "token is missing a required claim (iss, aud or exp)"},
		{"missing sub", func(t *testing.T, p *idp, e *env) string {
			c := p.claims(e.clock, "alice", "ml-admins")
			delete(c, "sub")
			return "Bearer " + p.token(t, "k1", c)
		}, "token has no subject"},
		{"missing kid", func(t *testing.T, p *idp, e *env) string {
			return "Bearer " + signRaw(t, jwt.SigningMethodRS256, rsaKeys[0], nil, p.claims(e.clock, "alice", "ml-admins"))
		}, "token has no key id"},
		{"unknown kid", func(t *testing.T, p *idp, e *env) string {
			return "Bearer " + p.token(t, "k2", p.claims(e.clock, "alice", "ml-admins"))
		}, "unknown signing key"},
		{"wrong key behind a published kid", func(t *testing.T, p *idp, e *env) string {
			return "Bearer " + signRaw(t, jwt.SigningMethodRS256, rsaKeys[2], map[string]any{"kid": "k1"}, p.claims(e.clock, "alice", "ml-admins"))
		}, "invalid signature"},
		{"tampered payload", func(t *testing.T, p *idp, e *env) string {
			tok := p.token(t, "k1", p.claims(e.clock, "alice", "staff"))
			parts := strings.Split(tok, ".")
			return "Bearer " + parts[0] + "." + b64JSON(t, p.claims(e.clock, "alice", "ml-admins")) + "." + parts[2]
		}, "invalid signature"},
		{"alg none", func(t *testing.T, p *idp, e *env) string {
			return "Bearer " + signRaw(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, map[string]any{"kid": "k1"}, p.claims(e.clock, "alice", "ml-admins"))
		}, "signing algorithm not allowed"},
		{"HS256 signed with the provider's public key", func(t *testing.T, p *idp, e *env) string {
			der, _ := x509.MarshalPKIXPublicKey(&rsaKeys[0].PublicKey)
			pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			return "Bearer " + signRaw(t, jwt.SigningMethodHS256, pubPEM, map[string]any{"kid": "k1"}, p.claims(e.clock, "alice", "ml-admins"))
		}, "signing algorithm not allowed"},
		{"signed by Modelkeep's key claiming the provider's iss", func(t *testing.T, p *idp, e *env) string {
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, edPriv, map[string]any{"kid": edKey.ID()}, p.claims(e.clock, "alice", "ml-admins"))
		}, "signing algorithm not allowed"},
		{"signed by the provider claiming to be a Modelkeep token", func(t *testing.T, p *idp, e *env) string {
			rec := e.record("tok-1", "ci-bot", modelkeep.RoleAdmin)
			return "Bearer " + p.token(t, "k1", localClaims(rec))
		}, "signing algorithm not allowed"},
		{"provider-signed Modelkeep token with Modelkeep's kid", func(t *testing.T, p *idp, e *env) string {
			rec := e.record("tok-1", "ci-bot", modelkeep.RoleAdmin)
			return "Bearer " + signRaw(t, jwt.SigningMethodRS256, rsaKeys[0], map[string]any{"kid": edKey.ID()}, localClaims(rec))
		}, "signing algorithm not allowed"},
		{"ES256 token naming an RSA key", func(t *testing.T, p *idp, e *env) string {
			ec := p.keys["ec1"].(*ecdsa.PrivateKey)
			return "Bearer " + signRaw(t, jwt.SigningMethodES256, ec, map[string]any{"kid": "k1"}, p.claims(e.clock, "alice", "ml-admins"))
		}, "signing algorithm does not match the key"},
		{"RS384 token for an RS256 key", func(t *testing.T, p *idp, e *env) string {
			p.mu.Lock()
			p.jwkAlg["k1"] = "RS256"
			p.mu.Unlock()
			return "Bearer " + signRaw(t, jwt.SigningMethodRS384, rsaKeys[0], map[string]any{"kid": "k1"}, p.claims(e.clock, "alice", "ml-admins"))
		}, "signing algorithm does not match the key"},
		{"encryption key", func(t *testing.T, p *idp, e *env) string {
			return "Bearer " + signRaw(t, jwt.SigningMethodRS256, rsaKeys[2], map[string]any{"kid": "enc"}, p.claims(e.clock, "alice", "ml-admins"))
		}, "unknown signing key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			e := newOIDCEnv(t, p, nil)
			header := tt.header(t, p, e)
			actor, err := e.v.Authenticate(context.Background(), header)
			if err == nil {
				t.Fatalf("accepted, actor %+v", actor)
			}
			assertUnauthenticated(t, err, header, tt.msg)
		})
	}
}

// The provider rotates keys: a token with the new kid triggers exactly one
// refresh and verifies; a token naming the retired key then fails without
// another fetch.
func TestOIDCKeyRotation(t *testing.T) {
	p := newIDP(t)
	e := newOIDCEnv(t, p, nil)
	auth := func(kid string) error {
		_, err := e.v.Authenticate(context.Background(), "Bearer "+p.token(t, kid, p.claims(e.clock, "alice", "ml-admins")))
		return err
	}
	if err := auth("k1"); err != nil {
		t.Fatalf("k1 before rotation: %v", err)
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}
	e.clock.Advance(time.Minute)
	p.publish("k2")
	if err := auth("k2"); err != nil {
		t.Fatalf("k2 after rotation: %v", err)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want exactly one refresh (2)", n)
	}
	e.clock.Advance(time.Second)
	if err := auth("k1"); !errors.Is(err, modelkeep.ErrUnauthenticated) {
		t.Fatalf("retired k1: err = %v, want ErrUnauthenticated", err)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (refresh rate-limited)", n)
	}
}

func TestOIDCRefreshRateLimit(t *testing.T) {
	p := newIDP(t)
	e := newOIDCEnv(t, p, nil)
	unknown := func() error {
		_, err := e.v.Authenticate(context.Background(), "Bearer "+p.token(t, "k2", p.claims(e.clock, "alice", "ml-admins")))
		return err
	}
	for i := range 5 {
		if err := unknown(); !errors.Is(err, modelkeep.ErrUnauthenticated) {
			t.Fatalf("attempt %d: err = %v, want ErrUnauthenticated", i, err)
		}
		e.clock.Advance(time.Second)
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times within the interval, want 1", n)
	}
	e.clock.Advance(jwksMinInterval)
	if err := unknown(); !errors.Is(err, modelkeep.ErrUnauthenticated) {
		t.Fatalf("err = %v, want ErrUnauthenticated", err)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times after the interval, want 2", n)
	}
}

// Concurrent requests with an unknown kid share one fetch.
func TestOIDCRefreshSingleFlight(t *testing.T) {
	p := newIDP(t)
	e := newOIDCEnv(t, p, nil)
	var headers []string
	for i := range 32 {
		c := p.claims(e.clock, "user"+string(rune('a'+i)), "ml-admins")
		headers = append(headers, "Bearer "+p.token(t, "k1", c))
	}
	var wg sync.WaitGroup
	var failures atomic.Int32
	for _, h := range headers {
		wg.Go(func() {
			if _, err := e.v.Authenticate(context.Background(), h); err != nil {
				failures.Add(1)
			}
		})
	}
	wg.Wait()
	if n := failures.Load(); n != 0 {
		t.Fatalf("%d requests failed", n)
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Fatalf("JWKS fetched %d times, want 1", n)
	}
}

// A provider that cannot be reached is an outage (503), not a bad token.
func TestOIDCProviderDown(t *testing.T) {
	tests := []struct {
		name  string
		setup func(p *idp)
	}{
		{"server error", func(p *idp) { p.setStatus(http.StatusInternalServerError) }},
		{"discovery names another issuer", func(p *idp) { p.mu.Lock(); p.discIss = "https://elsewhere.example"; p.mu.Unlock() }},
		{"no usable keys", func(p *idp) { p.publish() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newIDP(t)
			e := newOIDCEnv(t, p, nil)
			tt.setup(p)
			header := "Bearer " + p.token(t, "k1", p.claims(e.clock, "alice", "ml-admins"))
			for i := range 3 { // the failure is remembered, not refetched per request
				_, err := e.v.Authenticate(context.Background(), header)
				if !errors.Is(err, modelkeep.ErrUnavailable) || errors.Is(err, modelkeep.ErrUnauthenticated) {
					t.Fatalf("attempt %d: err = %v, want ErrUnavailable only", i, err)
				}
				assertNoTokenIn(t, err.Error(), header)
			}
			if n := p.jwksHits.Load(); n > 1 {
				t.Fatalf("JWKS fetched %d times, want at most 1", n)
			}
			// Back up: after the interval the next request succeeds.
			p.mu.Lock()
			p.status, p.discIss, p.published = 0, "", []string{"k1"}
			p.mu.Unlock()
			e.clock.Advance(jwksMinInterval)
			if _, err := e.v.Authenticate(context.Background(), header); err != nil {
				t.Fatalf("after recovery: %v", err)
			}
		})
	}
}

// Known keys are refreshed after jwksMaxAge, and still used while the
// provider is down.
func TestOIDCMaxAge(t *testing.T) {
	p := newIDP(t)
	e := newOIDCEnv(t, p, nil)
	auth := func() error {
		_, err := e.v.Authenticate(context.Background(), "Bearer "+p.token(t, "k1", p.claims(e.clock, "alice", "ml-admins")))
		return err
	}
	if err := auth(); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(jwksMaxAge + time.Second)
	if err := auth(); err != nil {
		t.Fatal(err)
	}
	if n := p.jwksHits.Load(); n != 2 {
		t.Fatalf("JWKS fetched %d times, want a refresh after max age (2)", n)
	}
	p.setStatus(http.StatusServiceUnavailable)
	e.clock.Advance(jwksMaxAge + time.Second)
	if err := auth(); err != nil {
		t.Fatalf("known key while the provider is down: %v", err)
	}
	// A key retired at the provider stops working at the next refresh.
	p.setStatus(0)
	p.publish("k2")
	e.clock.Advance(jwksMaxAge + time.Second)
	if err := auth(); !errors.Is(err, modelkeep.ErrUnauthenticated) {
		t.Fatalf("retired key after max age: err = %v, want ErrUnauthenticated", err)
	}
}

func TestParseRoleMap(t *testing.T) {
	tests := []struct {
		in      string
		want    map[string][]string
		wantErr bool
	}{
		{"", map[string][]string{}, false},
		{"ml-admins=admin", map[string][]string{"ml-admins": {"admin"}}, false},
		{"ml-admins=admin,ml-approvers=approver,ml-ops=deployer", map[string][]string{"ml-admins": {"admin"}, "ml-approvers": {"approver"}, "ml-ops": {"deployer"}}, false},
		{" ml-ops = deployer , ml-ops=auditor,ml-ops=deployer, ", map[string][]string{"ml-ops": {"deployer", "auditor"}}, false},
		{"cn=ml,ou=groups=auditor", nil, true}, // "cn=ml" has no known role
		{"team=a=auditor", map[string][]string{"team=a": {"auditor"}}, false},
		{"ml-admins", nil, true},
		{"=admin", nil, true},
		{"ml-admins=root", nil, true},
		{"ml-admins=", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseRoleMap(tt.in)
			if tt.wantErr {
				if !errors.Is(err, modelkeep.ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if !slices.Equal(got[k], v) {
					t.Fatalf("got %v, want %v", got, tt.want)
				}
			}
		})
	}
}

func TestJWKParsing(t *testing.T) {
	rsaKey := testRSAKeys()[0]
	ecKey, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	pt, _ := ecKey.PublicKey.Bytes()
	x, y := base64.RawURLEncoding.EncodeToString(pt[1:49]), base64.RawURLEncoding.EncodeToString(pt[49:])
	tests := []struct {
		name    string
		jwk     jsonWebKey
		alg     string // must be allowed when the key parses
		wantErr bool
	}{
		{"rsa", jsonWebKey{Kty: "RSA", N: b64Int(rsaKey.N), E: "AQAB"}, "PS256", false},
		{"rsa padded base64", jsonWebKey{Kty: "RSA", N: base64.URLEncoding.EncodeToString(rsaKey.N.Bytes()), E: "AQAB"}, "RS512", false},
		{"rsa too short", jsonWebKey{Kty: "RSA", N: b64Int(big.NewInt(1).Lsh(big.NewInt(1), 1023)), E: "AQAB"}, "", true},
		{"rsa even exponent", jsonWebKey{Kty: "RSA", N: b64Int(rsaKey.N), E: "AAI"}, "", true},
		{"rsa huge exponent", jsonWebKey{Kty: "RSA", N: b64Int(rsaKey.N), E: "AQABAQAB"}, "", true},
		{"rsa bad base64", jsonWebKey{Kty: "RSA", N: "!!", E: "AQAB"}, "", true},
		{"ec p-384", jsonWebKey{Kty: "EC", Crv: "P-384", X: x, Y: y}, "ES384", false},
		{"ec point off the curve", jsonWebKey{Kty: "EC", Crv: "P-384", X: x, Y: x}, "", true},
		{"ec short coordinate", jsonWebKey{Kty: "EC", Crv: "P-384", X: x[:10], Y: y}, "", true},
		{"ec p-521", jsonWebKey{Kty: "EC", Crv: "P-521", X: x, Y: y}, "", true},
		{"okp", jsonWebKey{Kty: "OKP", Crv: "Ed25519", X: x}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := tt.jwk.publicKey()
			if tt.wantErr {
				if err == nil {
					t.Fatal("parsed, want an error")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !k.allows(tt.alg) {
				t.Errorf("key does not allow %s", tt.alg)
			}
			if k.allows("ES256") && tt.alg != "ES256" {
				t.Error("key allows ES256")
			}
		})
	}
}
