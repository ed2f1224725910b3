package auth

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelkeep/modelkeep"
)

// clock is a settable clock shared by a test's verifier and token minting.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// tokenStore is an in-memory tokens table.
type tokenStore struct {
	mu      sync.Mutex
	records map[string]modelkeep.Token
	err     error // returned by every Lookup when set
	lookups int
}

func newTokenStore() *tokenStore {
	return &tokenStore{records: make(map[string]modelkeep.Token)}
}

func (s *tokenStore) put(t modelkeep.Token) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[t.ID] = t
}

func (s *tokenStore) revoke(id string, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.records[id]
	t.RevokedAt = &at
	s.records[id] = t
}

func (s *tokenStore) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *tokenStore) Lookup(ctx context.Context, jti string) (modelkeep.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lookups++
	if s.err != nil {
		return modelkeep.Token{}, s.err
	}
	t, ok := s.records[jti]
	if !ok {
		return modelkeep.Token{}, modelkeep.Errorf(modelkeep.ErrNotFound, "token %q not found", jti)
	}
	return t, nil
}

// env is a verifier of Modelkeep tokens with its key, store and clock.
type env struct {
	key    *Key
	issuer *Issuer
	store  *tokenStore
	clock  *clock
	v      *Verifier
}

func newEnv(t testing.TB, key *Key, mod func(*VerifierOptions)) *env {
	t.Helper()
	e := &env{key: key, issuer: NewIssuer(key, "", ""), store: newTokenStore(), clock: newClock()}
	opts := VerifierOptions{Lookup: e.store.Lookup, Now: e.clock.Now}
	if mod != nil {
		mod(&opts)
	}
	v, err := NewVerifier(key, opts)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	e.v = v
	return e
}

// record returns a token record valid for a day from now, stored.
func (e *env) record(id, subject string, roles ...string) modelkeep.Token {
	now := e.clock.Now()
	rec := modelkeep.Token{
		ID: id, Subject: subject, Roles: roles, CreatedBy: "admin",
		CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
	}
	e.store.put(rec)
	return rec
}

func (e *env) sign(t testing.TB, rec modelkeep.Token) string {
	t.Helper()
	s, err := e.issuer.SignToken(context.Background(), rec)
	if err != nil {
		t.Fatalf("SignToken: %v", err)
	}
	return s
}

// localClaims are the claims the Issuer would write for rec, as a map that
// attack cases can change.
func localClaims(rec modelkeep.Token) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": DefaultIssuer,
		"aud": []string{DefaultAudience},
		"sub": rec.Subject,
		"jti": rec.ID,
		"iat": rec.CreatedAt.Unix(),
		"nbf": rec.CreatedAt.Unix(),
		"exp": rec.ExpiresAt.Unix(),
	}
}

// signRaw signs arbitrary claims with arbitrary headers: the attacker's tool.
func signRaw(t testing.TB, method jwt.SigningMethod, key any, header map[string]any, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(method, c)
	for k, v := range header {
		if v == nil {
			delete(tok.Header, k)
			continue
		}
		tok.Header[k] = v
	}
	s, err := tok.SignedString(key)
	if err != nil {
		t.Fatalf("sign: %v", err)
	}
	return s
}

// assertUnauthenticated checks that err is a 401 whose message reveals no
// part of the token.
func assertUnauthenticated(t *testing.T, err error, header, wantMsg string) {
	t.Helper()
	if err == nil {
		t.Fatal("Authenticate succeeded, want an error")
	}
	if !errors.Is(err, modelkeep.ErrUnauthenticated) {
		t.Fatalf("error %q does not wrap ErrUnauthenticated", err)
	}
	if errors.Is(err, modelkeep.ErrUnavailable) {
		t.Fatalf("error %q wraps ErrUnavailable too", err)
	}
	assertNoTokenIn(t, err.Error(), header)
	if wantMsg != "" && err.Error() != wantMsg {
		t.Errorf("message %q, want %q", err.Error(), wantMsg)
	}
}

func assertNoTokenIn(t *testing.T, msg, header string) {
	t.Helper()
	_, tok, _ := strings.Cut(header, " ")
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return
	}
	if strings.Contains(msg, tok) {
		t.Fatalf("message %q contains the token", msg)
	}
	for i, part := range strings.Split(tok, ".") {
		if part != "" && strings.Contains(msg, part) {
			t.Fatalf("message %q contains part %d of the token", msg, i)
		}
	}
}
