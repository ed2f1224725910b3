package api

import (
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/labstack/echo/v4"
)

// serviceRoutes are bound by server/, not by Register.
var serviceRoutes = map[string]bool{
	"GET /healthz": true, "GET /readyz": true, "GET /metrics": true, "GET /openapi.yaml": true,
	"GET /schemas/evidence-pack.json": true,
}

// TestEveryOperationHasARoute: each operation of openapi.yaml is served by
// a route Register binds (or by server/ for the service endpoints), and no
// /api route exists that the spec does not describe.
func TestEveryOperationHasARoute(t *testing.T) {
	doc, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	Register(e, NewHandlers(nil, Options{}))
	param := regexp.MustCompile(`\{[^}]+\}`)
	bound := map[string]bool{}
	for _, r := range e.Routes() {
		// Echo writes :name and a trailing * for the file path.
		p := regexp.MustCompile(`:[a-z_]+`).ReplaceAllString(r.Path, "{}")
		p = strings.TrimSuffix(p, "*") + map[bool]string{true: "{}", false: ""}[strings.HasSuffix(r.Path, "*")]
		bound[r.Method+" "+p] = true
	}
	inSpec := map[string]bool{}
	for _, op := range routesOf(doc) {
		method, path, _ := strings.Cut(op, " ")
		key := method + " " + param.ReplaceAllString(path, "{}")
		inSpec[key] = true
		if serviceRoutes[op] {
			continue
		}
		if !bound[key] {
			t.Errorf("openapi.yaml operation %s has no route", op)
		}
	}
	var extra []string
	for r := range bound {
		if strings.Contains(r, " /api/") && !inSpec[r] {
			extra = append(extra, r)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("routes missing from openapi.yaml: %v", extra)
	}
}

// routesOf lists the operations of the spec as "METHOD /path" strings.
func routesOf(doc *openapi3.T) []string {
	var out []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			out = append(out, method+" "+path)
		}
	}
	return out
}
