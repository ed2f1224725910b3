package store

import (
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

func mustSetStage(t *testing.T, s *Store, model string, number int, from, to modelkeep.Stage) {
	t.Helper()
	if err := s.SetStage(t.Context(), model, number, from, to, time.Time{}); err != nil {
		t.Fatalf("set stage of %s/%d from %s to %s: %v", model, number, from, to, err)
	}
}

// stageNumbers lists the numbers of model's versions in stage, in the order
// VersionsInStage returns them.
func stageNumbers(t *testing.T, s *Store, model string, stage modelkeep.Stage) []int {
	t.Helper()
	vs, err := s.VersionsInStage(t.Context(), model, stage, 0)
	if err != nil {
		t.Fatalf("versions of %q in %s: %v", model, stage, err)
	}
	out := []int{}
	for _, v := range vs {
		out = append(out, v.Number)
	}
	return out
}

func TestSetStage(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		mustCreateModel(t, s, "other", nil)
		for range 2 {
			mustCreateVersion(t, s, "m")
		}
		mustCreateVersion(t, s, "other")

		// Steps run in order, each on the state the previous ones left.
		steps := []struct {
			name     string
			model    string
			number   int
			from, to modelkeep.Stage
			wantErr  error
			wantEver bool // EverProduction afterwards (when no error)
		}{
			{name: "none to staging", model: "m", number: 1, from: "none", to: "staging"},
			{name: "stale from", model: "m", number: 1, from: "none", to: "staging", wantErr: modelkeep.ErrConflict},
			{name: "staging to production", model: "m", number: 1, from: "staging", to: "production", wantEver: true},
			{name: "second production version", model: "m", number: 2, from: "none", to: "production", wantErr: modelkeep.ErrConflict},
			{name: "another model's production", model: "other", number: 1, from: "none", to: "production", wantEver: true},
			{name: "archive keeps ever_production", model: "m", number: 1, from: "production", to: "archived", wantEver: true},
			{name: "production once the first is archived", model: "m", number: 2, from: "none", to: "production", wantEver: true},
			{name: "missing version", model: "m", number: 9, from: "none", to: "staging", wantErr: modelkeep.ErrNotFound},
			{name: "missing model", model: "nope", number: 1, from: "none", to: "staging", wantErr: modelkeep.ErrNotFound},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				var before modelkeep.Version
				if errors.Is(st.wantErr, modelkeep.ErrConflict) {
					before, _ = s.GetVersion(ctx, st.model, st.number)
				}
				at := time.Date(2026, 1, 2, 3, 4, 5, 6789, time.UTC)
				err := s.SetStage(ctx, st.model, st.number, st.from, st.to, at)
				if st.wantErr != nil {
					wantErrIs(t, err, st.wantErr)
					if errors.Is(st.wantErr, modelkeep.ErrConflict) {
						// A refused move changes nothing.
						after, _ := s.GetVersion(ctx, st.model, st.number)
						if after.Stage != before.Stage || after.EverProduction != before.EverProduction {
							t.Errorf("refused move changed the version: %s/%v -> %s/%v", before.Stage, before.EverProduction, after.Stage, after.EverProduction)
						}
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				v, err := s.GetVersion(ctx, st.model, st.number)
				if err != nil {
					t.Fatal(err)
				}
				if v.Stage != st.to || v.EverProduction != st.wantEver || !v.UpdatedAt.Equal(at.Truncate(time.Microsecond)) {
					t.Errorf("version is %s, ever_production %v, updated %v; want %s, %v, %v",
						v.Stage, v.EverProduction, v.UpdatedAt, st.to, st.wantEver, at)
				}
			})
		}
		if got := stageNumbers(t, s, "m", "production"); !slices.Equal(got, []int{2}) {
			t.Errorf("production versions %v, want [2]", got)
		}
	})
}

