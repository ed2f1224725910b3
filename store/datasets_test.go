package store

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

func TestDatasets(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		at := time.Date(2026, 11, 1, 12, 0, 0, 123456789, time.UTC)
		full := modelkeep.Dataset{
			Name: "transactions", Version: "2026-11", URI: "s3://data/tx/2026-11/", SHA256: sha("tx"), Size: 1 << 40,
			License: "proprietary", Description: "card transactions", CreatedBy: "alice", CreatedAt: at, UpdatedAt: at,
		}
		bare := modelkeep.Dataset{Name: "transactions", Version: "2026-10", CreatedBy: "ci"}
		other := modelkeep.Dataset{Name: "holdout", Version: "v1", CreatedBy: "ci"}
		for _, d := range []modelkeep.Dataset{full, bare, other} {
			if err := s.CreateDataset(ctx, d); err != nil {
				t.Fatal(err)
			}
		}

		t.Run("read back", func(t *testing.T) {
			got, err := s.GetDataset(ctx, "transactions", "2026-11")
			if err != nil {
				t.Fatal(err)
			}
			want := full
			want.CreatedAt, want.UpdatedAt = at.Truncate(time.Microsecond), at.Truncate(time.Microsecond)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
		})
		t.Run("duplicate", func(t *testing.T) {
			wantErrIs(t, s.CreateDataset(ctx, full), modelkeep.ErrConflict)
		})
		t.Run("missing", func(t *testing.T) {
			_, err := s.GetDataset(ctx, "transactions", "1999")
			wantErrIs(t, err, modelkeep.ErrNotFound)
			wantErrIs(t, s.FillDataset(ctx, modelkeep.Dataset{Name: "nope", Version: "1", URI: "x"}), modelkeep.ErrNotFound)
		})
		t.Run("fill sets only empty fields", func(t *testing.T) {
			if err := s.FillDataset(ctx, modelkeep.Dataset{Name: "transactions", Version: "2026-10", URI: "s3://a", Size: 7}); err != nil {
				t.Fatal(err)
			}
			// A second fill cannot change what the first set.
			if err := s.FillDataset(ctx, modelkeep.Dataset{Name: "transactions", Version: "2026-10", URI: "s3://b", Size: 8, License: "cc-by-4.0"}); err != nil {
				t.Fatal(err)
			}
			got, err := s.GetDataset(ctx, "transactions", "2026-10")
			if err != nil {
				t.Fatal(err)
			}
			if got.URI != "s3://a" || got.Size != 7 || got.License != "cc-by-4.0" || got.SHA256 != "" || got.CreatedBy != "ci" {
				t.Errorf("after fills: %+v", got)
			}
			if !got.UpdatedAt.After(got.CreatedAt) {
				t.Errorf("updated_at %v not after created_at %v", got.UpdatedAt, got.CreatedAt)
			}
		})

		tests := []struct {
			name string
			f    modelkeep.DatasetFilter
			want []string
		}{
			{name: "all, by name then version", want: []string{"holdout@v1", "transactions@2026-10", "transactions@2026-11"}},
			{name: "one name", f: modelkeep.DatasetFilter{Name: "transactions"}, want: []string{"transactions@2026-10", "transactions@2026-11"}},
			{name: "limit", f: modelkeep.DatasetFilter{Limit: 2}, want: []string{"holdout@v1", "transactions@2026-10"}},
			{name: "after a name", f: modelkeep.DatasetFilter{AfterName: "holdout", AfterVersion: "v1"}, want: []string{"transactions@2026-10", "transactions@2026-11"}},
			{name: "after a version", f: modelkeep.DatasetFilter{AfterName: "transactions", AfterVersion: "2026-10"}, want: []string{"transactions@2026-11"}},
			{name: "unknown name", f: modelkeep.DatasetFilter{Name: "nope"}, want: []string{}},
		}
		for _, tt := range tests {
			t.Run("list "+tt.name, func(t *testing.T) {
				ds, err := s.ListDatasets(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				got := []string{}
				for _, d := range ds {
					got = append(got, d.Name+"@"+d.Version)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		}
	})
}

func TestDatasetUsers(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		if err := s.CreateDataset(ctx, modelkeep.Dataset{Name: "tx", Version: "1"}); err != nil {
			t.Fatal(err)
		}
		if err := s.CreateDataset(ctx, modelkeep.Dataset{Name: "unused", Version: "1"}); err != nil {
			t.Fatal(err)
		}
		ds := modelkeep.DatasetNode("tx", "1")
		// Versions created at three times, several at each, so that every
		// tie-breaker of the order is needed: the creation time (newest
		// first), the model name, the version number (highest first) and
		// the role. A whole second and fractions of it on purpose (SQLite
		// compares the times as text).
		t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		times := []time.Time{t0, t0.Add(500 * time.Millisecond), t0.Add(50 * time.Millisecond)}
		type use = modelkeep.DatasetUse
		var all []use
		for i, m := range []string{"fraud-b", "churn", "fraud-a", "gone", "fraud_x"} {
			mustCreateModel(t, s, m, nil)
			for j := range 4 {
				at := times[(i+j)%len(times)]
				n, err := s.CreateVersion(ctx, modelkeep.Version{Model: m, CreatedBy: "alice", CreatedAt: at})
				if err != nil {
					t.Fatal(err)
				}
				roles := []string{"training"}
				if j%2 == 1 {
					roles = append(roles, "evaluation")
				}
				var links []modelkeep.LineageLink
				for _, r := range roles {
					links = append(links, modelkeep.LineageLink{From: ds, To: modelkeep.VersionNode(m, n), Relation: r})
					if m != "gone" {
						all = append(all, use{Model: m, Version: n, Role: r, VersionCreatedAt: at})
					}
				}
				if err := s.AddLineage(ctx, links); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := s.DeleteModel(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		slices.SortFunc(all, func(a, b use) int {
			return cmp.Or(b.VersionCreatedAt.Compare(a.VersionCreatedAt), strings.Compare(a.Model, b.Model),
				cmp.Compare(b.Version, a.Version), strings.Compare(a.Role, b.Role))
		})
		scoped := func(patterns ...string) []use {
			var out []use
			for _, u := range all {
				if (modelkeep.Actor{Models: patterns}).CanAccessModel(u.Model) {
					out = append(out, u)
				}
			}
			return out
		}

		tests := []struct {
			name     string
			patterns []string
			want     []use
		}{
			{name: "all", want: all},
			{name: "scoped", patterns: []string{"fraud-*"}, want: scoped("fraud-*")},
			// _ in a pattern is no LIKE wildcard: fraud_* is fraud_x alone,
			// not fraud-a and fraud-b as well.
			{name: "underscore", patterns: []string{"fraud_*"}, want: scoped("fraud_*")},
			{name: "two patterns", patterns: []string{"churn", "fraud-?"}, want: scoped("churn", "fraud-?")},
			{name: "scope of no use", patterns: []string{"nothing-*"}},
		}
		for _, tt := range tests {
			for _, limit := range []int{0, 1, 2, 3, 7, 100} {
				t.Run(fmt.Sprintf("%s/limit %d", tt.name, limit), func(t *testing.T) {
					var got []use
					f := modelkeep.DatasetUseFilter{Name: "tx", Version: "1", Patterns: tt.patterns, Limit: limit}
					for page := 0; ; page++ {
						if page > len(all)+1 {
							t.Fatalf("no end after %d pages", page)
						}
						uses, err := s.DatasetUsers(ctx, f)
						if err != nil {
							t.Fatal(err)
						}
						if uses == nil || limit > 0 && len(uses) > limit {
							t.Fatalf("page %d: %d uses (nil %v), limit %d", page, len(uses), uses == nil, limit)
						}
						got = append(got, uses...)
						if limit <= 0 || len(uses) < limit {
							break
						}
						f.After = &uses[len(uses)-1]
					}
					if !slices.Equal(got, tt.want) {
						t.Errorf("got  %+v\nwant %+v", got, tt.want)
					}
				})
			}
		}
		t.Run("unused", func(t *testing.T) {
			got, err := s.DatasetUsers(ctx, modelkeep.DatasetUseFilter{Name: "unused", Version: "1"})
			if err != nil || got == nil || len(got) != 0 {
				t.Errorf("got %+v, %v; want an empty list", got, err)
			}
		})
		t.Run("missing", func(t *testing.T) {
			_, err := s.DatasetUsers(ctx, modelkeep.DatasetUseFilter{Name: "tx", Version: "2"})
			wantErrIs(t, err, modelkeep.ErrNotFound)
		})
	})
}
