package store

import (
	"reflect"
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
		for _, m := range []string{"fraud-a", "fraud-b", "churn", "gone"} {
			mustCreateModel(t, s, m, nil)
			n := mustCreateVersion(t, s, m)
			links := []modelkeep.LineageLink{{From: ds, To: modelkeep.VersionNode(m, n), Relation: "training"}}
			if m == "fraud-b" {
				links = append(links, modelkeep.LineageLink{From: ds, To: modelkeep.VersionNode(m, n), Relation: "evaluation"})
			}
			if err := s.AddLineage(ctx, links); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.DeleteModel(ctx, "gone"); err != nil {
			t.Fatal(err)
		}

		tests := []struct {
			name     string
			patterns []string
			limit    int
			want     []modelkeep.DatasetUse
		}{
			{name: "all, newest first", want: []modelkeep.DatasetUse{
				{Model: "churn", Version: 1, Role: "training"},
				{Model: "fraud-b", Version: 1, Role: "evaluation"}, {Model: "fraud-b", Version: 1, Role: "training"},
				{Model: "fraud-a", Version: 1, Role: "training"},
			}},
			{name: "limit", limit: 1, want: []modelkeep.DatasetUse{{Model: "churn", Version: 1, Role: "training"}}},
			{name: "scoped", patterns: []string{"fraud-*"}, want: []modelkeep.DatasetUse{
				{Model: "fraud-b", Version: 1, Role: "evaluation"}, {Model: "fraud-b", Version: 1, Role: "training"},
				{Model: "fraud-a", Version: 1, Role: "training"},
			}},
			{name: "scoped with a limit", patterns: []string{"fraud-*"}, limit: 1, want: []modelkeep.DatasetUse{
				{Model: "fraud-b", Version: 1, Role: "evaluation"},
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.DatasetUsers(ctx, "tx", "1", tt.patterns, tt.limit)
				if err != nil {
					t.Fatal(err)
				}
				if !reflect.DeepEqual(got, tt.want) {
					t.Errorf("got  %+v\nwant %+v", got, tt.want)
				}
			})
		}
		t.Run("unused", func(t *testing.T) {
			got, err := s.DatasetUsers(ctx, "unused", "1", nil, 0)
			if err != nil || got == nil || len(got) != 0 {
				t.Errorf("got %+v, %v; want an empty list", got, err)
			}
		})
		t.Run("missing", func(t *testing.T) {
			_, err := s.DatasetUsers(ctx, "tx", "2", nil, 0)
			wantErrIs(t, err, modelkeep.ErrNotFound)
		})
	})
}