func TestVersionsInStage(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		for range 3 {
			mustCreateVersion(t, s, "m")
		}
		// Versions 4 and 5 are created in staging: no stage change recorded,
		// like versions staged before the column existed.
		for range 2 {
			if _, err := s.CreateVersion(ctx, modelkeep.Version{Model: "m", Stage: modelkeep.StageStaging}); err != nil {
				t.Fatal(err)
			}
		}
		base := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
		for _, mv := range []struct {
			number int
			at     time.Time
		}{{1, base.Add(time.Minute)}, {3, base}, {2, base.Add(2 * time.Minute)}} {
			if err := s.SetStage(ctx, "m", mv.number, "none", "staging", mv.at); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := s.SetAlias(ctx, modelkeep.Alias{Model: "m", Name: "candidate", Version: 2}); err != nil {
			t.Fatal(err)
		}

		vs, err := s.VersionsInStage(ctx, "m", "staging", 0)
		if err != nil {
			t.Fatal(err)
		}
		var got []int
		for _, v := range vs {
			got = append(got, v.Number)
		}
		// Moved last first, then the ones without a recorded move, highest first.
		if !slices.Equal(got, []int{2, 1, 3, 5, 4}) {
			t.Errorf("staging order %v, want [2 1 3 5 4]", got)
		}
		if !slices.Equal(vs[0].Aliases, []string{"candidate"}) || vs[0].Model != "m" || vs[0].Tags == nil {
			t.Errorf("versions are not complete: %+v", vs[0])
		}
		for limit, want := range map[int][]int{1: {2}, 2: {2, 1}, 9: {2, 1, 3, 5, 4}} {
			vs, err := s.VersionsInStage(ctx, "m", "staging", limit)
			got := []int{}
			for _, v := range vs {
				got = append(got, v.Number)
			}
			if err != nil || !slices.Equal(got, want) {
				t.Errorf("limit %d: %v (%v), want %v", limit, got, err, want)
			}
		}
		if got := stageNumbers(t, s, "m", "production"); len(got) != 0 {
			t.Errorf("production versions %v, want none", got)
		}
		_, err = s.VersionsInStage(ctx, "nope", "staging", 0)
		wantErrIs(t, err, modelkeep.ErrNotFound)
	})
}

func TestLockModel(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		err := s.InTx(ctx, func(tx modelkeep.MetaStore) error { return tx.LockModel(ctx, "m") })
		if err != nil {
			t.Fatal(err)
		}
		err = s.InTx(ctx, func(tx modelkeep.MetaStore) error { return tx.LockModel(ctx, "nope") })
		wantErrIs(t, err, modelkeep.ErrNotFound)
		if err.Error() != `model "nope" not found` {
			t.Errorf("message %q", err)
		}
	})
}

// Approvals of different versions racing into production: with the model
// locked, each archives whatever is in production and promotes its version,
// one after the other, none failing; the last one wins.
func TestConcurrentPromotions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		const workers = 20
		for n := 1; n <= workers+1; n++ {
			mustCreateVersion(t, s, "m")
			mustSetStage(t, s, "m", n, "none", "staging")
		}
		mustSetStage(t, s, "m", 1, "staging", "production")

		errs := make([]error, workers)
		var wg sync.WaitGroup
		for i := range workers {
			number := i + 2
			wg.Go(func() {
				errs[i] = s.InTx(ctx, func(tx modelkeep.MetaStore) error {
					if err := tx.LockModel(ctx, "m"); err != nil {
						return err
					}
					current, err := tx.VersionsInStage(ctx, "m", modelkeep.StageProduction, 0)
					if err != nil {
						return err
					}
					for _, v := range current {
						if err := tx.SetStage(ctx, "m", v.Number, modelkeep.StageProduction, modelkeep.StageArchived, time.Time{}); err != nil {
							return err
						}
					}
					return tx.SetStage(ctx, "m", number, modelkeep.StageStaging, modelkeep.StageProduction, time.Time{})
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("promotion of version %d: %v", i+2, err)
			}
		}
		prod := stageNumbers(t, s, "m", "production")
		if len(prod) != 1 {
			t.Fatalf("production versions %v, want exactly one", prod)
		}
		archived := stageNumbers(t, s, "m", "archived")
		if len(archived) != workers {
			t.Errorf("%d archived versions %v, want %d (every moved version but the winner)", len(archived), archived, workers)
		}
		if staging := stageNumbers(t, s, "m", "staging"); len(staging) != 0 {
			t.Errorf("versions left in staging: %v", staging)
		}
		for n := 1; n <= workers+1; n++ {
			v, err := s.GetVersion(ctx, "m", n)
			if err != nil || !v.EverProduction {
				t.Errorf("version %d: ever_production %v (%v), want true", n, v.EverProduction, err)
			}
		}
	})
}

