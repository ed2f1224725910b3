package modelkeep

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Token lifetimes. openapi.yaml states the bounds too (expires_in's
// x-duration-minimum and x-duration-maximum; a test compares them).
const (
	DefaultTokenTTL = 24 * time.Hour
	MaxTokenTTL     = 10 * 365 * 24 * time.Hour
	MinTokenTTL     = time.Minute
)

// CheckTokenTTL refuses a lifetime a token may not have: zero or negative
// among them (a lifetime asked for is never taken for "the default").
func CheckTokenTTL(ttl time.Duration) error {
	if ttl < MinTokenTTL || ttl > MaxTokenTTL {
		return Errorf(ErrInvalid, "a token's lifetime must be from %s to %s (10 years), not %s", shortDuration(MinTokenTTL), shortDuration(MaxTokenTTL), shortDuration(ttl))
	}
	return nil
}

// shortDuration writes a duration as time.Duration does, without the zero
// units at its end: 1m, not 1m0s; 87600h, not 87600h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// Token is a Modelkeep-issued bearer token's record. The signed token
// itself is shown once, at creation, and never stored.
type Token struct {
	ID        string // the JWT's jti
	Subject   string
	Roles     []string
	Models    []string
	CreatedBy string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// Active reports whether the token may be used at t.
func (t Token) Active(at time.Time) bool {
	return t.RevokedAt == nil && at.Before(t.ExpiresAt)
}

// TokenSigner turns a token record into a signed bearer token.
type TokenSigner interface {
	SignToken(ctx context.Context, t Token) (string, error)
}

// TokenInput describes a token to issue.
type TokenInput struct {
	Subject string
	Roles   []string
	// Models restricts the token to matching model names (globs); empty
	// means every model.
	Models []string
	// TTL is the lifetime; 0 means DefaultTokenTTL (a client asking for
	// a lifetime of zero is refused by CheckTokenTTL before).
	TTL time.Duration
}

func (in *TokenInput) validate() error {
	if in.Subject == "" || len(in.Subject) > 128 {
		return Errorf(ErrInvalid, "subject must be 1 to 128 characters")
	}
	if strings.HasPrefix(in.Subject, "oidc:") {
		// Identity-provider users appear as oidc:<name> in the audit log; a
		// local token must not pass itself off as one.
		return Errorf(ErrInvalid, "subject %q: the oidc: prefix is reserved for identity-provider users", in.Subject)
	}
	if err := ValidateRoles(in.Roles); err != nil {
		return err
	}
	if len(in.Models) > 32 {
		return Errorf(ErrInvalid, "at most 32 model patterns")
	}
	for _, p := range in.Models {
		if err := ValidateModelPattern(p); err != nil {
			return err
		}
	}
	if in.TTL == 0 {
		in.TTL = DefaultTokenTTL
	}
	return CheckTokenTTL(in.TTL)
}

// CreateToken records a new token and returns it with its signed form, the
// only time the secret is ever shown.
func (s *Service) CreateToken(ctx context.Context, in TokenInput) (Token, string, error) {
	if s.signer == nil {
		return Token{}, "", Errorf(ErrPrecondition, "this server cannot issue tokens")
	}
	if err := in.validate(); err != nil {
		return Token{}, "", err
	}
	now := s.Now()
	t := Token{
		ID: randomID(), Subject: in.Subject, Roles: in.Roles, Models: in.Models,
		CreatedBy: ActorName(ctx), CreatedAt: now, ExpiresAt: now.Add(in.TTL),
	}
	if t.Models == nil {
		t.Models = []string{}
	}
	signed, err := s.signer.SignToken(ctx, t)
	if err != nil {
		return Token{}, "", err
	}
	err = s.meta.InTx(ctx, func(tx MetaStore) error {
		if err := tx.CreateToken(ctx, t); err != nil {
			return err
		}
		return s.record(ctx, tx, "token.create", "tokens/"+t.ID, map[string]any{
			"subject": t.Subject, "roles": t.Roles, "models": t.Models, "expires_at": t.ExpiresAt})
	})
	if err != nil {
		return Token{}, "", err
	}
	return t, signed, nil
}

// LookupToken reads a token record for authentication (not audited: it
// runs on every request). Records are cached for the configured
// TokenCacheTTL: a revocation through this process takes effect at once,
// one through another process sharing the database within that TTL.
func (s *Service) LookupToken(ctx context.Context, id string) (Token, error) {
	if t, ok := s.tokens.get(id, s.now()); ok {
		return t, nil
	}
	t, err := s.meta.GetToken(ctx, id)
	if err != nil {
		return Token{}, err
	}
	s.tokens.put(id, t, s.now())
	return t, nil
}

// tokenRecordCache keeps token records for a short while, so that checking a
// token's revocation does not cost a database round trip on every request.
type tokenRecordCache struct {
	ttl     time.Duration
	mu      sync.Mutex
	entries map[string]cachedToken
}

type cachedToken struct {
	token Token
	until time.Time
}

const maxCachedTokens = 10000

func (c *tokenRecordCache) get(id string, now time.Time) (Token, bool) {
	if c == nil || c.ttl <= 0 {
		return Token{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[id]
	if !ok || !now.Before(e.until) {
		return Token{}, false
	}
	return e.token, true
}

func (c *tokenRecordCache) put(id string, t Token, now time.Time) {
	if c == nil || c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= maxCachedTokens {
		clear(c.entries) // cheap and rare: the cache refills from the database
	}
	c.entries[id] = cachedToken{token: t, until: now.Add(c.ttl)}
}

func (c *tokenRecordCache) forget(id string) {
	if c == nil || c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.entries, id)
}

// ListTokensInput pages token records.
type ListTokensInput struct {
	IncludeRevoked bool
	PageSize       int
	PageToken      string
}

// ListTokens lists token records, newest first (never their secrets).
func (s *Service) ListTokens(ctx context.Context, in ListTokensInput) ([]Token, string, error) {
	l := NewListing("listTokens", strconv.FormatBool(in.IncludeRevoked))
	pg, before, beforeID, err := s.pager.startTimed(l, in.PageSize, in.PageToken)
	if err != nil {
		return nil, "", err
	}
	tokens, err := s.meta.ListTokens(ctx, TokenFilter{
		IncludeRevoked: in.IncludeRevoked, BeforeCreatedAt: before, BeforeID: beforeID, Limit: pg.limit + 1,
	})
	if err != nil {
		return nil, "", err
	}
	tokens, next := endPage(pg, tokens, func(t Token) pageCursor {
		return pageCursor{Name: t.ID, Time: t.CreatedAt.UnixMicro()}
	})
	return tokens, next, nil
}

// RevokeToken revokes a token at once: its next request is refused.
func (s *Service) RevokeToken(ctx context.Context, id string) error {
	if id == "" || len(id) > 64 {
		return Errorf(ErrInvalid, "invalid token id")
	}
	err := s.meta.InTx(ctx, func(tx MetaStore) error {
		t, err := tx.GetToken(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.RevokeToken(ctx, id, s.Now()); err != nil {
			return err
		}
		return s.record(ctx, tx, "token.revoke", "tokens/"+id, map[string]any{
			"subject": t.Subject, "already_revoked": t.RevokedAt != nil})
	})
	s.tokens.forget(id)
	return err
}
