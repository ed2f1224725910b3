// Package websession holds the web UI's sign-in: browser sessions made from
// a bearer token or from the identity provider's authorization-code flow,
// looked up by a random cookie value, with a CSRF token, idle and absolute
// expiry, and sign-out. It consumes the registry's types (package
// modelkeep), an Authenticator of bearer tokens and, for the identity
// provider, a Provider; the store implements its Store. Cookies, headers and
// statuses are the HTTP layer's business (api/).
package websession

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/modelkeep/modelkeep"
)

// Sources of a session.
const (
	SourceToken = "token" // signed in with a pasted bearer token
	SourceOIDC  = "oidc"  // signed in at the identity provider
)

// Defaults and bounds.
const (
	DefaultIdleTimeout = 30 * time.Minute
	DefaultMaxAge      = 12 * time.Hour
	// touchInterval: a session's idle expiry moves forward at most once a
	// minute, so that a busy page does not write on every request (the
	// idle timeout is thus honoured to within a minute).
	touchInterval = time.Minute
	// maxSubjectLen is Authorize's bound on subjects (the audit log's
	// actor column), applied at sign-in.
	maxSubjectLen = 200
)

// Audit actions.
const (
	ActionLogin  = "session.login"
	ActionLogout = "session.logout"
)

// Session is a browser session. The browser holds a random value in a
// cookie; the store knows only its SHA-256 (ID), so a copy of the database
// cannot be turned into cookies.
type Session struct {
	ID      string // hex SHA-256 of the cookie value
	Subject string
	Roles   []string
	Models  []string // model scopes; empty: every model
	Source  string   // SourceToken or SourceOIDC
	// TokenID is the jti of the Modelkeep token the session was made from
	// ("" otherwise): the session dies with the token.
	TokenID       string
	CSRFToken     string
	CreatedAt     time.Time
	LastSeenAt    time.Time
	IdleExpiresAt time.Time
	ExpiresAt     time.Time // absolute
	RevokedAt     *time.Time
}

// Actor is who the session's requests are made by: the same roles and
// model scopes as the token it came from.
func (s Session) Actor() modelkeep.Actor {
	return modelkeep.Actor{Subject: s.Subject, Roles: s.Roles, Models: s.Models, TokenID: s.TokenID}
}

// resource names the session in the audit log: a prefix of its id, enough
// to pair a sign-out with its sign-in and useless as a cookie.
func (s Session) resource() string { return "sessions/" + s.ID[:16] }

// check is the rule for using a session at now: not revoked, not past its
// absolute expiry, not idle for too long.
func (s Session) check(now time.Time) error {
	switch {
	case s.RevokedAt != nil:
		return unauthenticated("session ended (signed out)")
	case !now.Before(s.ExpiresAt):
		return unauthenticated("session expired")
	case !now.Before(s.IdleExpiresAt):
		return unauthenticated("session expired after inactivity")
	}
	return nil
}

// needsTouch reports whether a request at now should move the idle expiry.
func (s Session) needsTouch(now time.Time) bool {
	return now.Sub(s.LastSeenAt) >= touchInterval
}

// touched is s after a request at now: the idle expiry moves, never beyond
// the absolute one.
func (s Session) touched(now time.Time, idle time.Duration) Session {
	s.LastSeenAt = now
	s.IdleExpiresAt = minTime(now.Add(idle), s.ExpiresAt)
	return s
}

// Authenticator checks an Authorization header value, as every API request
// is checked (auth.Verifier, which accepts the identity provider's tokens
// too).
type Authenticator interface {
	Authenticate(ctx context.Context, header string) (modelkeep.Actor, error)
}

// Auditor records sign-ins and sign-outs (modelkeep.AuditLog).
type Auditor interface {
	// Record appends a success event in tx, the change's transaction.
	Record(ctx context.Context, tx modelkeep.AuditAppender, action, resource string, details map[string]any) (int64, error)
	// RecordRefusal appends a denied event in a transaction of its own.
	RecordRefusal(ctx context.Context, action, resource string, details map[string]any)
}

