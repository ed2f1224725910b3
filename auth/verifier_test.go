package auth

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelkeep/modelkeep"
)

func testEdKey(t testing.TB) *Key {
	t.Helper()
	k, err := parseEd25519PEM([]byte(opensslKeyPEM))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func b64JSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// Every case is an attack or a broken header that must give a 401 with a
// fixed message, no panic and no part of the token in the message.
func TestAuthenticateRejects(t *testing.T) {
	key := testEdKey(t)
	pubPEM, err := key.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	priv, _ := key.Ed25519()
	rawPub := []byte(priv.Public().(ed25519.PublicKey))
	_, otherKey, _ := ed25519.GenerateKey(rand.Reader)
	kid := map[string]any{"kid": key.ID()}

	tests := []struct {
		name   string
		header func(t *testing.T, e *env, rec modelkeep.Token) string
		msg    string
	}{
		{"alg none", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return "Bearer " + signRaw(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, localClaims(rec))
		}, "signing algorithm not allowed"},
		{"alg None capitalised", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return "Bearer " + b64JSON(t, map[string]any{"alg": "None", "kid": key.ID()}) + "." + b64JSON(t, localClaims(rec)) + "."
		}, "signing algorithm not allowed"},
		{"no alg", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return "Bearer " + b64JSON(t, map[string]any{"kid": key.ID()}) + "." + b64JSON(t, localClaims(rec)) + ".c2lnbmF0dXJl"
		}, "signing algorithm not allowed"},
		{"HS256 signed with the public key PEM", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return "Bearer " + signRaw(t, jwt.SigningMethodHS256, pubPEM, kid, localClaims(rec))
		}, "signing algorithm not allowed"},
		{"HS256 signed with the raw public key", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return "Bearer " + signRaw(t, jwt.SigningMethodHS256, rawPub, kid, localClaims(rec))
		}, "signing algorithm not allowed"},
		{"tampered payload", func(t *testing.T, e *env, rec modelkeep.Token) string {
			parts := strings.Split(e.sign(t, rec), ".")
			c := localClaims(rec)
			c["sub"], c["roles"] = "root", []string{"admin"}
			return "Bearer " + parts[0] + "." + b64JSON(t, c) + "." + parts[2]
		}, "invalid signature"},
		{"tampered header", func(t *testing.T, e *env, rec modelkeep.Token) string {
			parts := strings.Split(e.sign(t, rec), ".")
			return "Bearer " + b64JSON(t, map[string]any{"alg": "EdDSA", "kid": key.ID(), "x": 1}) + "." + parts[1] + "." + parts[2]
		}, "invalid signature"},
		{"signature stripped", func(t *testing.T, e *env, rec modelkeep.Token) string {
			parts := strings.Split(e.sign(t, rec), ".")
			return "Bearer " + parts[0] + "." + parts[1] + "."
		}, "invalid signature"},
		{"signature's last character edited", func(t *testing.T, e *env, rec modelkeep.Token) string {
			// 64 bytes in 86 characters: the last one's low four bits are
			// padding, which strict base64url refuses when they are set.
			parts := strings.Split(e.sign(t, rec), ".")
			const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
			sig := []byte(parts[2])
			i := strings.IndexByte(alphabet, sig[len(sig)-1])
			sig[len(sig)-1] = alphabet[i&^0xF|1] // the same data bits, a padding bit set
			return "Bearer " + parts[0] + "." + parts[1] + "." + string(sig)
		}, "invalid signature"},
		{"signature cut short", func(t *testing.T, e *env, rec modelkeep.Token) string {
			parts := strings.Split(e.sign(t, rec), ".")
			return "Bearer " + parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1]
		}, "invalid signature"},
		{"wrong signature key", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, otherKey, kid, localClaims(rec))
		}, "invalid signature"},
		{"expired", func(t *testing.T, e *env, rec modelkeep.Token) string {
			c := localClaims(rec)
			c["exp"] = e.clock.Now().Add(-time.Hour).Unix()
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, "token expired"},
		{"nbf in the future", func(t *testing.T, e *env, rec modelkeep.Token) string {
			c := localClaims(rec)
			c["nbf"] = e.clock.Now().Add(time.Hour).Unix()
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, "token not valid yet"},
		{"iat in the future", func(t *testing.T, e *env, rec modelkeep.Token) string {
			c := localClaims(rec)
			c["iat"] = e.clock.Now().Add(time.Hour).Unix()
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, "token issued in the future"},
		{"wrong iss", func(t *testing.T, e *env, rec modelkeep.Token) string {
			c := localClaims(rec)
			c["iss"] = "evil"
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, "invalid token issuer"},
		{"missing iss", func(t *testing.T, e *env, rec modelkeep.Token) string {
			c := localClaims(rec)
			delete(c, "iss")
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, "token is missing a required claim (iss, aud or exp)"},
		{"wrong aud", func(t *testing.T, e *env, rec modelkeep.Token) string {
			c := localClaims(rec)
			c["aud"] = []string{"other-service"}
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, "invalid token audience"},
		{"missing aud", func(t *testing.T, e *env, rec modelkeep.Token) string {
			c := localClaims(rec)
			delete(c, "aud")
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, "token is missing a required claim (iss, aud or exp)"},
		{"missing exp", func(t *testing.T, e *env, rec modelkeep.Token) string {
			c := localClaims(rec)
			delete(c, "exp")
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, "token is missing a required claim (iss, aud or exp)"},
		{"exp not a number", func(t *testing.T, e *env, rec modelkeep.Token) string {
			c := localClaims(rec)
			c["exp"] = "tomorrow"
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, "malformed token"},
		{"missing jti", func(t *testing.T, e *env, rec modelkeep.Token) string {
			c := localClaims(rec)
			delete(c, "jti")
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, "token has no jti"},
		{"missing sub", func(t *testing.T, e *env, rec modelkeep.Token) string {
			c := localClaims(rec)
			delete(c, "sub")
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, priv, kid, c)
		}, "token has no subject"},
		{"revoked jti", func(t *testing.T, e *env, rec modelkeep.Token) string {
			e.store.revoke(rec.ID, e.clock.Now())
			return "Bearer " + e.sign(t, rec)
		}, "token revoked"},
		{"unknown jti", func(t *testing.T, e *env, rec modelkeep.Token) string {
			rec.ID = "never-issued"
			return "Bearer " + e.sign(t, rec)
		}, "unknown token"},
		{"unknown kid", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, priv, map[string]any{"kid": "0123456789abcdef"}, localClaims(rec))
		}, "unknown signing key"},
		{"missing kid", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return "Bearer " + signRaw(t, jwt.SigningMethodEdDSA, priv, nil, localClaims(rec))
		}, "unknown signing key"},
		{"token over 8 KiB", func(t *testing.T, e *env, rec modelkeep.Token) string {
			rec.Models = []string{strings.Repeat("m", 8<<10)}
			return "Bearer " + e.sign(t, rec) // validly signed, still refused
		}, "token too large"},
		{"header over 1 MiB", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return "Bearer " + strings.Repeat("A", 1<<20)
		}, "token too large"},
		{"empty header", func(t *testing.T, e *env, rec modelkeep.Token) string { return "" }, "missing bearer token"},
		{"spaces only", func(t *testing.T, e *env, rec modelkeep.Token) string { return "   " }, "missing bearer token"},
		{"Bearer alone", func(t *testing.T, e *env, rec modelkeep.Token) string { return "Bearer" }, "missing bearer token"},
		{"Bearer and a space", func(t *testing.T, e *env, rec modelkeep.Token) string { return "Bearer " }, "missing bearer token"},
		{"Basic credentials", func(t *testing.T, e *env, rec modelkeep.Token) string { return "Basic dXNlcjpwYXNzd29yZA==" }, "authorization scheme must be bearer"},
		{"token without scheme", func(t *testing.T, e *env, rec modelkeep.Token) string { return e.sign(t, rec) }, "authorization scheme must be bearer"},
		{"one segment", func(t *testing.T, e *env, rec modelkeep.Token) string { return "Bearer opaqueTokenValue42" }, "malformed token"},
		{"two segments", func(t *testing.T, e *env, rec modelkeep.Token) string { return "Bearer x7Qzk9.Pwm2Vn" }, "malformed token"},
		{"four segments", func(t *testing.T, e *env, rec modelkeep.Token) string { return "Bearer x7Qz.k9Pw.m2Vn.j3Hc" }, "malformed token"},
		{"empty segment", func(t *testing.T, e *env, rec modelkeep.Token) string { return "Bearer x7Qz..m2Vn" }, "malformed token"},
		{"non-base64 characters", func(t *testing.T, e *env, rec modelkeep.Token) string { return "Bearer x7Q%z.k9P!w.m2V*n" }, "malformed token"},
		{"base64 padding", func(t *testing.T, e *env, rec modelkeep.Token) string {
			parts := strings.Split(e.sign(t, rec), ".")
			return "Bearer " + parts[0] + "==." + parts[1] + "." + parts[2]
		}, "malformed token"},
		{"space inside token", func(t *testing.T, e *env, rec modelkeep.Token) string {
			parts := strings.Split(e.sign(t, rec), ".")
			return "Bearer " + parts[0] + "." + parts[1] + " ." + parts[2]
		}, "malformed token"},
		{"non-ascii", func(t *testing.T, e *env, rec modelkeep.Token) string { return "Bearer äöü.ßẞ.€€€€" }, "malformed token"},
		{"header not json", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return "Bearer " + b64("not json at all") + "." + b64JSON(t, localClaims(rec)) + ".c2lnbmF0dXJl"
		}, "malformed token"},
		{"payload not json", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return "Bearer " + b64JSON(t, map[string]any{"alg": "EdDSA", "kid": key.ID()}) + "." + b64("[1,2,3") + ".c2lnbmF0dXJl"
		}, "malformed token"},
		{"header is a json string", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return "Bearer " + b64(`"EdDSA"`) + "." + b64JSON(t, localClaims(rec)) + ".c2lnbmF0dXJl"
		}, "malformed token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, key, nil)
			rec := e.record("tok-attack", "ci-bot", modelkeep.RolePublisher)
			header := tt.header(t, e, rec)
			actor, err := e.v.Authenticate(context.Background(), header)
			if err == nil {
				t.Fatalf("accepted, actor %+v", actor)
			}
			assertUnauthenticated(t, err, header, tt.msg)
			if actor.Subject != "" || actor.Roles != nil {
				t.Errorf("actor %+v returned with an error", actor)
			}
		})
	}
}

