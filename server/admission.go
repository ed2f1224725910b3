package server

import (
	"context"
	"strings"
	"sync/atomic"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
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
// shrinks to near it, and fewer requests in flight also means fewer
// database threads and connections competing (bench/README.md has the
// figures).
//
// The line is bounded: a request that would wait beyond maxWait, or find
// maxQueue requests ahead of it, is answered 503 with Retry-After, as is
// usual for an overloaded service, instead of piling up.
//
// Byte transfers and exports stream for as long as the client takes and
// the service endpoints must answer under load: they are not counted
// (admits).
type admission struct {
	slots    chan struct{}
	waiting  atomic.Int64
	maxQueue int64
	maxWait  time.Duration
}

// maxQueuedRequests bounds the line: beyond it, requests are refused at
// once rather than held (each holds a connection and a goroutine).
const maxQueuedRequests = 4096

func newAdmission(slots, maxQueue int, maxWait time.Duration) *admission {
	return &admission{slots: make(chan struct{}, slots), maxQueue: int64(maxQueue), maxWait: maxWait}
}

// admits reports whether the route Echo matched goes through the line.
func admits(route string) bool {
	switch {
	case !strings.HasPrefix(route, "/api/"):
		return false // service endpoints, the UI, unknown routes
	case strings.HasSuffix(route, "/files/*"):
		return false // uploads and downloads stream
	case route == "/api/v1/audit/export":
		return false // streams the log
	}
	return true
}

func (a *admission) middleware() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !admits(c.Path()) {
				return next(c)
			}
			release, err := a.enter(c.Request().Context())
			if err != nil {
				c.Response().Header().Set("Retry-After", "1")
				return err
			}
			defer release()
			return next(c)
		}
	}
}

// enter waits for a slot, in arrival order (a channel's waiting senders are
// served first in, first out), and returns the function that frees it.
func (a *admission) enter(ctx context.Context) (func(), error) {
	select {
	case a.slots <- struct{}{}:
		return a.leave, nil
	default:
	}
	if a.waiting.Add(1) > a.maxQueue {
		a.waiting.Add(-1)
		return nil, modelkeep.Errorf(modelkeep.ErrUnavailable, "the server is busy: %d requests are waiting already; retry shortly", a.maxQueue)
	}
	defer a.waiting.Add(-1)
	timer := time.NewTimer(a.maxWait)
	defer timer.Stop()
	select {
	case a.slots <- struct{}{}:
		return a.leave, nil
	case <-timer.C:
		return nil, modelkeep.Errorf(modelkeep.ErrUnavailable, "the server is busy: no turn within %s; retry shortly", a.maxWait)
	case <-ctx.Done():
		// The client left (or the server is shutting down): nobody reads
		// the answer.
		return nil, modelkeep.Errorf(modelkeep.ErrUnavailable, "the request ended while waiting for its turn: %v", ctx.Err())
	}
}

func (a *admission) leave() { <-a.slots }
