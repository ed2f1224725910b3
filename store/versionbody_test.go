package store

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

// A cached body serves only the row it was read from: same id, model,
// number and creation time.
func TestBodyCacheServesOnlyItsRow(t *testing.T) {
	created := time.Date(2026, 11, 26, 1, 2, 3, 456000, time.UTC)
	c := newBodyCache(8)
	body := &versionBody{modelID: 7, number: 3, createdAt: created, description: "cached"}
	c.put(42, body)
	row := versionState{id: 42, modelID: 7, number: 3, createdAt: created}
	for _, tc := range []struct {
		name string
		edit func(*versionState)
		hit  bool
	}{
		{"same row", func(*versionState) {}, true},
		{"same instant in another zone", func(r *versionState) { r.createdAt = created.In(time.FixedZone("x", 3600)) }, true},
		{"other id", func(r *versionState) { r.id = 43 }, false},
		{"other model", func(r *versionState) { r.modelID = 8 }, false},
		{"other number", func(r *versionState) { r.number = 4 }, false},
		{"created a microsecond later", func(r *versionState) { r.createdAt = created.Add(time.Microsecond) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := row
			tc.edit(&r)
			if got := c.get(r); (got == body) != tc.hit || (got != nil && got != body) {
				t.Errorf("get = %p, want hit %v (%p)", got, tc.hit, body)
			}
		})
	}
}

// Bodies over maxCachedBody are not cached (the bounds and the keeping of
// what is in use are internal/boundedmap's, tested there).
func TestBodyCacheSkipsLargeBodies(t *testing.T) {
	c := newBodyCache(8)
	row := versionState{id: 99, modelID: 1, number: 99}
	c.put(99, &versionBody{modelID: 1, number: 99, approxByteSize: maxCachedBody + 1})
	if c.get(row) != nil {
		t.Error("a body over maxCachedBody was cached")
	}
	c.put(99, &versionBody{modelID: 1, number: 99, approxByteSize: maxCachedBody})
	if c.get(row) == nil {
		t.Error("a body of maxCachedBody was not cached")
	}
}

// Lists assemble versions from the state they read and the cached body:
// whatever the cache holds, a list equals reading each version whole, and
// state changes show at once.
func TestListsFromCachedBodies(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "base", nil)
		mustCreateVersion(t, s, "base")
		mustCreateModel(t, s, "m", nil)
		for i := range 6 {
			v := modelkeep.Version{
				Model: "m", Description: fmt.Sprintf("version %d", i+1),
				Tags:      map[string]string{"team": []string{"risk", "fraud"}[i%2], "i": fmt.Sprint(i)},
				Params:    map[string]string{"lr": "0.1"},
				Source:    modelkeep.Source{RunID: fmt.Sprintf("run-%d", i), GitCommit: "abc123", CodeURI: "git://x"},
				Datasets:  []modelkeep.DatasetRef{{Name: "d", Version: "1", URI: "s3://d", SHA256: "ab", Role: "training"}},
				CreatedBy: "alice",
			}
			if i%3 == 0 {
				v.Parent = &modelkeep.VersionRef{Model: "base", Version: 1}
			}
			if _, err := s.CreateVersion(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		check := func(when string) {
			t.Helper()
			for _, filter := range []string{"", `tags.team = "risk"`, `tags.team = "risk" OR version > 0`} {
				vs, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m", Where: mustParseFilter(t, modelkeep.FilterVersions, filter)})
				if err != nil {
					t.Fatalf("%s: list %q: %v", when, filter, err)
				}
				for _, got := range vs {
					want, err := s.GetVersion(ctx, "m", got.Number)
					if err != nil {
						t.Fatal(err)
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%s: list %q, version %d:\n got %+v\nwant %+v", when, filter, got.Number, got, want)
					}
				}
			}
		}
		check("cold")
		if n := s.bodyCache.m.Len(); n != 6 {
			t.Errorf("%d bodies cached after the lists, want 6", n)
		}
		check("warm")
		// The warm lists took the bodies from the cache: a body planted for
		// version 3 (the same row) shows in them...
		v3, err := s.versionRowOf(ctx, "m", 3)
		if err != nil {
			t.Fatal(err)
		}
		state := stateOf(v3)
		planted := *s.bodyCache.get(state)
		planted.description = "from the cache"
		s.bodyCache.put(v3.ID, &planted)
		if d := descriptionOf(t, s, 3); d != "from the cache" {
			t.Fatalf("list after planting a body: description %q, want the planted one", d)
		}
		// ...but one that claims the same id for another row (created at
		// another instant) is not served: the row's own body is read again.
		foreign := planted
		foreign.createdAt = state.createdAt.Add(time.Second)
		s.bodyCache.put(v3.ID, &foreign)
		if d := descriptionOf(t, s, 3); d != "version 3" {
			t.Fatalf("list with a foreign body cached: description %q, want %q", d, "version 3")
		}
		if err := s.SetStage(ctx, "m", 2, modelkeep.StageNone, modelkeep.StageStaging, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.SetAlias(ctx, modelkeep.Alias{Model: "m", Name: "champion", Version: 2, UpdatedBy: "alice"}); err != nil {
			t.Fatal(err)
		}
		check("after a stage change and an alias")
		staged, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m", Stage: modelkeep.StageStaging})
		if err != nil || len(staged) != 1 || staged[0].Stage != modelkeep.StageStaging || len(staged[0].Aliases) != 1 {
			t.Fatalf("staging list %+v, %v", staged, err)
		}
		// A model deleted and created again under the same name: the lists
		// show its new versions.
		if err := s.DeleteModel(ctx, "m"); err != nil {
			t.Fatal(err)
		}
		mustCreateModel(t, s, "m", nil)
		if _, err := s.CreateVersion(ctx, modelkeep.Version{Model: "m", Description: "reborn", CreatedBy: "bob"}); err != nil {
			t.Fatal(err)
		}
		vs, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m"})
		if err != nil || len(vs) != 1 || vs[0].Description != "reborn" || vs[0].CreatedBy != "bob" || len(vs[0].Tags) != 0 {
			t.Fatalf("list after re-creation: %+v, %v", vs, err)
		}
		check("after re-creation")
	})
}

// descriptionOf lists model m and returns the description of its version n.
func descriptionOf(t *testing.T, s *Store, n int) string {
	t.Helper()
	vs, err := s.ListVersions(t.Context(), modelkeep.VersionFilter{Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range vs {
		if v.Number == n {
			return v.Description
		}
	}
	t.Fatalf("version %d not listed", n)
	return ""
}

// A body the store cannot decode is an error naming its version, on the
// list path (bodies read apart from the state) as on a single read.
func TestUndecodableBodyNamesItsVersion(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		mustCreateVersion(t, s, "m")
		n := mustCreateVersion(t, s, "m")
		if err := s.db.WithContext(ctx).Exec("UPDATE versions SET tags = '{' WHERE number = ?", n).Error; err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("m/%d", n)
		if _, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m"}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("list: %v, want an error naming %s", err, want)
		}
		if _, err := s.GetVersion(ctx, "m", n); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("get: %v, want an error naming %s", err, want)
		}
	})
}
