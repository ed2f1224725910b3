package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api"
)

func TestAdmits(t *testing.T) {
	for _, tc := range []struct {
		route string
		want  bool
	}{
		{"/api/v1/models", true},
		{"/api/v1/models/:model/versions/:version", true},
		{"/api/v1/models/:model/versions/:version/lineage", true},
		{"/api/v1/audit", true},
		{"/api/v1/models/:model/versions/:version/files/*", false}, // uploads and downloads stream
		{"/api/v1/audit/export", false},
		{"/healthz", false},
		{"/readyz", false},
		{"/metrics", false},
		{"/ui/*", false},
		{"", false}, // no route matched
	} {
		if got := admits(tc.route); got != tc.want {
			t.Errorf("admits(%q) = %v, want %v", tc.route, got, tc.want)
		}
	}
}

// waitFor polls cond for up to a few seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// Requests that find every slot taken get their turn in arrival order.
func TestAdmissionFirstComeFirstServed(t *testing.T) {
	a := newAdmission(1, 100, time.Minute)
	release, err := a.enter(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	const waiters = 20
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Go(func() {
			leave, err := a.enter(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			leave()
		})
		// The next one arrives only once this one is in line.
		waitFor(t, "the request to queue", func() bool { return a.waiting.Load() == int64(i+1) })
	}
	release()
	wg.Wait()
	for i, got := range order {
		if got != i {
			t.Fatalf("served in order %v, want arrival order", order)
		}
	}
	if len(order) != waiters {
		t.Fatalf("%d requests served, want %d", len(order), waiters)
	}
}

// The line is bounded in length and in time, and a client that leaves
// gives up its place.
func TestAdmissionRefusals(t *testing.T) {
	a := newAdmission(1, 1, 50*time.Millisecond)
	release, err := a.enter(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer release()

	start := time.Now()
	if _, err := a.enter(t.Context()); !errors.Is(err, modelkeep.ErrUnavailable) {
		t.Fatalf("no turn within the wait: %v, want ErrUnavailable", err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("refused after %s, before the 50ms wait", waited)
	}

	queued := make(chan error, 1)
	go func() {
		_, err := a.enter(context.Background())
		queued <- err
	}()
	waitFor(t, "the request to queue", func() bool { return a.waiting.Load() == 1 })
	if _, err := a.enter(t.Context()); !errors.Is(err, modelkeep.ErrUnavailable) {
		t.Fatalf("line full: %v, want ErrUnavailable at once", err)
	}
	<-queued // timed out

	ctx, cancel := context.WithCancel(t.Context())
	left := make(chan error, 1)
	go func() {
		_, err := a.enter(ctx)
		left <- err
	}()
	waitFor(t, "the request to queue", func() bool { return a.waiting.Load() == 1 })
	cancel()
	if err := <-left; !errors.Is(err, modelkeep.ErrUnavailable) {
		t.Fatalf("client gone: %v", err)
	}
	if n := a.waiting.Load(); n != 0 {
		t.Fatalf("%d still waiting after everyone left", n)
	}
}

// Through Echo: a refused request gets 503, Retry-After and the usual error
// body; routes outside the line are served even when it is full.
func TestAdmissionMiddleware(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = api.NewErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	a := newAdmission(1, 0, time.Millisecond)
	e.Use(a.middleware())
	e.GET("/api/v1/models", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })
	e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok") })

	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		return rec
	}
	if rec := get("/api/v1/models"); rec.Code != http.StatusOK {
		t.Fatalf("free slot: %d", rec.Code)
	}
	release, err := a.enter(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	rec := get("/api/v1/models")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") != "1" {
		t.Fatalf("busy: %d, Retry-After %q", rec.Code, rec.Header().Get("Retry-After"))
	}
	if body := rec.Body.String(); !strings.Contains(body, `"code":"unavailable"`) || !strings.Contains(body, "busy") {
		t.Fatalf("busy body %s", body)
	}
	if rec := get("/healthz"); rec.Code != http.StatusOK {
		t.Fatalf("healthz while busy: %d", rec.Code)
	}
}
