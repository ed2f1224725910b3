package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

func TestRuns(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		at := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		env := modelkeep.RunEnvironment{
			Framework: "pytorch", FrameworkVersion: "2.5.1",
			Libraries: map[string]string{"numpy": "2.1.0", "transformers": "4.46.0"}, Hardware: "8x A100 80GB",
		}
		full := modelkeep.Run{
			ID: "mlflow/exp-7/3f2a", GitCommit: "1a2b3c4", CodeURI: "https://git.example/fraud",
			Parameters: map[string]string{"lr": "0.001", "epochs": "12"}, Environment: env,
			CreatedBy: "ci", CreatedAt: at, UpdatedAt: at,
		}
		if err := s.CreateRun(ctx, full); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateRun(ctx, modelkeep.Run{ID: "bare", CreatedBy: "ci"}); err != nil {
			t.Fatal(err)
		}

		t.Run("read back", func(t *testing.T) {
			got, err := s.GetRun(ctx, full.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, full) {
				t.Errorf("got  %+v\nwant %+v", got, full)
			}
		})
		t.Run("unknown parts are empty", func(t *testing.T) {
			got, err := s.GetRun(ctx, "bare")
			if err != nil {
				t.Fatal(err)
			}
			if got.GitCommit != "" || len(got.Parameters) != 0 || !got.Environment.IsZero() || got.Parameters == nil {
				t.Errorf("got %+v", got)
			}
		})
		t.Run("duplicate", func(t *testing.T) {
			wantErrIs(t, s.CreateRun(ctx, full), modelkeep.ErrConflict)
		})
		t.Run("missing", func(t *testing.T) {
			_, err := s.GetRun(ctx, "nope")
			wantErrIs(t, err, modelkeep.ErrNotFound)
			wantErrIs(t, s.FillRun(ctx, modelkeep.Run{ID: "nope", GitCommit: "x"}), modelkeep.ErrNotFound)
		})
		t.Run("fill sets only empty fields", func(t *testing.T) {
			first := modelkeep.Run{ID: "bare", GitCommit: "abc", Environment: env}
			if err := s.FillRun(ctx, first); err != nil {
				t.Fatal(err)
			}
			second := modelkeep.Run{ID: "bare", GitCommit: "def", CodeURI: "git://x",
				Parameters: map[string]string{"lr": "1"}, Environment: modelkeep.RunEnvironment{Framework: "jax"}}
			if err := s.FillRun(ctx, second); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetRun(ctx, "bare")
			if err != nil {
				t.Fatal(err)
			}
			if got.GitCommit != "abc" || got.CodeURI != "git://x" || got.Parameters["lr"] != "1" || !got.Environment.Equal(env) {
				t.Errorf("after fills: %+v", got)
			}
		})
	})
}
