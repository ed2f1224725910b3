package store

import (
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

func TestModelRoundTrip(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		created := time.Date(2025, 1, 2, 3, 4, 5, 999999999, time.FixedZone("EST", -5*3600))
		in := modelkeep.Model{
			Name:        "fraud-detector",
			Description: "Détecte la fraude 🕵",
			Tags:        map[string]string{"team": "risk", "tier": "1", "empty": ""},
			CreatedBy:   "alice",
			CreatedAt:   created,
			UpdatedAt:   created,
		}
		if err := s.CreateModel(ctx, in); err != nil {
			t.Fatal(err)
		}
		got, err := s.GetModel(ctx, in.Name)
		if err != nil {
			t.Fatal(err)
		}
		want := in
		want.CreatedAt = created.UTC().Truncate(time.Microsecond)
		want.UpdatedAt = want.CreatedAt
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}

		// Zero times come from the store's clock, normalised.
		if err := s.CreateModel(ctx, modelkeep.Model{Name: "clocked"}); err != nil {
			t.Fatal(err)
		}
		got, err = s.GetModel(ctx, "clocked")
		if err != nil {
			t.Fatal(err)
		}
		if got.CreatedAt.IsZero() || got.CreatedAt.Location() != time.UTC || got.CreatedAt.Nanosecond()%1000 != 0 ||
			!got.UpdatedAt.Equal(got.CreatedAt) {
			t.Errorf("clock times: created %v updated %v", got.CreatedAt, got.UpdatedAt)
		}
		if got.Tags == nil {
			t.Error("nil tags read back; want an empty map")
		}
	})
}

func TestCreateModelDuplicateIsConflict(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		mustCreateModel(t, s, "dup", map[string]string{"a": "1"})
		err := s.CreateModel(t.Context(), modelkeep.Model{Name: "dup"})
		wantErrIs(t, err, modelkeep.ErrConflict)
		if want := `model "dup" already exists`; err.Error() != want {
			t.Errorf("message %q, want %q", err, want)
		}
	})
}

func TestNotFound(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		mustCreateModel(t, s, "m", nil)
		n := mustCreateVersion(t, s, "m")
		file := modelkeep.File{Path: "a", Size: 1, SHA256: sha("a"), BlobKey: "k"}
		tests := []struct {
			name string
			call func() error
			msg  string
		}{
			{"get model", func() error { _, err := s.GetModel(t.Context(), "nope"); return err }, `model "nope" not found`},
			{"update model", func() error { return s.UpdateModel(t.Context(), modelkeep.Model{Name: "nope"}) }, `model "nope" not found`},
			{"delete model", func() error { return s.DeleteModel(t.Context(), "nope") }, `model "nope" not found`},
			{"create version", func() error {
				_, err := s.CreateVersion(t.Context(), modelkeep.Version{Model: "nope"})
				return err
			}, `model "nope" not found`},
			{"get version of missing model", func() error { _, err := s.GetVersion(t.Context(), "nope", 1); return err }, `model "nope" not found`},
			{"get missing version", func() error { _, err := s.GetVersion(t.Context(), "m", n+1); return err }, `version 2 of model "m" not found`},
			{"list versions", func() error {
				_, err := s.ListVersions(t.Context(), modelkeep.VersionFilter{Model: "nope"})
				return err
			}, `model "nope" not found`},
			{"finalize", func() error { return s.FinalizeVersion(t.Context(), "m", n+1, "sha256:x", time.Time{}) }, `version 2 of model "m" not found`},
			{"put file", func() error { _, err := s.PutFile(t.Context(), "m", n+1, file); return err }, `version 2 of model "m" not found`},
			{"get file", func() error { _, err := s.GetFile(t.Context(), "m", n, "a"); return err }, `file "a" not found in version 1 of model "m"`},
			{"list files", func() error { _, err := s.ListFiles(t.Context(), "nope", 1); return err }, `model "nope" not found`},
			{"model blob keys", func() error { _, err := s.ModelBlobKeys(t.Context(), "nope"); return err }, `model "nope" not found`},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := tt.call()
				wantErrIs(t, err, modelkeep.ErrNotFound)
				if err.Error() != tt.msg {
					t.Errorf("message %q, want %q", err, tt.msg)
				}
			})
		}
	})
}

