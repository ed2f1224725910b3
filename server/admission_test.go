package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep/api"
	"github.com/modelkeep/modelkeep/internal/turn"
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
	if err := a.enter(t.Context()); err != nil {
		t.Fatal(err)
	}
	const waiters = 20
	var mu sync.Mutex
	var order []int
	var wg sync.WaitGroup
	for i := range waiters {
		wg.Go(func() {
			if err := a.enter(context.Background()); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			a.leave()
		})
		// The next one arrives only once this one is in line.
		waitFor(t, "the request to queue", func() bool { return a.waiting() == i+1 })
	}
	if got := a.admitted(); got != 1 {
		t.Fatalf("%d admitted while one holds the only slot", got)
	}
	a.leave()
	wg.Wait()
	if len(order) != waiters {
		t.Fatalf("%d requests served, want %d", len(order), waiters)
	}
	for i, got := range order {
		if got != i {
			t.Fatalf("served in order %v, want arrival order", order)
		}
	}
	if a.admitted() != 0 || a.waiting() != 0 {
		t.Fatalf("after everyone left: %d admitted, %d waiting", a.admitted(), a.waiting())
	}
}

// The line is bounded in length and in time, and a client that leaves
// gives up its place; none of that loses or invents a slot.
func TestAdmissionRefusals(t *testing.T) {
	a := newAdmission(1, 1, 50*time.Millisecond)
	if err := a.enter(t.Context()); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	if err := a.enter(t.Context()); !errors.Is(err, errBusy) {
		t.Fatalf("no turn within the wait: %v, want errBusy", err)
	}
	if waited := time.Since(start); waited < 50*time.Millisecond {
		t.Errorf("refused after %s, before the 50ms wait", waited)
	}

	queued := make(chan error, 1)
	go func() { queued <- a.enter(context.Background()) }()
	waitFor(t, "the request to queue", func() bool { return a.waiting() == 1 })
	if err := a.enter(t.Context()); !errors.Is(err, errBusy) {
		t.Fatalf("line full: %v, want errBusy at once", err)
	}
	if err := <-queued; !errors.Is(err, errBusy) {
		t.Fatalf("queued request: %v, want errBusy after the wait", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	left := make(chan error, 1)
	go func() { left <- a.enter(ctx) }()
	waitFor(t, "the request to queue", func() bool { return a.waiting() == 1 })
	cancel()
	if err := <-left; !errors.Is(err, errBusy) {
		t.Fatalf("client gone: %v", err)
	}
	if a.waiting() != 0 || a.admitted() != 1 {
		t.Fatalf("after the refusals: %d waiting, %d admitted; want 0 and 1", a.waiting(), a.admitted())
	}
	a.leave()
	if err := a.enter(t.Context()); err != nil {
		t.Fatalf("the slot was lost: %v", err)
	}
	a.leave()
}

// A slot handed over at the moment its waiter gives up is passed on, not
// lost: many waiters with a tiny wait, under -race.
func TestAdmissionHandOverRace(t *testing.T) {
	a := newAdmission(2, 1000, time.Millisecond)
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if a.enter(context.Background()) == nil {
				time.Sleep(100 * time.Microsecond)
				a.leave()
			}
		})
	}
	wg.Wait()
	if a.admitted() != 0 || a.waiting() != 0 {
		t.Fatalf("after everyone left: %d admitted, %d waiting", a.admitted(), a.waiting())
	}
}

// Through Echo: a refused request gets 503, Retry-After and the usual error
// body; routes outside the line are served even when it is full.
func TestAdmissionMiddleware(t *testing.T) {
	e := echo.New()
	e.HTTPErrorHandler = api.NewErrorHandler(slog.New(slog.NewTextHandler(io.Discard, nil)))
	a := newAdmission(1, 0, time.Millisecond)
	var logged bytes.Buffer
	e.Use(requestLogger(slog.New(slog.NewTextHandler(&logged, nil))))
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
	if err := a.enter(t.Context()); err != nil {
		t.Fatal(err)
	}
	defer a.leave()
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
	// A refusal is the line working under load: a warning, not an error.
	if log := logged.String(); !strings.Contains(log, "level=WARN msg=request") || !strings.Contains(log, "status=503") || strings.Contains(log, "level=ERROR") {
		t.Errorf("request log:\n%s", log)
	}
}

// A request waiting on others' work (turn.Away, as a create waiting for
// its group commit does) gives its slot to the next in line, and takes one
// back ahead of the requests that have not started. The handlers stand on
// three API routes: the line admits by route.
func TestAdmissionTurnAway(t *testing.T) {
	e := echo.New()
	a := newAdmission(1, 10, time.Minute)
	e.Use(a.middleware())
	var (
		mu     sync.Mutex
		events []string
	)
	note := func(s string) {
		mu.Lock()
		events = append(events, s)
		mu.Unlock()
	}
	away, endWait := make(chan struct{}), make(chan struct{})
	holding, endHold := make(chan struct{}), make(chan struct{})
	e.GET("/api/v1/models", func(c echo.Context) error {
		back := turn.Away(c.Request().Context())
		close(away)
		<-endWait
		back()
		note("waiter answers")
		return c.String(http.StatusOK, "ok")
	})
	e.GET("/api/v1/datasets", func(c echo.Context) error {
		close(holding)
		<-endHold
		note("holder answers")
		return c.String(http.StatusOK, "ok")
	})
	e.GET("/api/v1/runs", func(c echo.Context) error {
		note("later starts")
		return c.String(http.StatusOK, "ok")
	})
	serve := func(path string) {
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusOK {
			t.Errorf("%s: %d", path, rec.Code)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { serve("/api/v1/models") })
	<-away
	// The only slot is free while the waiter waits: another request runs.
	wg.Go(func() { serve("/api/v1/datasets") })
	<-holding
	wg.Go(func() { serve("/api/v1/runs") })
	waitFor(t, "the later request to queue", func() bool { return a.waiting() == 1 })
	close(endWait)
	waitFor(t, "the waiter to ask for its slot back", func() bool { return a.reclaiming() == 1 })
	close(endHold)
	wg.Wait()
	if want := []string{"holder answers", "waiter answers", "later starts"}; !slices.Equal(events, want) {
		t.Errorf("events %v, want %v", events, want)
	}
	if a.admitted() != 0 || a.waiting() != 0 || a.reclaiming() != 0 {
		t.Errorf("after everyone left: %d admitted, %d waiting, %d reclaiming", a.admitted(), a.waiting(), a.reclaiming())
	}
}

// A turn taken back while a slot is free takes it, once however often it
// is asked; one taken back after its request is done gives the slot back
// at once.
func TestHeldTurn(t *testing.T) {
	a := newAdmission(2, 10, time.Minute)
	if err := a.enter(t.Context()); err != nil {
		t.Fatal(err)
	}
	held := &heldTurn{line: a, held: true}
	held.Release()
	held.Release() // twice: still one slot freed
	if got := a.admitted(); got != 0 {
		t.Fatalf("%d admitted after a release", got)
	}
	held.Reclaim()
	held.Reclaim() // twice: still one slot taken
	if got := a.admitted(); got != 1 {
		t.Fatalf("%d admitted after a reclaim, want 1", got)
	}
	held.finish()
	if got := a.admitted(); got != 0 {
		t.Fatalf("%d admitted after finish", got)
	}
	held.Reclaim() // a goroutine that outlived its request
	if got := a.admitted(); got != 0 {
		t.Fatalf("%d admitted after a late reclaim, want the slot given back", got)
	}
}
