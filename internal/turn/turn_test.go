package turn

import (
	"context"
	"slices"
	"testing"
)

type recorder struct{ calls []string }

func (r *recorder) Release() { r.calls = append(r.calls, "release") }
func (r *recorder) Reclaim() { r.calls = append(r.calls, "reclaim") }

func TestAway(t *testing.T) {
	// Without a turn (a background job, a streaming route): nothing to do.
	Away(context.Background())()

	var r recorder
	back := Away(With(context.Background(), &r))
	if !slices.Equal(r.calls, []string{"release"}) {
		t.Fatalf("while away: %v, want the turn released", r.calls)
	}
	back()
	if !slices.Equal(r.calls, []string{"release", "reclaim"}) {
		t.Fatalf("after: %v, want it reclaimed", r.calls)
	}

	// Work another goroutine does for the request leaves its turn alone.
	Away(Without(With(context.Background(), &r)))()
	if len(r.calls) != 2 {
		t.Fatalf("without the turn: %v, want nothing more", r.calls)
	}
}