// Options configure a Service. Store, Authenticator, LookupToken and Audit
// are required.
type Options struct {
	Store         Store
	Authenticator Authenticator
	// LookupToken reads a Modelkeep token's record (the registry's cached
	// lookup, modelkeep.Service.LookupToken): a session made from a token
	// is refused once the token is revoked or expired.
	LookupToken func(ctx context.Context, id string) (modelkeep.Token, error)
	Audit       Auditor
	// IdleTimeout ends a session after that long without a request
	// (DefaultIdleTimeout when 0); MaxAge bounds it absolutely
	// (DefaultMaxAge when 0).
	IdleTimeout, MaxAge time.Duration
	// OIDC enables sign-in at the identity provider; nil leaves it off.
	OIDC *OIDCOptions
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Service holds the sign-in use cases.
type Service struct {
	store       Store
	authn       Authenticator
	lookupToken func(ctx context.Context, id string) (modelkeep.Token, error)
	audit       Auditor
	idle        time.Duration
	maxAge      time.Duration
	oidc        *OIDCOptions
	now         func() time.Time
}

// New returns the Service.
func New(opts Options) (*Service, error) {
	switch {
	case opts.Store == nil, opts.Authenticator == nil, opts.LookupToken == nil, opts.Audit == nil:
		return nil, errors.New("websession: store, authenticator, token lookup and audit log are required")
	case opts.IdleTimeout < 0, opts.MaxAge < 0:
		return nil, errors.New("websession: timeouts must not be negative")
	}
	s := &Service{
		store: opts.Store, authn: opts.Authenticator, lookupToken: opts.LookupToken, audit: opts.Audit,
		idle: opts.IdleTimeout, maxAge: opts.MaxAge, oidc: opts.OIDC, now: opts.Now,
	}
	if s.idle == 0 {
		s.idle = DefaultIdleTimeout
	}
	if s.maxAge == 0 {
		s.maxAge = DefaultMaxAge
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.oidc != nil {
		if err := s.oidc.validate(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// clock is the service's time, at the precision the databases keep.
func (s *Service) clock() time.Time { return s.now().UTC().Truncate(time.Microsecond) }

// Login signs in with a bearer token: it is checked as an Authorization
// header would be, and the session gets its subject, roles and model scopes
// and ends no later than the token. It returns the session and the cookie
// value, which exists only in this answer. A refused token is recorded in
// the audit log (session.login, denied).
func (s *Service) Login(ctx context.Context, token string) (Session, string, error) {
	token = pastedToken(token)
	actor, err := s.authn.Authenticate(ctx, "Bearer "+token)
	if err != nil {
		if errors.Is(err, modelkeep.ErrUnauthenticated) {
			s.refuse(ctx, SourceToken, err.Error())
		}
		return Session{}, "", err
	}
	notAfter, err := s.tokenExpiry(ctx, actor, token)
	if err != nil {
		return Session{}, "", err
	}
	return s.start(ctx, actor, SourceToken, notAfter)
}

// pastedToken is the token in what a person pasted: surrounding blanks and
// a copied "Bearer " prefix are not part of it.
func pastedToken(s string) string {
	s = strings.TrimSpace(s)
	if scheme, rest, ok := strings.Cut(s, " "); ok && strings.EqualFold(scheme, "bearer") {
		s = strings.TrimSpace(rest)
	}
	return s
}

// tokenExpiry is when the token ends: its record's expiry for a Modelkeep
// token, the exp claim of an identity provider's (which Authenticate has
// just verified).
func (s *Service) tokenExpiry(ctx context.Context, actor modelkeep.Actor, token string) (time.Time, error) {
	if actor.TokenID != "" {
		t, err := s.lookupToken(ctx, actor.TokenID)
		if err != nil {
			return time.Time{}, fmt.Errorf("look up token: %w", err)
		}
		return t.ExpiresAt, nil
	}
	exp, ok := expiryClaim(token)
	if !ok {
		return time.Time{}, unauthenticated("token has no expiry")
	}
	return exp, nil
}

// start makes the session of a signed-in actor, recording it in the same
// transaction.
func (s *Service) start(ctx context.Context, actor modelkeep.Actor, source string, notAfter time.Time) (Session, string, error) {
	ctx = modelkeep.WithActor(ctx, actor)
	if err := admit(actor); err != nil {
		s.refuse(ctx, source, err.Error())
		return Session{}, "", err
	}
	now := s.clock()
	sess, value, err := newSession(actor, source, now, s.idle, minTime(now.Add(s.maxAge), notAfter))
	if err != nil {
		return Session{}, "", err
	}
	err = s.store.InSessionTx(ctx, func(tx Store) error {
		if err := tx.CreateSession(ctx, sess); err != nil {
			return err
		}
		details := map[string]any{"source": source, "expires_at": sess.ExpiresAt}
		if sess.TokenID != "" {
			details["token_id"] = sess.TokenID
		}
		_, err := s.audit.Record(ctx, tx, ActionLogin, sess.resource(), details)
		return err
	})
	if err != nil {
		return Session{}, "", fmt.Errorf("start session: %w", err)
	}
	return sess, value, nil
}

// admit is the rule for who may have a session: someone with a role (a
// session without one could not even read itself) and a subject the audit
// log can hold.
func admit(a modelkeep.Actor) error {
	switch {
	case len(a.Roles) == 0:
		return modelkeep.Errorf(modelkeep.ErrForbidden, "%s has no Modelkeep role", a.Subject)
	case len(a.Subject) > maxSubjectLen:
		return unauthenticated(fmt.Sprintf("the subject is longer than %d bytes", maxSubjectLen))
	}
	return nil
}

// newSession builds a session and its cookie value: fresh random secrets,
// idle expiry from now, absolute expiry at expires.
func newSession(a modelkeep.Actor, source string, now time.Time, idle time.Duration, expires time.Time) (Session, string, error) {
	if !expires.After(now) {
		return Session{}, "", unauthenticated("token expired")
	}
	value, err := randomValue()
	if err != nil {
		return Session{}, "", err
	}
	csrf, err := randomValue()
	if err != nil {
		return Session{}, "", err
	}
	models := a.Models
	if models == nil {
		models = []string{}
	}
	sess := Session{
		ID: hashValue(value), Subject: a.Subject, Roles: a.Roles, Models: models, Source: source,
		TokenID: a.TokenID, CSRFToken: csrf, CreatedAt: now, ExpiresAt: expires.UTC().Truncate(time.Microsecond),
	}
	return sess.touched(now, idle), value, nil
}

// Authenticate returns the live session of a cookie value, its idle expiry
// moved forward (written at most once a minute). Errors wrap
// modelkeep.ErrUnauthenticated when there is no live session: unknown,
// signed out, expired, idle too long, or its token revoked or expired.
func (s *Service) Authenticate(ctx context.Context, cookie string) (Session, error) {
	if !validValue(cookie) {
		return Session{}, unauthenticated("invalid session cookie")
	}
	sess, err := s.store.GetSession(ctx, hashValue(cookie))
	if errors.Is(err, modelkeep.ErrNotFound) {
		return Session{}, unauthenticated("no such session")
	}
	if err != nil {
		return Session{}, fmt.Errorf("get session: %w", err)
	}
	now := s.clock()
	if err := sess.check(now); err != nil {
		return Session{}, err
	}
	if err := s.checkToken(ctx, sess, now); err != nil {
		return Session{}, err
	}
	if sess.needsTouch(now) {
		sess = sess.touched(now, s.idle)
		if err := s.store.TouchSession(ctx, sess.ID, sess.LastSeenAt, sess.IdleExpiresAt); err != nil {
			return Session{}, fmt.Errorf("touch session: %w", err)
		}
	}
	return sess, nil
}

// checkToken refuses a session whose Modelkeep token was revoked or has
// expired, through the registry's token lookup (cached for the token cache
// TTL; a revocation through this process applies at once).
func (s *Service) checkToken(ctx context.Context, sess Session, now time.Time) error {
	if sess.TokenID == "" {
		return nil
	}
	t, err := s.lookupToken(ctx, sess.TokenID)
	switch {
	case errors.Is(err, modelkeep.ErrNotFound):
		return unauthenticated("the session's token no longer exists")
	case err != nil:
		return fmt.Errorf("look up the session's token: %w", err)
	case t.RevokedAt != nil:
		return unauthenticated("the session's token was revoked")
	case !t.Active(now):
		return unauthenticated("the session's token expired")
	}
	return nil
}

// Logout revokes a session (its cookie is refused from now on) and records
// the sign-out.
func (s *Service) Logout(ctx context.Context, sess Session) error {
	err := s.store.InSessionTx(ctx, func(tx Store) error {
		if err := tx.RevokeSession(ctx, sess.ID, s.clock()); err != nil {
			return err
		}
		_, err := s.audit.Record(ctx, tx, ActionLogout, sess.resource(), map[string]any{"source": sess.Source})
		return err
	})
	if err != nil {
		return fmt.Errorf("end session: %w", err)
	}
	return nil
}

// Sweep removes sessions and sign-ins that ended more than a minute ago
// (the grace keeps a session a request is still reading).
func (s *Service) Sweep(ctx context.Context) (int64, error) {
	n, err := s.store.DeleteEndedSessions(ctx, s.clock().Add(-time.Minute))
	if err != nil {
		return n, fmt.Errorf("sweep sessions: %w", err)
	}
	return n, nil
}

// refuse records a refused sign-in.
func (s *Service) refuse(ctx context.Context, source, reason string) {
	s.audit.RecordRefusal(ctx, ActionLogin, "sessions", map[string]any{"source": source, "reason": reason})
}

func unauthenticated(msg string) error {
	return modelkeep.Errorf(modelkeep.ErrUnauthenticated, "%s", msg)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