func TestAuthenticateLeeway(t *testing.T) {
	key := testEdKey(t)
	priv, _ := key.Ed25519()
	tests := []struct {
		name   string
		modify func(c jwt.MapClaims, now time.Time)
	}{
		{"nbf within leeway", func(c jwt.MapClaims, now time.Time) { c["nbf"] = now.Add(20 * time.Second).Unix() }},
		{"iat within leeway", func(c jwt.MapClaims, now time.Time) { c["iat"] = now.Add(20 * time.Second).Unix() }},
		{"no nbf", func(c jwt.MapClaims, now time.Time) { delete(c, "nbf") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, key, nil)
			rec := e.record("tok-1", "ci-bot", modelkeep.RoleAuditor)
			c := localClaims(rec)
			tt.modify(c, e.clock.Now())
			tok := signRaw(t, jwt.SigningMethodEdDSA, priv, map[string]any{"kid": key.ID()}, c)
			if _, err := e.v.Authenticate(context.Background(), "Bearer "+tok); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
		})
	}
}

// The record, looked up on every request, decides: a change to it applies
// to the very next request even though the token is cached.
func TestAuthenticateRecordDecides(t *testing.T) {
	key := testEdKey(t)
	tests := []struct {
		name   string
		change func(e *env, rec modelkeep.Token)
		msg    string
	}{
		{"revoked after first use", func(e *env, rec modelkeep.Token) {
			e.store.revoke(rec.ID, e.clock.Now())
		}, "token revoked"},
		{"record expires before the claim", func(e *env, rec modelkeep.Token) {
			rec.ExpiresAt = e.clock.Now()
			e.store.put(rec)
		}, "token expired"},
		{"record deleted", func(e *env, rec modelkeep.Token) {
			e.store.mu.Lock()
			delete(e.store.records, rec.ID)
			e.store.mu.Unlock()
		}, "unknown token"},
		{"subject mismatch", func(e *env, rec modelkeep.Token) {
			rec.Subject = "someone-else"
			e.store.put(rec)
		}, "token subject does not match its record"},
		{"claim expires with the clock", func(e *env, rec modelkeep.Token) {
			rec.ExpiresAt = rec.ExpiresAt.Add(time.Hour) // record alone would allow it
			e.store.put(rec)
			e.clock.Advance(24*time.Hour + DefaultLeeway)
		}, "token expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, key, nil)
			rec := e.record("tok-1", "ci-bot", modelkeep.RolePublisher)
			header := "Bearer " + e.sign(t, rec)
			if _, err := e.v.Authenticate(context.Background(), header); err != nil {
				t.Fatalf("first Authenticate: %v", err)
			}
			if e.v.cache.Len() != 1 {
				t.Fatalf("cache holds %d entries, want 1", e.v.cache.Len())
			}
			tt.change(e, rec)
			_, err := e.v.Authenticate(context.Background(), header)
			assertUnauthenticated(t, err, header, tt.msg)
		})
	}
}

