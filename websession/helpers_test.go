package websession

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/audit"
)

// memStore is an in-memory Store. Its transactions are not isolated: the
// tests run one use case at a time.
type memStore struct {
	mu       sync.Mutex
	sessions map[string]Session
	logins   map[string]OIDCLogin
	touches  int
	events   []audit.Event
	err      error // returned by every call when set
}

func newMemStore() *memStore {
	return &memStore{sessions: map[string]Session{}, logins: map[string]OIDCLogin{}}
}

func (m *memStore) InSessionTx(ctx context.Context, fn func(tx Store) error) error {
	m.mu.Lock()
	sessions, logins, events := clone(m.sessions), clone(m.logins), len(m.events)
	m.mu.Unlock()
	if err := fn(m); err != nil {
		m.mu.Lock()
		m.sessions, m.logins, m.events = sessions, logins, m.events[:events]
		m.mu.Unlock()
		return err
	}
	return nil
}

func clone[V any](in map[string]V) map[string]V {
	out := make(map[string]V, len(in))
	for k, v := range in {
		out[k] = v
	}
	return out
}

func (m *memStore) AppendAudit(ctx context.Context, e audit.Event) (audit.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return audit.Event{}, m.err
	}
	m.events = append(m.events, e)
	return e, nil
}

func (m *memStore) CreateSession(ctx context.Context, s Session) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.sessions[s.ID] = s
	return nil
}

func (m *memStore) GetSession(ctx context.Context, id string) (Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return Session{}, m.err
	}
	s, ok := m.sessions[id]
	if !ok {
		return Session{}, modelkeep.Errorf(modelkeep.ErrNotFound, "session not found")
	}
	return s, nil
}

func (m *memStore) TouchSession(ctx context.Context, id string, seen, idleExpires time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	s := m.sessions[id]
	if s.RevokedAt == nil {
		s.LastSeenAt, s.IdleExpiresAt = seen, idleExpires
		m.sessions[id] = s
	}
	m.touches++
	return nil
}

func (m *memStore) RevokeSession(ctx context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[id]
	if !ok {
		return modelkeep.Errorf(modelkeep.ErrNotFound, "session not found")
	}
	if s.RevokedAt == nil {
		s.RevokedAt = &at
	}
	m.sessions[id] = s
	return nil
}

func (m *memStore) DeleteEndedSessions(ctx context.Context, cutoff time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for id, s := range m.sessions {
		if s.ExpiresAt.Before(cutoff) || s.IdleExpiresAt.Before(cutoff) || s.RevokedAt != nil && s.RevokedAt.Before(cutoff) {
			delete(m.sessions, id)
			n++
		}
	}
	for id, l := range m.logins {
		if l.ExpiresAt.Before(cutoff) {
			delete(m.logins, id)
			n++
		}
	}
	return n, nil
}

func (m *memStore) CreateOIDCLogin(ctx context.Context, l OIDCLogin) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.logins[l.ID] = l
	return nil
}

func (m *memStore) TakeOIDCLogin(ctx context.Context, id string) (OIDCLogin, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return OIDCLogin{}, m.err
	}
	l, ok := m.logins[id]
	if !ok {
		return OIDCLogin{}, modelkeep.Errorf(modelkeep.ErrNotFound, "sign-in not found")
	}
	delete(m.logins, id)
	return l, nil
}

// auditor records events into the memStore's list, like modelkeep.AuditLog.
type auditor struct{ store *memStore }

func (a auditor) Record(ctx context.Context, tx modelkeep.AuditAppender, action, resource string, details map[string]any) (int64, error) {
	raw, _ := json.Marshal(details)
	e, err := tx.AppendAudit(ctx, audit.Event{Actor: modelkeep.ActorName(ctx), Action: action, Resource: resource, Outcome: audit.OutcomeSuccess, Details: raw})
	return e.Seq, err
}

func (a auditor) RecordRefusal(ctx context.Context, action, resource string, details map[string]any) {
	raw, _ := json.Marshal(details)
	_, _ = a.store.AppendAudit(ctx, audit.Event{Actor: modelkeep.ActorName(ctx), Action: action, Resource: resource, Outcome: audit.OutcomeDenied, Details: raw})
}

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
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

// tokens is a tokens table and an Authenticator of "Bearer <id>" headers:
// the id names the record (the real verifier is tested in auth/). IdP
// tokens are JWT-shaped strings "idp.<payload>.sig" naming their actor.
type tokens struct {
	mu      sync.Mutex
	records map[string]modelkeep.Token
	idp     map[string]modelkeep.Actor
	clock   *clock
}

