package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/oapi-codegen/runtime"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/strictjson"
)

// LoadSpec parses openapi.yaml (embedded in the binary), ready for routing
// requests: its servers are dropped so that routes match whatever host
// serves them. The generated package's embedded copy lacks the operations
// excluded from generation, so the whole file is read here.
//
// The document is parsed and validated once per process and shared: it is
// only read (every request of a server already reads it at once), and
// parsing it took 50 ms of CPU, which every server start paid again (in
// the tests, a few hundred times).
func LoadSpec() (*openapi3.T, error) { return loadSpec() }

var loadSpec = sync.OnceValues(func() (*openapi3.T, error) {
	doc, err := openapi3.NewLoader().LoadFromData(modelkeep.OpenAPISpec)
	if err != nil {
		return nil, fmt.Errorf("load openapi spec: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("openapi spec is invalid: %w", err)
	}
	doc.Servers = nil
	return doc, nil
})

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
// are 400 with a message naming the field. Integer parameters must be
// written canonically (no sign, no leading zero). A JSON body is read with
// the one strict decoder (internal/strictjson): data after the value, a key
// twice and invalid UTF-8 are 400. The value decoded there is the one
// validated against the schema and the one the generated handlers receive
// (through the Echo binder Register installs); the card routes bound by
// hand read the same bytes with the same decoder (modelcard.Decode).
func ValidateRequests(doc *openapi3.T) echo.MiddlewareFunc {
	opts := &openapi3filter.Options{
		// Authentication is the auth middleware's job, not the validator's.
		AuthenticationFunc: openapi3filter.NoopAuthenticationFunc,
		MultiError:         false,
		// JSON bodies are decoded and validated by validateJSONBody.
		ExcludeRequestBody: true,
	}
	opts.WithCustomSchemaErrorFunc(schemaErrorMessage)
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
			if err := checkIntegerParams(route, params, c.QueryParams()); err != nil {
				return err
			}
			in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts}
			if err := openapi3filter.ValidateRequest(req.Context(), in); err != nil {
				return validationError(err)
			}
			if err := validateJSONBody(c, in); err != nil {
				return err
			}
			return next(c)
		}
	}
}

// schemaErrorMessage names the field of a schema error in words; long keys
// in its path are shortened.
func schemaErrorMessage(err *openapi3.SchemaError) string {
	if ptr := err.JSONPointer(); len(ptr) > 0 {
		return fmt.Sprintf("field %q: %s", fieldName(ptr), schemaReason(err))
	}
	return schemaReason(err)
}

// formatWants says what a string of a format looks like, for the values
// that do not match it: the validator's own reason quotes the regular
// expression it matched with, which tells a person nothing.
var formatWants = map[string]string{
	"date-time": "expected RFC 3339, e.g. 2026-11-01T12:00:00Z",
	"date":      "expected a date, e.g. 2026-11-01",
}

// schemaReason is why a value does not fit its schema, in words.
func schemaReason(err *openapi3.SchemaError) string {
	if err.SchemaField == "format" && err.Schema != nil {
		if want, ok := formatWants[err.Schema.Format]; ok {
			if v, ok := err.Value.(string); ok {
				return fmt.Sprintf("%q: %s", strictjson.Prefix(v, maxQuoted), want)
			}
			return want
		}
	}
	return err.Reason
}

// fieldName joins a JSON path with dots, each key shortened to a prefix.
func fieldName(path []string) string {
	short := make([]string, len(path))
	for i, s := range path {
		short[i] = strictjson.Prefix(s, maxQuoted)
	}
	return strictjson.Prefix(strings.Join(short, "."), 4*maxQuoted)
}

// jsonBodyKey holds, on the Echo context, the body validateJSONBody decoded.
const jsonBodyKey = "modelkeep.json_body"

// jsonBody is a request body as the strict decoder read it.
type jsonBody struct {
	value any    // what strictjson.Decode returned
	data  []byte // the bytes, for the messages of binding errors
}