func TestAuthenticateRolesFromRecord(t *testing.T) {
	e := newEnv(t, testEdKey(t), nil)
	rec := e.record("tok-1", "ci-bot", modelkeep.RoleDeployer)
	signed := rec
	signed.Roles, signed.Models = []string{modelkeep.RoleAdmin}, nil // what the token claims
	rec.Models = []string{"fraud-*"}
	e.store.put(rec)
	actor, err := e.v.Authenticate(context.Background(), "Bearer "+e.sign(t, signed))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(actor.Roles, []string{modelkeep.RoleDeployer}) || !slices.Equal(actor.Models, []string{"fraud-*"}) {
		t.Fatalf("actor = %+v, want the record's roles and models", actor)
	}
}

// A database outage is a 503, not a 401, whether or not the token is cached.
func TestAuthenticateLookupErrors(t *testing.T) {
	tests := []struct {
		name        string
		err         error
		want        error
		cachedFirst bool
	}{
		{"unavailable", modelkeep.Errorf(modelkeep.ErrUnavailable, "database unreachable"), modelkeep.ErrUnavailable, false},
		{"unavailable, cached token", modelkeep.Errorf(modelkeep.ErrUnavailable, "database unreachable"), modelkeep.ErrUnavailable, true},
		{"canceled", context.Canceled, context.Canceled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, testEdKey(t), nil)
			rec := e.record("tok-1", "ci-bot", modelkeep.RolePublisher)
			header := "Bearer " + e.sign(t, rec)
			if tt.cachedFirst {
				if _, err := e.v.Authenticate(context.Background(), header); err != nil {
					t.Fatal(err)
				}
			}
			e.store.setErr(tt.err)
			_, err := e.v.Authenticate(context.Background(), header)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if errors.Is(err, modelkeep.ErrUnauthenticated) {
				t.Fatalf("err = %v wraps ErrUnauthenticated", err)
			}
			assertNoTokenIn(t, err.Error(), header)
		})
	}
}

