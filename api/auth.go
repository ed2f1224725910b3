package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/websession"
)

// Authenticator turns an Authorization header into the caller. Errors wrap
// modelkeep.ErrUnauthenticated (401), or ErrUnavailable when the token
// cannot be checked right now.
type Authenticator interface {
	Authenticate(ctx context.Context, header string) (modelkeep.Actor, error)
}

// DeniedRecorder is told about every refused authorisation (403), for the
// audit log.
type DeniedRecorder func(ctx context.Context, actor modelkeep.Actor, operationID, resource, reason string)

// access is what an operation of openapi.yaml allows.
type access struct {
	operationID string
	public      bool     // security: [] — no token needed
	roles       []string // x-roles
}

var specParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// echoPath turns an OpenAPI path into the Echo route that serves it: {x}
// becomes :x, and the trailing {path} of the byte routes becomes *.
func echoPath(p string) string {
	if strings.HasSuffix(p, "/files/{path}") {
		p = strings.TrimSuffix(p, "{path}") + "*"
	}
	return specParam.ReplaceAllString(p, ":$1")
}

// accessTable reads the x-roles of every operation: the one place where
// who may call what is declared. Every operation that requires a token must
// declare its roles, else the server refuses to start.
func accessTable(doc *openapi3.T) (map[string]access, error) {
	table := map[string]access{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			a := access{operationID: op.OperationID}
			if op.Security != nil && len(*op.Security) == 0 {
				a.public = true
			} else {
				raw, ok := op.Extensions["x-roles"].([]any)
				if !ok || len(raw) == 0 {
					return nil, fmt.Errorf("openapi operation %s declares no x-roles", op.OperationID)
				}
				for _, r := range raw {
					role, _ := r.(string)
					if !slices.Contains(modelkeep.Roles, role) {
						return nil, fmt.Errorf("openapi operation %s: unknown role %v in x-roles", op.OperationID, r)
					}
					a.roles = append(a.roles, role)
				}
			}
			table[method+" "+echoPath(path)] = a
		}
	}
	return table, nil
}

// Sessions authenticates browser session cookies (websession.Service).
type Sessions interface {
	Authenticate(ctx context.Context, cookie string) (websession.Session, error)
}

// AuthOptions tune Authorize.
type AuthOptions struct {
	// Denied is told about every refused authorisation (403).
	Denied DeniedRecorder
	// Sessions, when set, lets the session cookie authenticate requests
	// that carry no Authorization header.
	Sessions Sessions
	// Origin is the server's own origin (scheme://host[:port] of the
	// public URL), which a change made from a browser must come from; ""
	// takes it from each request's Host.
	Origin string
}

// Authorize authenticates the caller of every operation that needs a token,
// checks its roles against the operation's x-roles and its model scope
// against the {model} of the path, and puts the actor in the request's
// context. A request with an Authorization header is authenticated by it; one
// without, by the session cookie, and then a change (POST, PUT, PATCH,
// DELETE) must also prove it comes from Modelkeep's own pages (checkCSRF).
// Unknown routes pass through (Echo answers 404/405).
func Authorize(doc *openapi3.T, authn Authenticator, opts AuthOptions) (echo.MiddlewareFunc, error) {
	table, err := accessTable(doc)
	if err != nil {
		return nil, err
	}
	deny := func(ctx context.Context, actor modelkeep.Actor, a access, path, reason string) {
		if opts.Denied != nil {
			opts.Denied(ctx, actor, a.operationID, path, reason)
		}
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			a, ok := table[req.Method+" "+c.Path()]
			if !ok {
				return next(c)
			}
			if a.public {
				// The sign-in is the one public change: a page of another
				// site must not sign the browser in (to an account of its
				// choosing).
				if fromBrowser(req) && isChange(req.Method) {
					if err := checkOrigin(req, opts.Origin); err != nil {
						deny(req.Context(), modelkeep.Actor{}, a, req.URL.Path, err.Error())
						return err
					}
				}
				return next(c)
			}
			actor, sess, err := authenticate(req, authn, opts.Sessions)
			if err != nil {
				return err
			}
			if len(actor.Subject) > maxSubjectLen {
				// The subject is recorded in every audit event the caller
				// causes; one that cannot be stored must not get in.
				return modelkeep.Errorf(modelkeep.ErrUnauthenticated, "the token's subject is longer than %d bytes", maxSubjectLen)
			}
			ctx := modelkeep.WithActor(req.Context(), actor)
			if sess != nil {
				ctx = withSession(ctx, *sess)
			}
			c.SetRequest(req.WithContext(ctx))
			if sess != nil && isChange(req.Method) {
				if err := checkCSRF(req, *sess, opts.Origin); err != nil {
					deny(ctx, actor, a, req.URL.Path, err.Error())
					return err
				}
			}
			if !actor.HasAnyRole(a.roles...) {
				reason := fmt.Sprintf("%s needs one of the roles %s", a.operationID, strings.Join(a.roles, ", "))
				deny(ctx, actor, a, req.URL.Path, reason)
				return modelkeep.Errorf(modelkeep.ErrForbidden, "%s", reason)
			}
			// Decoded as the handlers decode it: fraud%2Ddetector is
			// fraud-detector, for the scope as for everything else.
			model, err := rawParam(c, "model")
			if err != nil {
				return err
			}
			if model != "" && !actor.CanAccessModel(model) {
				reason := fmt.Sprintf("the token is not valid for model %q", model)
				deny(ctx, actor, a, req.URL.Path, reason)
				return modelkeep.Errorf(modelkeep.ErrForbidden, "%s", reason)
			}
			return next(c)
		}
	}, nil
}