func TestUpdateModel(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", map[string]string{"team": "risk", "old": "x"})
		m, err := s.GetModel(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		m.Description = "new"
		m.Tags = map[string]string{"team": "growth"}
		m.UpdatedAt = m.CreatedAt.Add(time.Hour)
		if err := s.UpdateModel(ctx, m); err != nil {
			t.Fatal(err)
		}
		// The same values again: still a success (rows matched, not changed).
		if err := s.UpdateModel(ctx, m); err != nil {
			t.Fatalf("idempotent update: %v", err)
		}
		got, err := s.GetModel(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("got %+v, want %+v", got, m)
		}
		// model_tags follows: the old tags no longer match.
		for tag, want := range map[string]int{"team:growth": 1, "team:risk": 0, "old:x": 0} {
			k, v, _ := strings.Cut(tag, ":")
			ms, err := s.ListModels(ctx, modelkeep.ModelFilter{Tags: map[string]string{k: v}})
			if err != nil {
				t.Fatal(err)
			}
			if len(ms) != want {
				t.Errorf("tag %s matches %d models, want %d", tag, len(ms), want)
			}
		}
	})
}

func TestListModels(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		models := []modelkeep.Model{
			{Name: "a_b", Description: "underscore", Tags: map[string]string{"team": "risk", "env": "prod"}},
			{Name: "axb", Description: "no underscore", Tags: map[string]string{"team": "risk"}},
			{Name: "churn", Description: "Predicts CHURN at 100% recall", Tags: map[string]string{"team": "growth"}},
			{Name: "fraud", Description: "100x faster", Tags: map[string]string{"team": "risk", "env": "dev"}},
			{Name: "bang", Description: `wow! a back\slash`},
			{Name: "zeta", Description: "last", Tags: map[string]string{"team": "Risk"}},
		}
		for _, m := range models {
			if err := s.CreateModel(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name string
			f    modelkeep.ModelFilter
			want []string
		}{
			{"all, by name", modelkeep.ModelFilter{}, []string{"a_b", "axb", "bang", "churn", "fraud", "zeta"}},
			{"query on name", modelkeep.ModelFilter{Query: "fra"}, []string{"fraud"}},
			{"query case-insensitive", modelkeep.ModelFilter{Query: "cHuRn"}, []string{"churn"}},
			{"query on description", modelkeep.ModelFilter{Query: "predicts"}, []string{"churn"}},
			{"underscore is literal", modelkeep.ModelFilter{Query: "a_b"}, []string{"a_b"}},
			{"percent is literal", modelkeep.ModelFilter{Query: "100%"}, []string{"churn"}},
			{"percent alone", modelkeep.ModelFilter{Query: "%"}, []string{"churn"}},
			{"escape char is literal", modelkeep.ModelFilter{Query: "wow!"}, []string{"bang"}},
			{"backslash is literal", modelkeep.ModelFilter{Query: `k\s`}, []string{"bang"}},
			{"no match", modelkeep.ModelFilter{Query: "zzz"}, nil},
			{"one tag", modelkeep.ModelFilter{Tags: map[string]string{"team": "risk"}}, []string{"a_b", "axb", "fraud"}},
			{"tags are case-sensitive", modelkeep.ModelFilter{Tags: map[string]string{"team": "Risk"}}, []string{"zeta"}},
			{"all tags must match", modelkeep.ModelFilter{Tags: map[string]string{"team": "risk", "env": "prod"}}, []string{"a_b"}},
			{"tag and query", modelkeep.ModelFilter{Query: "faster", Tags: map[string]string{"team": "risk"}}, []string{"fraud"}},
			{"after name", modelkeep.ModelFilter{AfterName: "bang"}, []string{"churn", "fraud", "zeta"}},
			{"limit", modelkeep.ModelFilter{Limit: 2}, []string{"a_b", "axb"}},
			{"after and limit", modelkeep.ModelFilter{AfterName: "axb", Limit: 2}, []string{"bang", "churn"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.ListModels(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				if names := modelNames(got); !slices.Equal(names, tt.want) {
					t.Errorf("got %q, want %q", names, tt.want)
				}
			})
		}

		t.Run("pages cover everything once", func(t *testing.T) {
			var all []string
			after := ""
			for range 10 {
				page, err := s.ListModels(ctx, modelkeep.ModelFilter{AfterName: after, Limit: 4})
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, modelNames(page)...)
				if len(page) < 4 {
					break
				}
				after = page[len(page)-1].Name
			}
			if len(all) != len(models) || !slices.IsSorted(all) {
				t.Errorf("pages gave %q", all)
			}
		})
		t.Run("tags read back", func(t *testing.T) {
			got, err := s.ListModels(ctx, modelkeep.ModelFilter{Query: "a_b"})
			if err != nil || len(got) != 1 || !maps.Equal(got[0].Tags, models[0].Tags) {
				t.Errorf("got %+v, %v", got, err)
			}
		})
	})
}