func TestHS256Verifier(t *testing.T) {
	key, err := NewHMACKey([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	edKey := testEdKey(t)
	edPriv, _ := edKey.Ed25519()
	kid := map[string]any{"kid": key.ID()}
	tests := []struct {
		name  string
		token func(t *testing.T, e *env, rec modelkeep.Token) string
		msg   string
	}{
		{"EdDSA token", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return signRaw(t, jwt.SigningMethodEdDSA, edPriv, kid, localClaims(rec))
		}, "signing algorithm not allowed"},
		{"HS512 with the secret", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return signRaw(t, jwt.SigningMethodHS512, []byte(testSecret), kid, localClaims(rec))
		}, "signing algorithm not allowed"},
		{"other secret", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return signRaw(t, jwt.SigningMethodHS256, []byte(testSecret+"-other"), kid, localClaims(rec))
		}, "invalid signature"},
		{"alg none", func(t *testing.T, e *env, rec modelkeep.Token) string {
			return signRaw(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, kid, localClaims(rec))
		}, "signing algorithm not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, key, nil)
			rec := e.record("tok-1", "ci-bot", modelkeep.RolePublisher)
			header := "Bearer " + tt.token(t, e, rec)
			_, err := e.v.Authenticate(context.Background(), header)
			assertUnauthenticated(t, err, header, tt.msg)
		})
	}
}