// validateJSONBody reads an operation's JSON request body with the strict
// decoder, validates the value against the operation's schema and keeps it
// on the context for the binder. The bytes are put back for the handlers
// bound by hand, which decode them with the same decoder. An operation
// without a request body, or with a body that is not JSON, is left to
// openapi3filter.
func validateJSONBody(c echo.Context, in *openapi3filter.RequestValidationInput) error {
	op := in.Route.Operation
	if op.RequestBody == nil || op.RequestBody.Value == nil {
		return nil
	}
	rb := op.RequestBody.Value
	req := c.Request()
	data, err := readBody(req)
	if err != nil {
		return err
	}
	if len(data) == 0 {
		if rb.Required {
			return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid request body: a JSON body is required")
		}
		return nil
	}
	ct := req.Header.Get(echo.HeaderContentType)
	media := rb.Content.Get(ct)
	if media == nil {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid request body: Content-Type %q is not accepted here; send %s",
			strictjson.Prefix(ct, maxQuoted), strings.Join(slices.Sorted(maps.Keys(rb.Content)), " or "))
	}
	// The media type as openapi3filter reads it, to agree on what is JSON.
	mt, _, _ := strings.Cut(ct, ";")
	mt = strings.ToLower(strings.TrimSpace(mt))
	if mt != "application/json" && !strings.HasSuffix(mt, "+json") {
		opts := *in.Options
		opts.ExcludeRequestBody = false
		if err := openapi3filter.ValidateRequestBody(req.Context(), &openapi3filter.RequestValidationInput{
			Request: req, PathParams: in.PathParams, Route: in.Route, Options: &opts,
		}, rb); err != nil {
			return validationError(err)
		}
		return nil
	}
	value, err := decodeJSON(data)
	if err != nil {
		return err
	}
	if media.Schema != nil && media.Schema.Value != nil {
		opts := []openapi3.SchemaValidationOption{
			openapi3.VisitAsRequest(),
			openapi3.SetSchemaErrorMessageCustomizer(schemaErrorMessage),
			openapi3.DefaultsSet(func() {}), // defaults are written into value
		}
		if in.Route.Spec.IsOpenAPI31OrLater() {
			opts = append(opts, openapi3.EnableJSONSchema2020())
		}
		if err := media.Schema.Value.VisitJSON(value, opts...); err != nil {
			return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid request body: %s", err.Error())
		}
	}
	c.Set(jsonBodyKey, jsonBody{value: value, data: data})
	return nil
}

// readBody reads a whole JSON body (LimitJSONBodies bounds it) and puts the
// bytes back for the handler.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	data, err := io.ReadAll(req.Body)
	req.Body.Close()
	if err != nil {
		if he := (*echo.HTTPError)(nil); errors.As(err, &he) {
			return nil, he // 413 from LimitJSONBodies
		}
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid request body: it could not be read")
	}
	req.Body = io.NopCloser(bytes.NewReader(data))
	req.ContentLength = int64(len(data))
	return data, nil
}

// decodeJSON is the one decoder of JSON request bodies.
func decodeJSON(data []byte) (any, error) {
	v, err := strictjson.Decode(data)
	if err != nil {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid request body: %s", err.Error())
	}
	return v, nil
}

// jsonBinder is the Echo binder Register installs: the generated handlers
// call it for their request bodies (and nothing else), and it hands them
// the value ValidateRequests decoded and validated, matching member names
// exactly. Without the validator (a handler test) it decodes the body
// itself, with the same decoder.
type jsonBinder struct{}

func (jsonBinder) Bind(i any, c echo.Context) error {
	body, ok := c.Get(jsonBodyKey).(jsonBody)
	if !ok {
		data, err := readBody(c.Request())
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(data)) == 0 {
			return emptyBody{modelkeep.Errorf(modelkeep.ErrInvalid, "invalid request body: a JSON body is required")}
		}
		v, err := decodeJSON(data)
		if err != nil {
			return err
		}
		body = jsonBody{value: v, data: data}
	}
	if err := runtime.BindJSONValue(body.value, i); err != nil {
		return bindError(body.data, i)
	}
	return nil
}

// emptyBody is the binder's error for an empty body: io.EOF to the
// generated code, which takes it for an optional body left out, and
// invalid input where the body is required.
type emptyBody struct{ err error }

