package store

import (
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

func TestDeployments(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		for _, m := range []string{"m", "o"} {
			mustCreateModel(t, s, m, nil)
			for range 3 {
				mustCreateVersion(t, s, m)
			}
		}
		t0 := time.Date(2026, 7, 1, 9, 0, 0, 0, time.UTC)
		t1, t2, t3 := t0.Add(time.Hour), t0.Add(2*time.Hour), t0.Add(3*time.Hour)
		two := 2

		create := func(t *testing.T, d modelkeep.Deployment) {
			t.Helper()
			if err := s.CreateDeployment(ctx, d); err != nil {
				t.Fatalf("create deployment %s: %v", d.ID, err)
			}
		}
		end := func(t *testing.T, model, env string, at time.Time, want ...string) {
			t.Helper()
			ids, err := s.EndDeployments(ctx, model, env, at)
			if err != nil {
				t.Fatal(err)
			}
			if want == nil {
				want = []string{}
			}
			if !slices.Equal(ids, want) {
				t.Errorf("ended %v, want %v", ids, want)
			}
		}
		// The ledger: m in production: d1 (v1, t0..t1), d2 (v2, t1..t3) and a
		// canary d3 (v3, t2..t3) replacing v2; o in production: d4 (t1, running);
		// m in staging: d5 (t0, running).
		create(t, modelkeep.Deployment{ID: "d1", Model: "m", Version: 1, Environment: "production", Strategy: "direct", TrafficPercent: 100, DeployedBy: "ops", DeployedAt: t0})
		create(t, modelkeep.Deployment{ID: "d5", Model: "m", Version: 1, Environment: "staging", Strategy: "direct", TrafficPercent: 100, DeployedBy: "ops", DeployedAt: t0})
		end(t, "m", "production", t1, "d1")
		create(t, modelkeep.Deployment{ID: "d2", Model: "m", Version: 2, Environment: "production", Strategy: "blue_green", TrafficPercent: 100, DeployedBy: "ops", DeployedAt: t1})
		create(t, modelkeep.Deployment{ID: "d4", Model: "o", Version: 1, Environment: "production", Strategy: "rolling", TrafficPercent: 100, DeployedBy: "ops", DeployedAt: t1})
		create(t, modelkeep.Deployment{ID: "d3", Model: "m", Version: 3, Environment: "production", Strategy: "canary", TrafficPercent: 10, Replaces: &two, DeployedBy: "ops", DeployedAt: t2})
		end(t, "m", "production", t3, "d2", "d3") // oldest first
		end(t, "m", "production", t3.Add(time.Hour))
		end(t, "o", "nowhere", t3)

		t.Run("errors", func(t *testing.T) {
			for _, tc := range []struct {
				name string
				err  error
				want error
			}{
				{"duplicate id", s.CreateDeployment(ctx, modelkeep.Deployment{ID: "d1", Model: "m", Version: 1, Environment: "production", Strategy: "direct"}), modelkeep.ErrConflict},
				{"missing version", s.CreateDeployment(ctx, modelkeep.Deployment{ID: "dx", Model: "m", Version: 9, Environment: "production", Strategy: "direct"}), modelkeep.ErrNotFound},
				{"end on a missing model", func() error { _, err := s.EndDeployments(ctx, "nope", "production", t3); return err }(), modelkeep.ErrNotFound},
				{"list of a missing model", func() error { _, err := s.ListDeployments(ctx, modelkeep.DeploymentFilter{Model: "nope"}); return err }(), modelkeep.ErrNotFound},
			} {
				t.Run(tc.name, func(t *testing.T) { wantErrIs(t, tc.err, tc.want) })
			}
		})

		t.Run("round trip", func(t *testing.T) {
			ds, err := s.ListDeployments(ctx, modelkeep.DeploymentFilter{Model: "m", Environment: "production", Limit: 1})
			if err != nil {
				t.Fatal(err)
			}
			want := modelkeep.Deployment{ID: "d3", Model: "m", Version: 3, Environment: "production", Strategy: "canary",
				TrafficPercent: 10, Replaces: &two, DeployedBy: "ops", DeployedAt: t2, EndedAt: &t3}
			if len(ds) != 1 || !reflect.DeepEqual(ds[0], want) {
				t.Errorf("got %+v, want %+v", ds, want)
			}
		})

		at := func(t time.Time) *time.Time { return &t }
		tests := []struct {
			name string
			f    modelkeep.DeploymentFilter
			want string
		}{
			// d2 and d4 share t1: newest first, then id descending.
			{name: "all", want: "d3,d4,d2,d5,d1"},
			{name: "environment", f: modelkeep.DeploymentFilter{Environment: "production"}, want: "d3,d4,d2,d1"},
			{name: "model", f: modelkeep.DeploymentFilter{Model: "o"}, want: "d4"},
			{name: "model and environment", f: modelkeep.DeploymentFilter{Model: "m", Environment: "production"}, want: "d3,d2,d1"},
			{name: "at the first deployment", f: modelkeep.DeploymentFilter{At: at(t0)}, want: "d5,d1"},
			{name: "just before an end", f: modelkeep.DeploymentFilter{At: at(t1.Add(-time.Microsecond))}, want: "d5,d1"},
			// d1 ended at t1, so it is not running at t1; d2 and d4 start then.
			{name: "at an end and a start", f: modelkeep.DeploymentFilter{At: at(t1)}, want: "d4,d2,d5"},
			{name: "during the canary", f: modelkeep.DeploymentFilter{At: at(t2.Add(time.Minute)), Environment: "production"}, want: "d3,d4,d2"},
			{name: "after the ends", f: modelkeep.DeploymentFilter{At: at(t3)}, want: "d4,d5"},
			{name: "before anything", f: modelkeep.DeploymentFilter{At: at(t0.Add(-time.Second))}, want: ""},
			{name: "keyset", f: modelkeep.DeploymentFilter{BeforeDeployedAt: t1, BeforeID: "d4"}, want: "d2,d5,d1"},
			{name: "limit", f: modelkeep.DeploymentFilter{Limit: 2}, want: "d3,d4"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ds, err := s.ListDeployments(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, d := range ds {
					ids = append(ids, d.ID)
				}
				if got := strings.Join(ids, ","); got != tt.want {
					t.Errorf("got %q, want %q", got, tt.want)
				}
			})
		}

		t.Run("pages cover every deployment once", func(t *testing.T) {
			var seen []string
			f := modelkeep.DeploymentFilter{Limit: 2}
			for range 5 {
				page, err := s.ListDeployments(ctx, f)
				if err != nil {
					t.Fatal(err)
				}
				for _, d := range page {
					seen = append(seen, d.ID)
				}
				if len(page) < f.Limit {
					break
				}
				last := page[len(page)-1]
				f.BeforeDeployedAt, f.BeforeID = last.DeployedAt, last.ID
			}
			if got := strings.Join(seen, ","); got != "d3,d4,d2,d5,d1" {
				t.Errorf("paged %s", got)
			}
		})
	})
}