// The database itself refuses a second production version: promotions that
// skip LockModel and the archiving race, one wins and the others get
// ErrConflict (not a deadlock, not two production versions).
func TestProductionUniqueWithoutLock(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		const workers = 8
		for n := 1; n <= workers; n++ {
			mustCreateVersion(t, s, "m")
			mustSetStage(t, s, "m", n, "none", "staging")
		}
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				errs[i] = s.InTx(ctx, func(tx modelkeep.MetaStore) error {
					return tx.SetStage(ctx, "m", i+1, modelkeep.StageStaging, modelkeep.StageProduction, time.Time{})
				})
			})
		}
		wg.Wait()
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, modelkeep.ErrConflict):
				t.Errorf("version %d: %v, want nil or ErrConflict", i+1, err)
			}
		}
		if prod := stageNumbers(t, s, "m", "production"); won != 1 || len(prod) != 1 {
			t.Errorf("%d promotions succeeded, production versions %v; want exactly one", won, prod)
		}
	})
}

// Deleting a model takes its governance records with it (ON DELETE CASCADE)
// and leaves other models' alone.
func TestGovernanceCascade(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		for _, name := range []string{"gone", "kept"} {
			mustCreateModel(t, s, name, nil)
			mustCreateVersion(t, s, name)
			mustSetStage(t, s, name, 1, "none", "staging")
			tr := modelkeep.Transition{ID: "tr-" + name, Model: name, Version: 1, From: "staging", To: "production", RequiredApprovals: 1}
			if err := s.CreateTransition(ctx, tr); err != nil {
				t.Fatal(err)
			}
			if err := s.AddApproval(ctx, tr.ID, modelkeep.Approval{Approver: "bob"}); err != nil {
				t.Fatal(err)
			}
			if err := s.PutPolicy(ctx, name, modelkeep.Policy{RequiredApprovals: 2}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.SetAlias(ctx, modelkeep.Alias{Model: name, Name: "champion", Version: 1}); err != nil {
				t.Fatal(err)
			}
			d := modelkeep.Deployment{ID: "dep-" + name, Model: name, Version: 1, Environment: "staging", Strategy: "direct", TrafficPercent: 100}
			if err := s.CreateDeployment(ctx, d); err != nil {
				t.Fatal(err)
			}
			if err := s.AddMetrics(ctx, name, 1, []modelkeep.Metric{{Key: "auc", Value: 0.9}}); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteModel(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		for _, row := range []any{&transitionRow{}, &approvalRow{}, &policyRow{}, &aliasRow{}, &deploymentRow{}, &metricRow{}} {
			var n int64
			if err := s.db.Model(row).Count(&n).Error; err != nil {
				t.Fatal(err)
			}
			if n != 1 {
				t.Errorf("%T: %d rows after deleting one of two models, want 1", row, n)
			}
		}
		if _, err := s.GetTransition(ctx, "tr-kept"); err != nil {
			t.Errorf("the other model's transition: %v", err)
		}
		_, err := s.GetTransition(ctx, "tr-gone")
		wantErrIs(t, err, modelkeep.ErrNotFound)
	})
}
