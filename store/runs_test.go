package store

import (
	"fmt"
	"reflect"
	"strings"
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
			ID: "mlflow/exp-7/3f2a", Kind: modelkeep.RunTraining, GitCommit: "1a2b3c4", CodeURI: "https://git.example/fraud",
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
		t.Run("a run of another kind, read back whole", func(t *testing.T) {
			start, end := at.Add(time.Hour), at.Add(2*time.Hour)
			hours, kwh := 3.5, 1.25
			eval := modelkeep.Run{
				ID: "eval-1", Kind: modelkeep.RunEvaluation, GitCommit: "9f8e", CodeURI: "https://git.example/eval",
				Parameters: map[string]string{}, Environment: modelkeep.RunEnvironment{ImageDigest: "sha256:" + strings.Repeat("ab", 32)},
				StartedAt: &start, EndedAt: &end, TriggeredBy: "ci-bot", Subject: &modelkeep.VersionRef{Model: "fraud", Version: 3},
				Inputs:  []modelkeep.RunInput{{Name: "holdout", Version: "2026-10", Role: "test"}},
				Compute: modelkeep.RunCompute{DeviceHours: &hours, EnergyKWh: &kwh, EnergyMethod: "measured"},
				TestLog: "doc-log", Report: "doc-report", CreatedBy: "ci", CreatedAt: at.Add(3 * time.Hour), UpdatedAt: at.Add(3 * time.Hour),
			}
			if err := s.CreateRun(ctx, eval); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetRun(ctx, eval.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, eval) {
				t.Errorf("got  %+v\nwant %+v", got, eval)
			}
		})
		t.Run("fill the record's new parts once", func(t *testing.T) {
			start := at.Add(5 * time.Hour)
			flops := 1e18
			if err := s.FillRun(ctx, modelkeep.Run{ID: "bare", StartedAt: &start, TriggeredBy: "alice", OutputSHA256: "sha256:" + strings.Repeat("cd", 32),
				Inputs: []modelkeep.RunInput{{Name: "tx", Version: "1"}}, Compute: modelkeep.RunCompute{FLOPs: &flops}, Report: "doc-r"}); err != nil {
				t.Fatal(err)
			}
			later := start.Add(time.Hour)
			if err := s.FillRun(ctx, modelkeep.Run{ID: "bare", StartedAt: &later, TriggeredBy: "bob", TestLog: "doc-l"}); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetRun(ctx, "bare")
			if err != nil {
				t.Fatal(err)
			}
			if !got.StartedAt.Equal(start) || got.TriggeredBy != "alice" || got.Report != "doc-r" || got.TestLog != "doc-l" ||
				len(got.Inputs) != 1 || got.Compute.FLOPs == nil || *got.Compute.FLOPs != flops {
				t.Errorf("after fills: %+v", got)
			}
		})
		t.Run("list by subject and kind, newest first, in pages", func(t *testing.T) {
			v := modelkeep.VersionRef{Model: "m", Version: 1}
			for i, kind := range []string{modelkeep.RunEvaluation, modelkeep.RunFairness, modelkeep.RunEvaluation} {
				r := modelkeep.Run{ID: fmt.Sprint("m-run-", i), Kind: kind, Subject: &v, CreatedBy: "ci", CreatedAt: at.Add(time.Duration(i) * time.Minute)}
				if err := s.CreateRun(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			ids := func(f modelkeep.RunFilter) []string {
				runs, err := s.ListRuns(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				var out []string
				for _, r := range runs {
					out = append(out, r.ID)
				}
				return out
			}
			if got := ids(modelkeep.RunFilter{Subject: &v}); !reflect.DeepEqual(got, []string{"m-run-2", "m-run-1", "m-run-0"}) {
				t.Errorf("runs of m/1: %v", got)
			}
			if got := ids(modelkeep.RunFilter{Subject: &v, Kind: modelkeep.RunEvaluation}); !reflect.DeepEqual(got, []string{"m-run-2", "m-run-0"}) {
				t.Errorf("evaluations of m/1: %v", got)
			}
			if got := ids(modelkeep.RunFilter{Subject: &v, BeforeCreatedAt: at.Add(time.Minute), BeforeID: "m-run-1", Limit: 5}); !reflect.DeepEqual(got, []string{"m-run-0"}) {
				t.Errorf("the page after m-run-1: %v", got)
			}
		})
	})
}
