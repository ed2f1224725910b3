package api

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api/openapi"
	"github.com/modelkeep/modelkeep/websession"
)

// The browser session's wire names: fixed, the web UI relies on them.
const (
	// SessionCookie holds the session's random value (HttpOnly,
	// SameSite=Strict, Path=/).
	SessionCookie = "mk_session"
	// CSRFHeader must carry the session's CSRF token on every change made
	// with the cookie.
	CSRFHeader = "X-CSRF-Token"
	// oidcStateCookie binds a sign-in at the identity provider to the
	// browser that began it. SameSite=Lax, because the provider's redirect
	// back is a cross-site navigation, on which a Strict cookie is not sent.
	oidcStateCookie = "mk_oidc_state"
	// OIDCCallbackPath is where the identity provider sends the browser
	// back (the redirect URI is the public URL and this path); the state
	// cookie is sent there only.
	OIDCCallbackPath = "/api/v1/session/oidc/callback"
	oidcLoginPath    = "/api/v1/session/oidc/login"
	// oidcStateMaxAge matches the sign-in's lifetime in websession.
	oidcStateMaxAge = 10 * time.Minute
)

// sessionKey is the context key of the session that authenticated a
// request (set by Authorize).
type sessionKey struct{}

func withSession(ctx context.Context, s websession.Session) context.Context {
	return context.WithValue(ctx, sessionKey{}, s)
}

func sessionFrom(ctx context.Context) (websession.Session, bool) {
	s, ok := ctx.Value(sessionKey{}).(websession.Session)
	return s, ok
}

// tlsKey marks a request that came over TLS (RequestContext sets it).
type tlsKey struct{}

// secureCookies reports whether cookies get the Secure attribute: under an
// https public URL, or when the request itself came over TLS.
func (h *Handlers) secureCookies(ctx context.Context) bool {
	tls, _ := ctx.Value(tlsKey{}).(bool)
	return h.secure || tls
}

// sessionCookie is the Set-Cookie value of a new session: it lives as long
// as the session may.
func (h *Handlers) sessionCookie(ctx context.Context, value string, s websession.Session) string {
	c := http.Cookie{
		Name: SessionCookie, Value: value, Path: "/", Expires: s.ExpiresAt,
		MaxAge:   int(s.ExpiresAt.Sub(s.CreatedAt) / time.Second),
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: h.secureCookies(ctx),
	}
	return c.String()
}

// clearedSessionCookie is the Set-Cookie value that removes the cookie.
func (h *Handlers) clearedSessionCookie(ctx context.Context) string {
	c := http.Cookie{
		Name: SessionCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: h.secureCookies(ctx),
	}
	return c.String()
}

func toSessionInfo(s websession.Session) openapi.SessionInfo {
	roles := make([]openapi.Role, 0, len(s.Roles))
	for _, r := range s.Roles {
		roles = append(roles, openapi.Role(r))
	}
	models := s.Models
	if models == nil {
		models = []string{}
	}
	return openapi.SessionInfo{
		Subject: s.Subject, Roles: roles, Models: models, Source: openapi.SessionInfoSource(s.Source),
		CsrfToken: s.CSRFToken, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt, IdleExpiresAt: s.IdleExpiresAt,
	}
}

// errNoSessions answers when the server was built without sessions (tests
// of the HTTP layer alone).
var errNoSessions = modelkeep.Errorf(modelkeep.ErrUnavailable, "browser sessions are not available on this server")

// errNoSession answers GET and DELETE /session for a request that no
// session authenticated (one with an Authorization header).
var errNoSession = modelkeep.Errorf(modelkeep.ErrUnauthenticated, "this request was not made with a session cookie")

func (h *Handlers) CreateSession(ctx context.Context, req openapi.CreateSessionRequestObject) (openapi.CreateSessionResponseObject, error) {
	if h.sessions == nil {
		return nil, errNoSessions
	}
	sess, value, err := h.sessions.Login(ctx, req.Body.Token)
	if err != nil {
		return nil, err
	}
	return openapi.CreateSession201JSONResponse{
		Body:    toSessionInfo(sess),
		Headers: openapi.CreateSession201ResponseHeaders{SetCookie: h.sessionCookie(ctx, value, sess)},
	}, nil
}