func modelNames(ms []modelkeep.Model) []string {
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	return names
}

func TestDeleteModel(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "gone", map[string]string{"team": "risk"})
		mustCreateModel(t, s, "kept", nil)
		n := mustCreateVersion(t, s, "gone")
		mustPutFile(t, s, "gone", n, "model.bin", "blob-gone")
		mustPutFile(t, s, "gone", n, "conf/a.json", "blob-gone-2")
		insertAlias(t, s, "gone", n, "champion")
		k := mustCreateVersion(t, s, "kept")
		mustPutFile(t, s, "kept", k, "model.bin", "blob-kept")

		keys, err := s.ModelBlobKeys(ctx, "gone")
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"blob-gone", "blob-gone-2"}; !slices.Equal(keys, want) {
			t.Errorf("ModelBlobKeys = %q, want %q", keys, want)
		}
		if err := s.DeleteModel(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		_, err = s.GetModel(ctx, "gone")
		wantErrIs(t, err, modelkeep.ErrNotFound)
		for _, key := range []string{"blob-gone", "blob-gone-2"} {
			if used, err := s.BlobKeyInUse(ctx, key); err != nil || used {
				t.Errorf("BlobKeyInUse(%s) = %v, %v after delete", key, used, err)
			}
		}
		if used, err := s.BlobKeyInUse(ctx, "blob-kept"); err != nil || !used {
			t.Errorf("BlobKeyInUse(blob-kept) = %v, %v", used, err)
		}
		for _, table := range []any{&modelTagRow{}, &aliasRow{}} {
			var n int64
			if err := s.db.Model(table).Count(&n).Error; err != nil || n != 0 {
				t.Errorf("%T: %d rows left, %v", table, n, err)
			}
		}
		var versions int64
		if err := s.db.Model(&versionRow{}).Count(&versions).Error; err != nil || versions != 1 {
			t.Errorf("%d versions left, want the other model's 1 (%v)", versions, err)
		}

		// The name is free again: a new model, numbered from 1.
		mustCreateModel(t, s, "gone", nil)
		if n := mustCreateVersion(t, s, "gone"); n != 1 {
			t.Errorf("first version of the new model is %d", n)
		}
	})
}

func TestDeleteModelKeepsProductionRecords(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		mustCreateVersion(t, s, "m")
		if _, err := s.CreateVersion(ctx, modelkeep.Version{Model: "m", Stage: modelkeep.StageArchived, EverProduction: true}); err != nil {
			t.Fatal(err)
		}
		wantErrIs(t, s.DeleteModel(ctx, "m"), modelkeep.ErrConflict)
		if _, err := s.GetModel(ctx, "m"); err != nil {
			t.Errorf("model gone after a refused delete: %v", err)
		}
	})
}

// insertAlias writes an alias row directly: the MetaStore has no alias
// methods yet, but versions must report their aliases.
func insertAlias(t *testing.T, s *Store, model string, number int, alias string) {
	t.Helper()
	v, err := s.versionRowOf(t.Context(), model, number)
	if err != nil {
		t.Fatal(err)
	}
	now := s.nowUTC()
	row := aliasRow{ModelID: v.ModelID, Alias: alias, VersionID: v.ID, CreatedAt: now, UpdatedAt: now}
	if err := s.db.Create(&row).Error; err != nil {
		t.Fatal(err)
	}
	if err := s.refreshAliasNames(t.Context(), v.ID); err != nil {
		t.Fatal(err)
	}
}
