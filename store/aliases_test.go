package store

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

func TestAliases(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		mustCreateVersion(t, s, "m")
		mustCreateVersion(t, s, "m")
		at := time.Date(2026, 6, 1, 0, 0, 0, 500, time.UTC)

		ptr := func(n int) *int { return &n }
		steps := []struct {
			name         string
			a            modelkeep.Alias
			wantPrevious *int
			wantErr      error
		}{
			{name: "new", a: modelkeep.Alias{Model: "m", Name: "champion", Version: 1, UpdatedBy: "alice", UpdatedAt: at}},
			{name: "move", a: modelkeep.Alias{Model: "m", Name: "champion", Version: 2, UpdatedBy: "bob", UpdatedAt: at.Add(time.Hour)}, wantPrevious: ptr(1)},
			{name: "same version again", a: modelkeep.Alias{Model: "m", Name: "champion", Version: 2, UpdatedBy: "bob", UpdatedAt: at.Add(2 * time.Hour)}, wantPrevious: ptr(2)},
			{name: "second alias", a: modelkeep.Alias{Model: "m", Name: "challenger", Version: 1, UpdatedBy: "carol", UpdatedAt: at}},
			{name: "missing version", a: modelkeep.Alias{Model: "m", Name: "champion", Version: 9}, wantErr: modelkeep.ErrNotFound},
			{name: "missing model", a: modelkeep.Alias{Model: "nope", Name: "champion", Version: 1}, wantErr: modelkeep.ErrNotFound},
		}
		for _, st := range steps {
			t.Run("set "+st.name, func(t *testing.T) {
				prev, err := s.SetAlias(ctx, st.a)
				if st.wantErr != nil {
					wantErrIs(t, err, st.wantErr)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if (prev == nil) != (st.wantPrevious == nil) || (prev != nil && *prev != *st.wantPrevious) {
					t.Errorf("previous %v, want %v", deref(prev), deref(st.wantPrevious))
				}
			})
		}

		got, err := s.GetAlias(ctx, "m", "champion")
		want := modelkeep.Alias{Model: "m", Name: "champion", Version: 2, UpdatedBy: "bob", UpdatedAt: at.Add(2 * time.Hour).Truncate(time.Microsecond)}
		if err != nil || got != want {
			t.Errorf("get = %+v, %v; want %+v", got, err, want)
		}
		v1, _ := s.GetVersion(ctx, "m", 1)
		v2, _ := s.GetVersion(ctx, "m", 2)
		if !slices.Equal(v1.Aliases, []string{"challenger"}) || !slices.Equal(v2.Aliases, []string{"champion"}) {
			t.Errorf("version aliases %v and %v", v1.Aliases, v2.Aliases)
		}

		for _, tc := range []struct {
			name, model, alias string
			wantErr            error
			wantMsg            string
		}{
			{name: "delete", model: "m", alias: "champion"},
			{name: "delete again", model: "m", alias: "champion", wantErr: modelkeep.ErrNotFound, wantMsg: `alias "champion" of model "m" not found`},
			{name: "delete of a missing model", model: "nope", alias: "champion", wantErr: modelkeep.ErrNotFound, wantMsg: `model "nope" not found`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := s.DeleteAlias(ctx, tc.model, tc.alias)
				if tc.wantErr == nil {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				wantErrIs(t, err, tc.wantErr)
				if err.Error() != tc.wantMsg {
					t.Errorf("message %q, want %q", err, tc.wantMsg)
				}
			})
		}
		_, err = s.GetAlias(ctx, "m", "champion")
		wantErrIs(t, err, modelkeep.ErrNotFound)
		if err.Error() != `alias "champion" of model "m" not found` {
			t.Errorf("message %q", err)
		}
		_, err = s.GetAlias(ctx, "nope", "champion")
		wantErrIs(t, err, modelkeep.ErrNotFound)
	})
}

// Calls creating and moving one alias at once see each other: exactly one
// finds it new, and the previous versions they report chain up.
func TestSetAliasConcurrent(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		const workers = 8
		for range workers {
			mustCreateVersion(t, s, "m")
		}
		prevs := make([]*int, workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				prevs[i], errs[i] = s.SetAlias(ctx, modelkeep.Alias{Model: "m", Name: "champion", Version: i + 1})
			})
		}
		wg.Wait()
		news := 0
		var reported []int
		for i := range workers {
			if errs[i] != nil {
				t.Fatalf("set alias to %d: %v", i+1, errs[i])
			}
			if prevs[i] == nil {
				news++
			} else {
				reported = append(reported, *prevs[i])
			}
		}
		final, err := s.GetAlias(ctx, "m", "champion")
		if err != nil {
			t.Fatal(err)
		}
		// Serialised, each call replaced the one before: every version but
		// the final one was reported as previous, once.
		slices.Sort(reported)
		var want []int
		for n := 1; n <= workers; n++ {
			if n != final.Version {
				want = append(want, n)
			}
		}
		if news != 1 || !slices.Equal(reported, want) {
			t.Errorf("%d calls found the alias new, previous versions %v; want 1 and %v", news, reported, want)
		}
	})
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
