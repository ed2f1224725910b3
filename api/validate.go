package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/modelkeep/modelkeep"
)

// LoadSpec parses openapi.yaml (embedded in the binary), ready for routing
// requests: its servers are dropped so that routes match whatever host
// serves them. The generated package's embedded copy lacks the operations
// excluded from generation, so the whole file is read here.
func LoadSpec() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(modelkeep.OpenAPISpec)
	if err != nil {
		return nil, fmt.Errorf("load openapi spec: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi spec is invalid: %w", err)
	}
	doc.Servers = nil
	return doc, nil
}

// isByteRoute reports whether an Echo route streams raw bytes; such routes
// must never be read whole, so the validator leaves their bodies alone.
func isByteRoute(routePath string) bool {
	return strings.HasSuffix(routePath, "/*")
}

// MaxJSONBody bounds a JSON request body in bytes as sent. A version with
// 1,024 params of 8 KiB of plain text stays below it; values full of
// characters JSON escapes (quotes, control characters) take more bytes on
// the wire and can reach it, and are then refused with 413.
const MaxJSONBody = 16 << 20

// LimitJSONBodies refuses a JSON request body over MaxJSONBody with 413
// before it is read into memory (by Content-Length, or as it streams). The
// byte routes stream to the blob store and keep their own limit.
func LimitJSONBodies() echo.MiddlewareFunc {
	return middleware.BodyLimitWithConfig(middleware.BodyLimitConfig{
		Limit:   fmt.Sprintf("%dB", MaxJSONBody),
		Skipper: func(c echo.Context) bool { return isStreamingBody(c.Request().Method, c.Path()) },
	})
}

// ValidateRequests checks JSON requests (parameters and bodies) against the
// spec before any handler runs: wrong types, unknown fields and bad patterns
// are 400 with a message naming the field.
func ValidateRequests(doc *openapi3.T) echo.MiddlewareFunc {
	opts := &openapi3filter.Options{
		// Authentication is the auth middleware's job, not the validator's.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		MultiError:         false,
	}
	opts.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string {
		if ptr := err.JSONPointer(); len(ptr) > 0 {
			return fmt.Sprintf("field %q: %s", strings.Join(ptr, "."), err.Reason)
		}
		return err.Reason
	})
	// Echo has matched the route already: its path template names the
	// spec's operation (TestValidatorFindsEveryRoute), so no second router
	// runs. Paths are used as Echo spells them, {name} as :name.
	routes := specRoutes(doc)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if !strings.HasPrefix(req.URL.Path, "/api/") || isStreamingBody(req.Method, c.Path()) {
				return next(c)
			}
			route, params, err := matchedRoute(c, routes)
			if err != nil {
				return err
			}
			if route == nil {
				// Not a route of the spec: Echo answers 404/405 itself.
				return next(c)
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
			if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
				return validationError(err)
			}
			return next(c)
		}
	}
}

// specRoutes returns the spec's operations by method and Echo path
// template ("GET /api/v1/models/:model").
func specRoutes(doc *openapi3.T) map[string]*routers.Route {
	routes := map[string]*routers.Route{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			routes[method+" "+echoPath(path)] = &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
		}
	}
	return routes
}

// matchedRoute returns the spec route of the route Echo matched and its
// path parameters decoded as the handlers decode them (rawParam); a nil
// route when the spec has no such route.
func matchedRoute(c echo.Context, routes map[string]*routers.Route) (*routers.Route, map[string]string, error) {
	route := routes[c.Request().Method+" "+c.Path()]
	if route == nil {
		return nil, nil, nil
	}
	params := make(map[string]string, len(c.ParamNames()))
	for _, name := range c.ParamNames() {
		v, err := rawParam(c, name)
		if err != nil {
			return nil, nil, err
		}
		params[name] = v
	}
	return route, params, nil
}

func validationError(err error) error {
	if he := (*echo.HTTPError)(nil); errors.As(err, &he) && he.Code == http.StatusRequestEntityTooLarge {
		return he // the body was cut off by LimitJSONBodies
	}
	var re *openapi3filter.RequestError
	if errors.As(err, &re) {
		var se *openapi3.SchemaError
		switch {
		case re.Parameter != nil && errors.As(re.Err, &se):
			return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid %s parameter %q: %s", re.Parameter.In, re.Parameter.Name, se.Reason)
		case re.Parameter != nil:
			return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid %s parameter %q: %s", re.Parameter.In, re.Parameter.Name, reasonOf(re))
		case re.RequestBody != nil:
			return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid request body: %s", reasonOf(re))
		}
		return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid request: %s", reasonOf(re))
	}
	return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid request: %v", err)
}

func reasonOf(re *openapi3filter.RequestError) string {
	if re.Err != nil {
		return re.Err.Error()
	}
	return re.Reason
}
