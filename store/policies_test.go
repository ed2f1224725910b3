package store

import (
	"reflect"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

func TestPolicies(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		updated := time.Date(2026, 4, 5, 6, 7, 8, 999999999, time.UTC)
		strict := modelkeep.Policy{
			RequiredApprovals: 2,
			RequiredTags:      map[string]string{"risk_review": "", "owner": "fraud-team"},
			MetricGates: []modelkeep.MetricGate{
				{Key: "auc", Op: ">=", Threshold: 0.9, Dataset: "holdout", Split: "test"},
				{Key: "latency_p99", Op: "<", Threshold: 120.5},
			},
			ProtectedAliases: []string{"champion", "prod"},
			UpdatedBy:        "alice",
			UpdatedAt:        updated,
		}
		loose := modelkeep.Policy{RequiredApprovals: 1, UpdatedBy: "bob", UpdatedAt: updated.Add(time.Hour)}

		steps := []struct {
			name    string
			model   string
			put     *modelkeep.Policy // nil: only read
			want    modelkeep.Policy
			wantErr error
		}{
			{name: "default when none was put", model: "m", want: defaultPolicy()},
			{name: "put", model: "m", put: &strict, want: func() modelkeep.Policy {
				p := strict
				p.UpdatedAt = updated.Truncate(time.Microsecond)
				return p
			}()},
			{name: "put replaces", model: "m", put: &loose, want: modelkeep.Policy{
				RequiredApprovals: 1, RequiredTags: map[string]string{}, MetricGates: []modelkeep.MetricGate{},
				ProtectedAliases: []string{}, UpdatedBy: "bob", UpdatedAt: loose.UpdatedAt.Truncate(time.Microsecond),
			}},
			{name: "get of a missing model", model: "nope", wantErr: modelkeep.ErrNotFound},
			{name: "put on a missing model", model: "nope", put: &strict, wantErr: modelkeep.ErrNotFound},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				var err error
				if st.put != nil {
					err = s.PutPolicy(ctx, st.model, *st.put)
				}
				var got modelkeep.Policy
				if err == nil {
					got, err = s.GetPolicy(ctx, st.model)
				}
				if st.wantErr != nil {
					wantErrIs(t, err, st.wantErr)
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, st.want) {
					t.Errorf("got  %+v\nwant %+v", got, st.want)
				}
			})
		}
	})
}