func (t *tokens) Authenticate(ctx context.Context, header string) (modelkeep.Actor, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	raw := strings.TrimPrefix(header, "Bearer ")
	if a, ok := t.idp[raw]; ok {
		return a, nil
	}
	rec, ok := t.records[raw]
	if !ok || !rec.Active(t.clock.Now()) {
		return modelkeep.Actor{}, unauthenticated("invalid token")
	}
	return modelkeep.Actor{Subject: rec.Subject, Roles: rec.Roles, Models: rec.Models, TokenID: rec.ID}, nil
}

func (t *tokens) Lookup(ctx context.Context, id string) (modelkeep.Token, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec, ok := t.records[id]
	if !ok {
		return modelkeep.Token{}, modelkeep.Errorf(modelkeep.ErrNotFound, "token not found")
	}
	return rec, nil
}

func (t *tokens) add(id, subject string, ttl time.Duration, roles []string, models ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.clock.Now()
	t.records[id] = modelkeep.Token{ID: id, Subject: subject, Roles: roles, Models: models, CreatedAt: now, ExpiresAt: now.Add(ttl)}
}

func (t *tokens) revoke(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	rec := t.records[id]
	at := t.clock.Now()
	rec.RevokedAt = &at
	t.records[id] = rec
}

// addIDP registers an identity provider's token for a, expiring at exp, and
// returns it.
func (t *tokens) addIDP(a modelkeep.Actor, exp time.Time) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	payload, _ := json.Marshal(map[string]any{"sub": a.Subject, "exp": exp.Unix()})
	raw := "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(payload) + ".sig"
	t.idp[raw] = a
	return raw
}

// fixture is a Service over a memStore, fake tokens and a clock.
type fixture struct {
	svc    *Service
	store  *memStore
	tokens *tokens
	clock  *clock
	idp    *fakeProvider
}

func newFixture(t *testing.T, mod func(*Options)) *fixture {
	t.Helper()
	c := &clock{t: time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC)}
	f := &fixture{store: newMemStore(), clock: c, tokens: &tokens{records: map[string]modelkeep.Token{}, idp: map[string]modelkeep.Actor{}, clock: c}, idp: &fakeProvider{}}
	opts := Options{
		Store: f.store, Authenticator: f.tokens, LookupToken: f.tokens.Lookup, Audit: auditor{f.store}, Now: c.Now,
		OIDC: &OIDCOptions{Provider: f.idp, ClientID: "modelkeep-ui", RedirectURI: "https://mk.example/api/v1/session/oidc/callback", Issuer: "https://idp.example"},
	}
	if mod != nil {
		mod(&opts)
	}
	svc, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

// events lists the recorded audit events as "outcome action actor".
func (f *fixture) events() []string {
	f.store.mu.Lock()
	defer f.store.mu.Unlock()
	var out []string
	for _, e := range f.store.events {
		out = append(out, e.Outcome+" "+e.Action+" "+e.Actor)
	}
	return out
}

// fakeProvider redeems codes it was told about.
type fakeProvider struct {
	mu       sync.Mutex
	endpoint string
	codes    map[string]fakeGrant // code → what it yields
	err      error
}

type fakeGrant struct {
	verifier string // the PKCE verifier the code needs
	id       Identity
}

func (p *fakeProvider) AuthorizationEndpoint(ctx context.Context) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return "", p.err
	}
	if p.endpoint == "" {
		return "https://idp.example/authorize?tenant=t1", nil
	}
	return p.endpoint, nil
}

func (p *fakeProvider) Redeem(ctx context.Context, code, verifier, redirectURI string) (Identity, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.err != nil {
		return Identity{}, p.err
	}
	g, ok := p.codes[code]
	if !ok {
		return Identity{}, unauthenticated("the identity provider refused the code (invalid_grant)")
	}
	if pkceChallenge(verifier) != pkceChallenge(g.verifier) {
		return Identity{}, unauthenticated("the identity provider refused the code (invalid_grant)")
	}
	delete(p.codes, code)
	return g.id, nil
}

func (p *fakeProvider) grant(code, verifier string, id Identity) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.codes == nil {
		p.codes = map[string]fakeGrant{}
	}
	p.codes[code] = fakeGrant{verifier: verifier, id: id}
}
