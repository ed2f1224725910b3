package server

import (
	"container/list"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep/api"
	"github.com/modelkeep/modelkeep/internal/turn"
)

// admission runs at most `slots` API requests at once and queues the others
// in arrival order.
//
// Why: a request is a few short bursts of CPU, here and in the database. Run
// all at once, as many requests as clients send share the cores in an order
// nobody controls (the Go scheduler's, the kernel's, the connection pool's
// random hand-over), and each one's latency is whatever that lottery gives
// it: on two cores with 16 clients, the slowest 1 % took three times the
// median. Run a few at a time, first come first served, each finishes in
// about the same time and the others wait their turn in line: the mean
// stays what the machine's throughput makes it (Little's law), the tail
// shrinks towards it (by 10-30 % on the heavier requests there), and fewer
// requests in flight also means fewer database threads competing
// (bench/README.md has the figures; the measurements behind the choice are in
// its history, at commit 8f700e0).
//
// The line is bounded: a request that would wait beyond maxWait, or find
// maxQueue requests ahead of it, is answered 503 with Retry-After, as is
// usual for an overloaded service, instead of piling up. At shutdown the
// requests in line keep their turn (http.Server.Shutdown waits for them):
// Config.Validate keeps the longest wait below the shutdown grace, so a
// request's wait ends within it, though its service may not.
//
// Byte transfers and exports stream for as long as the client takes and
// the service endpoints must answer under load: they are not counted
// (admits).
type admission struct {
	maxQueue int
	maxWait  time.Duration
	slots    int

	mu    sync.Mutex
	free  int        // slots no request holds
	queue *list.List // of chan struct{}: the waiting requests, oldest first
	// reclaims are the admitted requests waiting to take a slot back
	// (heldTurn.Reclaim), oldest first: served before queue.
	reclaims *list.List
}

// maxQueuedRequests bounds the line: beyond it, requests are refused at
// once rather than held (each holds a connection and a goroutine).
const maxQueuedRequests = 4096

func newAdmission(slots, maxQueue int, maxWait time.Duration) *admission {
	return &admission{slots: slots, free: slots, maxQueue: maxQueue, maxWait: maxWait, queue: list.New(), reclaims: list.New()}
}

// admits reports whether the route Echo matched goes through the line: the
// API's, except those that stream (api.IsStreamingRoute); not the service
// endpoints, the UI or unknown routes.
func admits(route string) bool {
	return strings.HasPrefix(route, "/api/") && !api.IsStreamingRoute(route)
}

func (a *admission) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !admits(c.Path()) {
				return next(c)
			}
			if err := a.enter(c.Request().Context()); err != nil {
				c.Response().Header().Set("Retry-After", "1")
				// Refusals under load are the line working, not a backing
				// service failing: an HTTP error (the error handler does
				// not log it as a failure), marked so that the request log
				// writes it at warn, not error (requestLogger).
				c.Set(busyKey, true)
				return echo.NewHTTPError(http.StatusServiceUnavailable, err.Error())
			}
			held := &heldTurn{line: a, held: true}
			defer held.finish()
			req := c.Request()
			c.SetRequest(req.WithContext(turn.With(req.Context(), held)))
			return next(c)
		}
	}
}

// heldTurn is an admitted request's slot, which it gives back while it
// waits on work others do for it (internal/turn). The request's goroutine
// uses it, one call at a time; finish, when the request is done, frees the
// slot if held and makes a late Reclaim (a goroutine that outlived its
// request) give back what it gets at once.
type heldTurn struct {
	line *admission
	mu   sync.Mutex
	held bool
	done bool
}

// Release frees the slot if the request holds it.
func (t *heldTurn) Release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.held {
		t.held = false
		t.line.leave()
	}
}

// Reclaim takes a slot again, before every request waiting to start.
func (t *heldTurn) Reclaim() {
	t.mu.Lock()
	if t.held || t.done {
		t.mu.Unlock()
		return
	}
	t.mu.Unlock()
	t.line.reclaim() // not under t.mu: it may wait
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		t.line.leave()
		return
	}
	t.held = true
}

func (t *heldTurn) finish() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done = true
	if t.held {
		t.held = false
		t.line.leave()
	}
}

// busyKey marks, in the echo.Context, a request the line refused.
const busyKey = "modelkeep.admission.refused"

// errBusy is a refusal to wait.
var errBusy = errors.New("the server is busy")

// enter returns once the request holds a slot, or an error (errBusy) when
// the line is full, the wait reaches maxWait or ctx ends (the client left).
// Waiting requests get their slots strictly in the order they joined the
// line: leave hands a freed slot to the oldest one.
func (a *admission) enter(ctx context.Context) error {
	a.mu.Lock()
	if a.free > 0 && a.queue.Len() == 0 {
		a.free--
		a.mu.Unlock()
		return nil
	}
	if a.queue.Len() >= a.maxQueue {
		a.mu.Unlock()
		return fmt.Errorf("%w: %d requests are waiting already; retry shortly", errBusy, a.maxQueue)
	}
	ready := make(chan struct{})
	place := a.queue.PushBack(ready)
	a.mu.Unlock()

	timer := time.NewTimer(a.maxWait)
	defer timer.Stop()
	var why error
	select {
	case <-ready:
		return nil
	case <-timer.C:
		why = fmt.Errorf("%w: no turn within %s; retry shortly", errBusy, a.maxWait)
	case <-ctx.Done():
		// The client left: nobody reads the answer.
		why = fmt.Errorf("%w: the request ended while waiting for its turn: %v", errBusy, ctx.Err())
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-ready:
		// The slot was handed over just now: pass it on.
		a.handOver()
	default:
		a.queue.Remove(place)
	}
	return why
}

// reclaim returns once the caller holds a slot again: a free one, or the
// next one freed, ahead of every request in line. No limit on the wait: the
// caller's work is done (committed, perhaps) and only its answer is left.
func (a *admission) reclaim() {
	a.mu.Lock()
	if a.free > 0 {
		a.free--
		a.mu.Unlock()
		return
	}
	ready := make(chan struct{})
	a.reclaims.PushBack(ready)
	a.mu.Unlock()
	<-ready
}

// leave frees the caller's slot.
func (a *admission) leave() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.handOver()
}

// handOver gives a freed slot to the oldest waiting request, or back to
// the pool. a.mu is held.
func (a *admission) handOver() {
	if front := a.reclaims.Front(); front != nil {
		close(a.reclaims.Remove(front).(chan struct{}))
		return
	}
	if front := a.queue.Front(); front != nil {
		close(a.queue.Remove(front).(chan struct{}))
		return
	}
	a.free++
}

// waiting and admitted are the line's gauges.
func (a *admission) waiting() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.queue.Len()
}

// reclaiming is how many admitted requests wait to take a slot back.
func (a *admission) reclaiming() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.reclaims.Len()
}

func (a *admission) admitted() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.slots - a.free
}
