package api

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
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

// Authorize authenticates the caller of every operation that needs a token,
// checks its roles against the operation's x-roles and its model scope
// against the {model} of the path, and puts the actor in the request's
// context. Unknown routes pass through (Echo answers 404/405).
func Authorize(doc *openapi3.T, authn Authenticator, denied DeniedRecorder) (echo.MiddlewareFunc, error) {
	table, err := accessTable(doc)
	if err != nil {
		return nil, err
	}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			a, ok := table[req.Method+" "+c.Path()]
			if !ok || a.public {
				return next(c)
			}
			actor, err := authn.Authenticate(req.Context(), req.Header.Get(echo.HeaderAuthorization))
			if err != nil {
				return err
			}
			if len(actor.Subject) > maxSubjectLen {
				// The subject is recorded in every audit event the caller
				// causes; one that cannot be stored must not get in.
				return modelkeep.Errorf(modelkeep.ErrUnauthenticated, "the token's subject is longer than %d bytes", maxSubjectLen)
			}
			ctx := modelkeep.WithActor(req.Context(), actor)
			c.SetRequest(req.WithContext(ctx))
			if !actor.HasAnyRole(a.roles...) {
				reason := fmt.Sprintf("%s needs one of the roles %s", a.operationID, strings.Join(a.roles, ", "))
				if denied != nil {
					denied(ctx, actor, a.operationID, req.URL.Path, reason)
				}
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
				if denied != nil {
					denied(ctx, actor, a.operationID, req.URL.Path, reason)
				}
				return modelkeep.Errorf(modelkeep.ErrForbidden, "%s", reason)
			}
			return next(c)
		}
	}, nil
}

// maxSubjectLen bounds the subjects of identity-provider tokens (Modelkeep's
// own are at most 128 bytes).
const maxSubjectLen = 200

// wwwAuthenticate is sent with every 401, as RFC 6750 asks.
const wwwAuthenticate = `Bearer realm="modelkeep"`
