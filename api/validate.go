package api

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/labstack/echo/v4"

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

// ValidateRequests checks JSON requests (parameters and bodies) against the
// spec before any handler runs: wrong types, unknown fields and bad patterns
// are 400 with a message naming the field.
func ValidateRequests(doc *openapi3.T) (echo.MiddlewareFunc, error) {
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("build openapi router: %w", err)
	}
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
	// spec's operation, so most requests skip the validator's own router
	// (a regular expression per route). Paths are used as Echo spells them,
	// {name} as :name.
	routes := specRoutes(doc)
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			if !strings.HasPrefix(req.URL.Path, "/api/") || isByteRoute(c.Path()) {
				return next(c)
			}
			route, params, err := matchedRoute(c, routes)
			if route == nil {
				route, params, err = router.FindRoute(req)
			}
			if err != nil {
				// Unknown routes and methods: Echo answers 404/405 itself.
				return next(c)
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
			if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
				return validationError(err)
			}
			return next(c)
		}
	}, nil
}

// specRoutes returns the spec's operations by method and Echo path
// template ("GET /api/v1/models/:model").
func specRoutes(doc *openapi3.T) map[string]*routers.Route {
	routes := map[string]*routers.Route{}
	for path, item := range doc.Paths.Map() {
		echoPath := specParamRE.ReplaceAllString(path, ":$1")
		for method, op := range item.Operations() {
			routes[method+" "+echoPath] = &routers.Route{Spec: doc, Path: path, PathItem: item, Method: method, Operation: op}
		}
	}
	return routes
}

// specParamRE matches a path parameter of the spec, {name}.
var specParamRE = regexp.MustCompile(`\{([^}/]+)\}`)

// matchedRoute returns the spec route of the route Echo matched and its
// path parameters, unescaped as the validator's router gives them; a nil
// route when the spec has no such route.
func matchedRoute(c echo.Context, routes map[string]*routers.Route) (*routers.Route, map[string]string, error) {
	route := routes[c.Request().Method+" "+c.Path()]
	if route == nil {
		return nil, nil, nil
	}
	names, values := c.ParamNames(), c.ParamValues()
	params := make(map[string]string, len(names))
	for i, name := range names {
		if i >= len(values) {
			break
		}
		v, err := url.PathUnescape(values[i])
		if err != nil {
			return nil, nil, nil // let the validator's router decide
		}
		params[name] = v
	}
	return route, params, nil
}

func validationError(err error) error {
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
