// Package turn lets a request give back its turn to run while it waits on
// work that others do for it, and take it back after.
//
// The server runs a bounded number of API requests at once (its admission
// line, server/admission.go): a turn stands for a share of the CPU. A
// request that waits for a group commit another request runs for it
// (internal/groupcommit) uses no CPU meanwhile; holding its turn would
// keep the requests whose work could join that commit waiting in line,
// and so cap every batch at the line's width. Away hands the turn to the
// next request in line for as long as the wait lasts.
package turn

import "context"

// Holder is a request's turn.
type Holder interface {
	// Release gives the turn back to the line.
	Release()
	// Reclaim takes a turn again, ahead of the requests still waiting to
	// start: the request already did part of its work, and what is left
	// (answering) must not fail for want of a turn.
	Reclaim()
}

type key struct{}

// With returns ctx carrying h, the turn of ctx's request.
func With(ctx context.Context, h Holder) context.Context {
	return context.WithValue(ctx, key{}, h)
}

// Without returns ctx without a turn: for work on a request's behalf run by
// another goroutine, which must not give back or take the request's turn.
func Without(ctx context.Context) context.Context {
	if _, ok := ctx.Value(key{}).(Holder); !ok {
		return ctx
	}
	return context.WithValue(ctx, key{}, nil)
}

// Away gives back the turn of ctx's request, if it holds one, and returns
// the function that takes it back, to be called once when the wait ends.
func Away(ctx context.Context) (back func()) {
	h, ok := ctx.Value(key{}).(Holder)
	if !ok {
		return func() {}
	}
	h.Release()
	return h.Reclaim
}