func (e emptyBody) Error() string      { return e.err.Error() }
func (e emptyBody) Unwrap() error      { return e.err }
func (emptyBody) Is(target error) bool { return target == io.EOF }

// bindError explains a valid body whose value does not fit the handler's
// type (an integer written 1.0 or beyond the Go type's range): the field,
// as encoding/json finds it in the same bytes, and what it wants.
func bindError(data []byte, into any) error {
	var te *json.UnmarshalTypeError
	err := json.Unmarshal(data, reflect.New(reflect.TypeOf(into).Elem()).Interface())
	if errors.As(err, &te) && te.Field != "" {
		want := "a value of another type"
		switch te.Type.Kind() {
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			want = fmt.Sprintf("an integer written without fraction or exponent, from %d to %d", minOf(te.Type), maxOf(te.Type))
		case reflect.Float32, reflect.Float64:
			want = "a number within range"
		}
		return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid request body: field %q: want %s", fieldName(strings.Split(te.Field, ".")), want)
	}
	return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid request body: a value does not fit its field")
}

func minOf(t reflect.Type) int64 {
	if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64 {
		return 0
	}
	return -1 << (t.Bits() - 1)
}

func maxOf(t reflect.Type) uint64 {
	if t.Kind() >= reflect.Uint && t.Kind() <= reflect.Uint64 {
		return 1<<t.Bits() - 1
	}
	return 1<<(t.Bits()-1) - 1
}

// checkIntegerParams refuses integer parameters not written canonically:
// versions/01 and versions/+1 would otherwise name version 1 too.
func checkIntegerParams(route *routers.Route, path map[string]string, query url.Values) error {
	for _, p := range slices.Concat(route.PathItem.Parameters, route.Operation.Parameters) {
		prm := p.Value
		if prm == nil || prm.Schema == nil || prm.Schema.Value == nil || !prm.Schema.Value.Type.Is("integer") {
			continue
		}
		var values []string
		switch prm.In {
		case openapi3.ParameterInPath:
			values = []string{path[prm.Name]}
		case openapi3.ParameterInQuery:
			values = query[prm.Name]
		}
		for _, v := range values {
			if _, ok := CanonicalInt(v); !ok {
				return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid %s parameter %q: %q is not an integer in canonical form (decimal digits, no sign, no leading zero)",
					prm.In, prm.Name, strictjson.Prefix(v, maxQuoted))
			}
		}
	}
	return nil
}

// CanonicalInt parses an integer written canonically: decimal digits with
// no leading zero (0 itself aside), a minus sign for negative numbers only,
// within int64. Every integer of a path, a query or a header is read this
// way, so that one number has one spelling.
func CanonicalInt(s string) (int64, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || strconv.FormatInt(n, 10) != s {
		return 0, false
	}
	return n, true
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
			return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid %s parameter %q: %s", re.Parameter.In, re.Parameter.Name, schemaReason(se))
		case re.Parameter != nil:
			return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid %s parameter %q: %s", re.Parameter.In, re.Parameter.Name, parameterReason(re))
		case re.RequestBody != nil:
			return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid request body: %s", reasonOf(re))
		}
		return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid request: %s", reasonOf(re))
	}
	return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid request: %v", err)
}

// parameterReason says why a parameter's value could not be parsed: what
// its type wants, rather than the parser's error ("invalid syntax").
func parameterReason(re *openapi3filter.RequestError) string {
	var pe *openapi3filter.ParseError
	if !errors.As(re.Err, &pe) || re.Parameter.Schema == nil || re.Parameter.Schema.Value == nil {
		return reasonOf(re)
	}
	typ := re.Parameter.Schema.Value.Type
	want := ""
	switch {
	case typ.Is("boolean"):
		want = "want true or false"
	case typ.Is("integer"):
		want = "want an integer"
	case typ.Is("number"):
		want = "want a number"
	default:
		return reasonOf(re)
	}
	if v, ok := pe.Value.(string); ok {
		return fmt.Sprintf("%q: %s", strictjson.Prefix(v, maxQuoted), want)
	}
	return want
}

func reasonOf(re *openapi3filter.RequestError) string {
	if re.Err != nil {
		return re.Err.Error()
	}
	return re.Reason
}