// authenticate finds the caller: by the Authorization header when there is
// one (even an empty one: it says the client meant to send a token), else
// by the session cookie; then the session is returned too.
func authenticate(req *http.Request, authn Authenticator, sessions Sessions) (modelkeep.Actor, *websession.Session, error) {
	if !fromBrowser(req) || sessions == nil {
		actor, err := authn.Authenticate(req.Context(), req.Header.Get(echo.HeaderAuthorization))
		return actor, nil, err
	}
	cookie, err := req.Cookie(SessionCookie)
	if err != nil {
		// Neither a token nor a session: the bearer check names what is
		// missing.
		actor, err := authn.Authenticate(req.Context(), "")
		return actor, nil, err
	}
	sess, err := sessions.Authenticate(req.Context(), cookie.Value)
	if err != nil {
		return modelkeep.Actor{}, nil, err
	}
	return sess.Actor(), &sess, nil
}

// fromBrowser reports whether a request may carry ambient credentials: it
// has no Authorization header, which a page of another site cannot add
// without a CORS preflight this server never grants.
func fromBrowser(req *http.Request) bool {
	return len(req.Header.Values(echo.HeaderAuthorization)) == 0
}

// isChange reports whether a method changes something: the requests CSRF
// protection guards (GET and HEAD change nothing here).
func isChange(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return true
}

// checkCSRF is the rule for a change made with the session cookie: it
// comes from this server's own pages (checkOrigin) and carries the
// session's CSRF token, which only those pages can read (GET
// /api/v1/session), in the X-CSRF-Token header.
func checkCSRF(req *http.Request, sess websession.Session, ownOrigin string) error {
	if err := checkOrigin(req, ownOrigin); err != nil {
		return err
	}
	token := req.Header.Get(CSRFHeader)
	switch {
	case token == "":
		return modelkeep.Errorf(modelkeep.ErrCSRF, "a change made with the session cookie needs the session's CSRF token in the %s header", CSRFHeader)
	case !sess.EqualCSRF(token):
		return modelkeep.Errorf(modelkeep.ErrCSRF, "the %s header is not this session's CSRF token", CSRFHeader)
	}
	return nil
}

// checkOrigin refuses a browser's change that says it comes from another
// site: an Origin header (sent by browsers with every cross-origin request
// and every POST, PUT, PATCH and DELETE) that is not this server's own, or
// Sec-Fetch-Site saying the request is cross-site. A request with neither
// header (not a modern browser's) is left to the CSRF token.
func checkOrigin(req *http.Request, ownOrigin string) error {
	if site := req.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return modelkeep.Errorf(modelkeep.ErrCSRF, "the request comes from another site (Sec-Fetch-Site: %s)", site)
	}
	origin := req.Header.Get(echo.HeaderOrigin)
	if origin == "" {
		return nil
	}
	if ownOrigin == "" {
		ownOrigin = requestOrigin(req)
	}
	if !strings.EqualFold(origin, ownOrigin) {
		return modelkeep.Errorf(modelkeep.ErrCSRF, "the request comes from another origin (%q, not %q)", truncate(origin, 100), ownOrigin)
	}
	return nil
}

// requestOrigin is the origin the request was addressed to, when no public
// URL says what it is.
func requestOrigin(req *http.Request) string {
	scheme := "http"
	if req.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + req.Host
}

// OriginOf is the origin (RFC 6454: scheme://host[:port], lowercase, no
// default port) of a public URL such as https://models.example.com/.
func OriginOf(u *url.URL) string {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port == "" || (u.Scheme == "https" && port == "443") || (u.Scheme == "http" && port == "80") {
		return strings.ToLower(u.Scheme) + "://" + host
	}
	return strings.ToLower(u.Scheme) + "://" + host + ":" + port
}

// maxSubjectLen bounds the subjects of identity-provider tokens (Modelkeep's
// own are at most 128 bytes).
const maxSubjectLen = 200

// wwwAuthenticate is sent with every 401, as RFC 6750 asks.
const wwwAuthenticate = `Bearer realm="modelkeep"`