func (h *Handlers) GetSession(ctx context.Context, _ openapi.GetSessionRequestObject) (openapi.GetSessionResponseObject, error) {
	sess, ok := sessionFrom(ctx)
	if !ok {
		return nil, errNoSession
	}
	return openapi.GetSession200JSONResponse{Body: toSessionInfo(sess)}, nil
}

func (h *Handlers) DeleteSession(ctx context.Context, _ openapi.DeleteSessionRequestObject) (openapi.DeleteSessionResponseObject, error) {
	sess, ok := sessionFrom(ctx)
	if !ok {
		return nil, errNoSession
	}
	if err := h.sessions.Logout(ctx, sess); err != nil {
		return nil, err
	}
	return openapi.DeleteSession204Response{
		Headers: openapi.DeleteSession204ResponseHeaders{SetCookie: h.clearedSessionCookie(ctx)},
	}, nil
}

func (h *Handlers) GetSessionOIDC(ctx context.Context, _ openapi.GetSessionOIDCRequestObject) (openapi.GetSessionOIDCResponseObject, error) {
	if h.sessions == nil {
		return openapi.GetSessionOIDC200JSONResponse{Body: openapi.SessionOIDC{Enabled: false}}, nil
	}
	issuer, enabled := h.sessions.OIDC()
	if !enabled {
		return openapi.GetSessionOIDC200JSONResponse{Body: openapi.SessionOIDC{Enabled: false}}, nil
	}
	login := oidcLoginPath
	return openapi.GetSessionOIDC200JSONResponse{Body: openapi.SessionOIDC{Enabled: true, LoginUrl: &login, Issuer: &issuer}}, nil
}

func (h *Handlers) StartSessionOIDC(ctx context.Context, req openapi.StartSessionOIDCRequestObject) (openapi.StartSessionOIDCResponseObject, error) {
	if h.sessions == nil {
		return nil, errNoSessions
	}
	authURL, state, err := h.sessions.BeginOIDC(ctx, deref(req.Params.ReturnTo))
	if err != nil {
		return nil, err
	}
	c := http.Cookie{
		Name: oidcStateCookie, Value: state, Path: OIDCCallbackPath, MaxAge: int(oidcStateMaxAge / time.Second),
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: h.secureCookies(ctx),
	}
	cookie := c.String()
	return openapi.StartSessionOIDC302Response{
		Headers: openapi.StartSessionOIDC302ResponseHeaders{Location: authURL, SetCookie: &cookie},
	}, nil
}

// CompleteSessionOIDC is a browser navigation: every outcome is a redirect,
// to the sign-in's page or to the UI with the reason it failed, never an
// error page (and never a 500 for what the identity provider or the browser
// sent).
func (h *Handlers) CompleteSessionOIDC(ctx context.Context, req openapi.CompleteSessionOIDCRequestObject) (openapi.CompleteSessionOIDCResponseObject, error) {
	if h.sessions == nil {
		return loginFailed(websession.CodeNotConfigured), nil
	}
	p := req.Params
	sess, value, returnTo, err := h.sessions.CompleteOIDC(ctx, websession.Callback{
		State: deref(p.State), Code: deref(p.Code), Error: deref(p.Error), BrowserState: deref(p.MkOidcState),
	})
	if err != nil {
		var le *websession.LoginError
		code := "internal"
		switch {
		case errors.As(err, &le):
			code = le.Code
		case errors.Is(err, modelkeep.ErrUnavailable):
			code = websession.CodeUnavailable
		}
		if code == "internal" || code == websession.CodeUnavailable {
			h.logger.WarnContext(ctx, "identity provider sign-in failed", "code", code, "err", err)
		}
		return loginFailed(code), nil
	}
	cookie := h.sessionCookie(ctx, value, sess)
	return openapi.CompleteSessionOIDC302Response{
		Headers: openapi.CompleteSessionOIDC302ResponseHeaders{Location: returnTo, SetCookie: &cookie},
	}, nil
}

// loginFailed sends the browser to the UI, which shows why.
func loginFailed(code string) openapi.CompleteSessionOIDC302Response {
	return openapi.CompleteSessionOIDC302Response{Headers: openapi.CompleteSessionOIDC302ResponseHeaders{
		Location: websession.DefaultReturnTo + "?" + url.Values{"login_error": {code}}.Encode(),
	}}
}
