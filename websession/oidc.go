package websession

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/modelkeep/modelkeep"
)

// oidcLoginTTL bounds how long a sign-in at the identity provider may take
// between leaving Modelkeep and coming back.
const oidcLoginTTL = 10 * time.Minute

// DefaultReturnTo is where a sign-in lands when it names no page.
const DefaultReturnTo = "/ui/"

// Provider is the identity provider as the authorization-code flow needs it
// (auth.OIDCClient, adapted in server/).
type Provider interface {
	// AuthorizationEndpoint is the provider's authorization endpoint, from
	// its discovery document.
	AuthorizationEndpoint(ctx context.Context) (string, error)
	// Redeem exchanges an authorization code and its PKCE verifier at the
	// token endpoint and verifies the ID token it returns (signature by the
	// provider's keys, issuer, audience = the client id, expiry). Errors
	// wrap modelkeep.ErrUnauthenticated when the provider refuses the code
	// or the token is not acceptable, modelkeep.ErrUnavailable when the
	// provider cannot be reached.
	Redeem(ctx context.Context, code, codeVerifier, redirectURI string) (Identity, error)
}

// Identity is who an ID token names: the actor (Subject "oidc:<name>",
// roles mapped from its groups as for the provider's bearer tokens) and the
// nonce it carries.
type Identity struct {
	Actor modelkeep.Actor
	Nonce string
}

// OIDCOptions configure sign-in at the identity provider.
type OIDCOptions struct {
	Provider Provider
	ClientID string
	// RedirectURI is <public-url>/api/v1/session/oidc/callback, as
	// registered at the provider.
	RedirectURI string
	// Issuer is the provider's issuer URL, shown to the UI.
	Issuer string
	// Scopes asked for; "openid" is always among them.
	Scopes []string
}

func (o *OIDCOptions) validate() error {
	if o.Provider == nil || o.ClientID == "" || o.RedirectURI == "" {
		return errors.New("websession: oidc needs a provider, a client id and a redirect uri")
	}
	if !slices.Contains(o.Scopes, "openid") {
		o.Scopes = append([]string{"openid"}, o.Scopes...)
	}
	return nil
}

// OIDCLogin is a sign-in in flight at the identity provider, stored under
// the SHA-256 of its state until the provider sends the browser back.
type OIDCLogin struct {
	ID           string // hex SHA-256 of the state
	Nonce        string
	CodeVerifier string
	ReturnTo     string
	CreatedAt    time.Time
	ExpiresAt    time.Time
}

// Codes of a failed sign-in at the identity provider: what the UI is told
// (/ui/?login_error=<code>).
const (
	CodeInvalidRequest = "invalid_request" // no state or no code
	CodeStateMismatch  = "state_mismatch"  // the state is not this browser's
	CodeStateUnknown   = "state_unknown"   // never begun here, used already, or expired
	CodeIdPError       = "idp_error"       // the provider did not sign the user in
	CodeTokenRejected  = "token_rejected"  // the code was refused or the ID token is not acceptable
	CodeNonceMismatch  = "nonce_mismatch"  // the ID token is not this sign-in's
	CodeNoRoles        = "no_roles"        // the user's groups map to no role
	CodeNotConfigured  = "not_configured"  // no identity provider sign-in on this server
	CodeUnavailable    = "unavailable"     // the provider or the database cannot answer
)

// LoginError is a failed sign-in at the identity provider: a short code
// for the UI, and the error (of one of the root's kinds) with the detail.
type LoginError struct {
	Code string
	err  error
}

func (e *LoginError) Error() string { return e.err.Error() }
func (e *LoginError) Unwrap() error { return e.err }

// OIDC reports whether sign-in at the identity provider is offered, and the
// provider's issuer.
func (s *Service) OIDC() (issuer string, enabled bool) {
	if s.oidc == nil {
		return "", false
	}
	return s.oidc.Issuer, true
}

