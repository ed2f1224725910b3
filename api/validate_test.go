package api

import (
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
)

// The validator finds a request's operation from the route Echo matched:
// every JSON route under /api/ must be found that way.
func TestValidatorFindsEveryRoute(t *testing.T) {
	doc, err := LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	routes := specRoutes(doc)
	e := echo.New()
	Register(e, NewHandlers(nil, Options{}))
	for _, r := range e.Routes() {
		if !strings.HasPrefix(r.Path, "/api/") || isByteRoute(r.Path) {
			continue
		}
		if routes[r.Method+" "+r.Path] == nil {
			t.Errorf("%s %s: no spec route for it", r.Method, r.Path)
		}
	}
}
