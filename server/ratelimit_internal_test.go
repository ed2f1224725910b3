package server

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api"
)

func TestAddressKey(t *testing.T) {
	for _, tc := range []struct{ ip, want string }{
		{"192.0.2.7", "ip:192.0.2.7"},
		{"::ffff:192.0.2.7", "ip:192.0.2.7"},
		{"2001:db8:1:2:3:4:5:6", "ip:2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff::1", "ip:2001:db8:1:2::/64"}, // same /64: same budget
		{"2001:db8:1:3::1", "ip:2001:db8:1:3::/64"},
		{"fe80::1%eth0", "ip:fe80::/64"},
		{"not-an-ip", "ip:not-an-ip"},
	} {
		if got := addressKey(tc.ip); got != tc.want {
			t.Errorf("addressKey(%q) = %q, want %q", tc.ip, got, tc.want)
		}
	}
}

func TestLimitedPaths(t *testing.T) {
	for path, want := range map[string]bool{
		"/api/v1/models": true, "/openapi.yaml": true, "/schemas/evidence-pack.json": true, "/api/v1/session": true,
		"/nothing": true, "/healthz": false, "/readyz": false, "/metrics": false, "/": false, "/ui": false, "/ui/app.js": false,
	} {
		if got := limited(path); got != want {
			t.Errorf("limited(%q) = %v, want %v", path, got, want)
		}
	}
}

// The budgets and the admission line answer apart: a request over its
// budget is 429 at once, without taking or waiting for a turn; a request
// within it that finds the line full is 503 with Retry-After, as before.
func TestRateLimitsBeforeAdmission(t *testing.T) {
	limits, err := newRateLimits(Config{TokenRate: 0.01, TokenBurst: 1, RateLimitExemptRoles: []string{modelkeep.RoleAdmin}}, prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	e := echo.New()
	e.HTTPErrorHandler = api.NewErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	line := newAdmission(1, 0, time.Millisecond)
	e.Use(limits.refusedCredentials())
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc { // the caller, as Authorize finds it
		return func(c echo.Context) error {
			sub, _ := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
			actor := modelkeep.Actor{Subject: sub, TokenID: sub, Roles: []string{modelkeep.RolePublisher}}
			c.SetRequest(c.Request().WithContext(modelkeep.WithActor(c.Request().Context(), actor)))
			return next(c)
		}
	})
	e.Use(limits.admitted())
	e.Use(line.middleware())
	e.GET("/api/v1/models", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	get := func(token string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/v1/models", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		e.ServeHTTP(rec, req)
		return rec
	}
	if rec := get("a"); rec.Code != http.StatusOK {
		t.Fatalf("within the budget, a free line: %d", rec.Code)
	}
	if err := line.enter(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer line.leave()
	rec := get("a")
	if rec.Code != http.StatusTooManyRequests || !strings.Contains(rec.Body.String(), `"code":"rate_limited"`) || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("over the budget: %d %s", rec.Code, rec.Body)
	}
	if line.waiting() != 0 {
		t.Fatal("a refused request waits in line")
	}
	rec = get("b")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" || !strings.Contains(rec.Body.String(), `"code":"unavailable"`) {
		t.Fatalf("within the budget, the line full: %d %s", rec.Code, rec.Body)
	}
	if rec.Header().Get("RateLimit") != `"token";r=0;t=100` {
		t.Errorf("the busy answer's RateLimit %q, want the budget it spent", rec.Header().Get("RateLimit"))
	}
}