// BeginOIDC starts a sign-in at the identity provider: it stores a fresh
// state, nonce and PKCE verifier for ten minutes and returns the URL to
// send the browser to and the state, which the browser must present again
// with the callback (the HTTP layer keeps it in a cookie). returnTo, where
// the browser lands afterwards, must be a path under /ui/.
func (s *Service) BeginOIDC(ctx context.Context, returnTo string) (authURL, state string, err error) {
	if s.oidc == nil {
		return "", "", modelkeep.Errorf(modelkeep.ErrNotFound, "sign-in at an identity provider is not configured")
	}
	returnTo, err = checkReturnTo(returnTo)
	if err != nil {
		return "", "", err
	}
	endpoint, err := s.oidc.Provider.AuthorizationEndpoint(ctx)
	if err != nil {
		return "", "", fmt.Errorf("identity provider: %w", err)
	}
	login, state, err := newOIDCLogin(returnTo, s.clock())
	if err != nil {
		return "", "", err
	}
	authURL, err = authorizationURL(endpoint, s.oidc, state, login)
	if err != nil {
		return "", "", err
	}
	if err := s.store.CreateOIDCLogin(ctx, login); err != nil {
		return "", "", fmt.Errorf("begin sign-in: %w", err)
	}
	return authURL, state, nil
}

// newOIDCLogin makes the secrets of one sign-in.
func newOIDCLogin(returnTo string, now time.Time) (OIDCLogin, string, error) {
	var secrets [3]string
	for i := range secrets {
		v, err := randomValue()
		if err != nil {
			return OIDCLogin{}, "", err
		}
		secrets[i] = v
	}
	state := secrets[0]
	return OIDCLogin{
		ID: hashValue(state), Nonce: secrets[1], CodeVerifier: secrets[2], ReturnTo: returnTo,
		CreatedAt: now, ExpiresAt: now.Add(oidcLoginTTL),
	}, state, nil
}

// authorizationURL is the provider's authorization endpoint with the
// request of the authorization-code flow with PKCE (RFC 6749 §4.1.1, RFC
// 7636 §4.3, OpenID Connect Core §3.1.2.1) added to its own query.
func authorizationURL(endpoint string, o *OIDCOptions, state string, l OIDCLogin) (string, error) {
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", modelkeep.Errorf(modelkeep.ErrUnavailable, "the identity provider's authorization endpoint is not an http(s) url")
	}
	q := u.Query()
	q.Set("response_type", "code")
	q.Set("client_id", o.ClientID)
	q.Set("redirect_uri", o.RedirectURI)
	q.Set("scope", strings.Join(o.Scopes, " "))
	q.Set("state", state)
	q.Set("nonce", l.Nonce)
	q.Set("code_challenge", pkceChallenge(l.CodeVerifier))
	q.Set("code_challenge_method", "S256")
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// maxReturnTo bounds return_to (it is stored with the sign-in).
const maxReturnTo = 2048

// checkReturnTo is the rule for where a sign-in may land: a path of this
// server under /ui/ (with a query or fragment if need be), never another
// site, so that the callback is no open redirect. "" is DefaultReturnTo.
func checkReturnTo(s string) (string, error) {
	if s == "" {
		return DefaultReturnTo, nil
	}
	bad := func(why string) (string, error) {
		return "", modelkeep.Errorf(modelkeep.ErrInvalid, "return_to: %s", why)
	}
	if len(s) > maxReturnTo {
		return bad(fmt.Sprintf("longer than %d bytes", maxReturnTo))
	}
	// Browsers read a backslash as a slash and drop tabs and newlines:
	// "/\evil.example" would leave the site.
	if strings.ContainsFunc(s, func(r rune) bool { return r == '\\' || r < 0x20 || r == 0x7f }) {
		return bad("backslashes and control characters are not allowed")
	}
	if !strings.HasPrefix(s, DefaultReturnTo) {
		return bad("must be a path under /ui/")
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" {
		return bad("must be a path under /ui/")
	}
	// Dot segments, plain or percent-encoded, must not climb out of /ui/.
	if p := path.Clean(u.Path); p != "/ui" && !strings.HasPrefix(p, DefaultReturnTo) {
		return bad("must stay under /ui/")
	}
	return s, nil
}