func TestNewVerifierErrors(t *testing.T) {
	key := testEdKey(t)
	lookup := newTokenStore().Lookup
	tests := []struct {
		name string
		key  *Key
		opts VerifierOptions
	}{
		{"no key", nil, VerifierOptions{Lookup: lookup}},
		{"no lookup", key, VerifierOptions{}},
		{"negative leeway", key, VerifierOptions{Lookup: lookup, Leeway: -time.Second}},
		{"oidc issuer not a url", key, VerifierOptions{Lookup: lookup, OIDC: &OIDCConfig{Issuer: "idp", Audience: "a"}}},
		{"oidc without audience", key, VerifierOptions{Lookup: lookup, OIDC: &OIDCConfig{Issuer: "https://idp.example"}}},
		{"oidc issuer is modelkeep's", key, VerifierOptions{Lookup: lookup, Issuer: "https://idp.example", OIDC: &OIDCConfig{Issuer: "https://idp.example", Audience: "a"}}},
		{"oidc unknown role", key, VerifierOptions{Lookup: lookup, OIDC: &OIDCConfig{Issuer: "https://idp.example", Audience: "a", RoleMap: map[string][]string{"g": {"root"}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if v, err := NewVerifier(tt.key, tt.opts); err == nil {
				t.Fatalf("NewVerifier = %v, want an error", v)
			}
		})
	}
}

func TestTokenCacheBounded(t *testing.T) {
	e := newEnv(t, testEdKey(t), func(o *VerifierOptions) { o.CacheSize = 10 })
	var headers []string
	for i := range 100 {
		rec := e.record("tok-"+string(rune('a'+i%26))+string(rune('a'+i/26)), "ci-bot", modelkeep.RoleAuditor)
		headers = append(headers, "Bearer "+e.sign(t, rec))
	}
	for range 2 {
		for _, h := range headers {
			if _, err := e.v.Authenticate(context.Background(), h); err != nil {
				t.Fatal(err)
			}
			if n := e.v.cache.Len(); n > 10 {
				t.Fatalf("cache holds %d entries, bound is 10", n)
			}
		}
	}
}

// Many goroutines authenticating good and bad tokens, Modelkeep and
// identity-provider ones, while tokens are revoked (run with -race).
func TestAuthenticateConcurrent(t *testing.T) {
	p := newIDP(t)
	e := newOIDCEnv(t, p, nil)
	const nTokens = 8
	var good []string
	for i := range nTokens {
		rec := e.record("tok-"+string(rune('a'+i)), "bot", modelkeep.RolePublisher)
		good = append(good, "Bearer "+e.sign(t, rec))
	}
	revokedRec := e.record("tok-revoked", "bot", modelkeep.RolePublisher)
	revoked := "Bearer " + e.sign(t, revokedRec)
	e.store.revoke(revokedRec.ID, e.clock.Now())
	oidcTok := "Bearer " + p.token(t, "k1", p.claims(e.clock, "alice", []string{"ml-admins"}))
	bad := []string{"Bearer x7Qz.k9Pw.m2Vn", "Basic abc", "", revoked}

	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 32 {
		wg.Go(func() {
			for i := range 200 {
				h := good[(g+i)%nTokens]
				if _, err := e.v.Authenticate(context.Background(), h); err != nil {
					errs <- err
					return
				}
				a, err := e.v.Authenticate(context.Background(), oidcTok)
				if err != nil || a.Subject != "oidc:alice" {
					errs <- errors.Join(errors.New("oidc token refused"), err)
					return
				}
				a.Roles[0] = "mutated" // must not leak into the cache
				b := bad[(g+i)%len(bad)]
				if _, err := e.v.Authenticate(context.Background(), b); !errors.Is(err, modelkeep.ErrUnauthenticated) {
					errs <- errors.Join(errors.New("bad header accepted"), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := p.jwksHits.Load(); n != 1 {
		t.Errorf("JWKS fetched %d times, want 1", n)
	}
}

// Fuzzing the header never panics, never succeeds, and only ever gives one
// of the fixed messages (which therefore contain nothing of the input).
func FuzzAuthenticate(f *testing.F) {
	key := testEdKey(f)
	e := newEnv(f, key, nil)
	rec := e.record("tok-1", "ci-bot", modelkeep.RolePublisher)
	good := e.sign(f, rec)
	parts := strings.Split(good, ".")
	for _, s := range []string{"", "Bearer", "Bearer ", "Basic dXNlcg==", "Bearer a.b.c", "Bearer " + parts[0] + "." + parts[1] + ".",
		"Bearer " + parts[0] + ".e30." + parts[2], "Bearer " + good + "x", "bearer  " + parts[0] + "." + parts[1] + "." + parts[2][1:]} {
		f.Add(s)
	}
	allowed := []string{
		"missing bearer token", "authorization scheme must be bearer", "token too large", "malformed token",
		"signing algorithm not allowed", "invalid signature", "unknown signing key", "token has no key id",
		"signing algorithm does not match the key", "invalid token issuer", "invalid token audience", "token expired",
		"token not valid yet", "token issued in the future", "token is missing a required claim (iss, aud or exp)",
		"token has no jti", "token has no subject", "unknown token", "token revoked", "invalid token",
		"token subject does not match its record",
	}
	f.Fuzz(func(t *testing.T, header string) {
		_, err := e.v.Authenticate(context.Background(), header)
		if err == nil {
			// Only the genuine token, under some spelling of the scheme, may pass.
			if _, tok, _ := strings.Cut(header, " "); strings.TrimLeft(tok, " ") == good {
				return
			}
			t.Fatalf("accepted %q", header)
		}
		if !errors.Is(err, modelkeep.ErrUnauthenticated) || !slices.Contains(allowed, err.Error()) {
			t.Fatalf("err = %q", err)
		}
	})
}