// Callback is what the identity provider's redirect back brings: the query's
// state, code and error, and the state this browser kept.
type Callback struct {
	State, Code, Error string
	BrowserState       string
}

// CompleteOIDC finishes a sign-in at the identity provider: the state must
// be this browser's and one begun here in the last ten minutes, and is used
// up; the code is redeemed with the PKCE verifier; the ID token must carry
// the sign-in's nonce. It returns the session, its cookie value and where
// the browser goes next. Failures are *LoginError (with the code for the
// UI), recorded in the audit log as refused sign-ins.
func (s *Service) CompleteOIDC(ctx context.Context, cb Callback) (Session, string, string, error) {
	fail := func(code string, err error) (Session, string, string, error) {
		if !errors.Is(err, modelkeep.ErrUnavailable) {
			s.refuse(ctx, SourceOIDC, code+": "+err.Error())
		}
		return Session{}, "", "", &LoginError{Code: code, err: err}
	}
	switch {
	case s.oidc == nil:
		return Session{}, "", "", &LoginError{Code: CodeNotConfigured,
			err: modelkeep.Errorf(modelkeep.ErrNotFound, "sign-in at an identity provider is not configured")}
	case cb.State == "":
		return fail(CodeInvalidRequest, unauthenticated("the callback has no state"))
	case !equalSecret(cb.BrowserState, cb.State):
		return fail(CodeStateMismatch, unauthenticated("the state is not this browser's sign-in"))
	case !validValue(cb.State):
		return fail(CodeStateUnknown, unauthenticated("unknown sign-in state"))
	}
	login, err := s.store.TakeOIDCLogin(ctx, hashValue(cb.State))
	switch {
	case errors.Is(err, modelkeep.ErrNotFound):
		return fail(CodeStateUnknown, unauthenticated("unknown or already used sign-in state"))
	case err != nil:
		return fail(CodeUnavailable, fmt.Errorf("take sign-in: %w", err))
	}
	now := s.clock()
	switch {
	case !now.Before(login.ExpiresAt):
		return fail(CodeStateUnknown, unauthenticated("the sign-in took too long"))
	case cb.Error != "":
		return fail(CodeIdPError, unauthenticated(fmt.Sprintf("the identity provider answered %q", clip(cb.Error, 64))))
	case cb.Code == "":
		return fail(CodeInvalidRequest, unauthenticated("the callback has no code"))
	}
	id, err := s.oidc.Provider.Redeem(ctx, cb.Code, login.CodeVerifier, s.oidc.RedirectURI)
	switch {
	case errors.Is(err, modelkeep.ErrUnavailable):
		return fail(CodeUnavailable, err)
	case err != nil:
		return fail(CodeTokenRejected, err)
	case !equalSecret(login.Nonce, id.Nonce):
		return fail(CodeNonceMismatch, unauthenticated("the ID token's nonce is not this sign-in's"))
	}
	id.Actor.Models, id.Actor.TokenID = nil, ""
	sess, cookie, err := s.start(ctx, id.Actor, SourceOIDC, now.Add(s.maxAge))
	if err != nil {
		// start has recorded a refusal itself.
		code := CodeTokenRejected
		switch {
		case errors.Is(err, modelkeep.ErrForbidden):
			code = CodeNoRoles
		case errors.Is(err, modelkeep.ErrUnavailable):
			code = CodeUnavailable
		}
		return Session{}, "", "", &LoginError{Code: code, err: err}
	}
	return sess, cookie, login.ReturnTo, nil
}

// clip shortens a value the identity provider (or whoever calls the
// callback) chose, for a message.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}
