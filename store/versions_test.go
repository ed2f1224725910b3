package store

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/modelkeep/modelkeep"
)

func TestVersionRoundTrip(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "base", nil)
		mustCreateModel(t, s, "m", nil)
		created := time.Date(2025, 6, 7, 8, 9, 10, 111222333, time.UTC)
		in := modelkeep.Version{
			Model:       "m",
			Number:      42, // ignored: the store numbers versions
			Description: "first",
			Tags:        map[string]string{"k": "v"},
			Params:      map[string]string{"lr": "0.01", "epochs": "10"},
			Source:      modelkeep.Source{RunID: "run-1", GitCommit: "abc123", CodeURI: "https://git.example/m"},
			Datasets: []modelkeep.DatasetRef{
				{Name: "train", Version: "3", URI: "s3://d/train", SHA256: sha("train"), Role: "training"},
				{Name: "eval", Role: "evaluation"},
			},
			Parent:    &modelkeep.VersionRef{Model: "base", Version: 7},
			CreatedBy: "alice",
			CreatedAt: created,
		}
		n, err := s.CreateVersion(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("number %d, want 1", n)
		}
		got, err := s.GetVersion(ctx, "m", 1)
		if err != nil {
			t.Fatal(err)
		}
		want := in
		want.Number = 1
		want.Status = modelkeep.StatusPending
		want.Stage = modelkeep.StageNone
		want.Aliases = []string{}
		want.CreatedAt = created.Truncate(time.Microsecond)
		want.UpdatedAt = want.CreatedAt
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
		m, err := s.GetModel(ctx, "m")
		if err != nil || m.LatestVersion != 1 {
			t.Errorf("model latest_version = %d (%v), want 1", m.LatestVersion, err)
		}

		// No parent, no datasets: read back as nil parent and an empty list.
		n, err = s.CreateVersion(ctx, modelkeep.Version{Model: "m"})
		if err != nil {
			t.Fatal(err)
		}
		got, err = s.GetVersion(ctx, "m", n)
		if err != nil {
			t.Fatal(err)
		}
		if got.Parent != nil || got.Datasets == nil || len(got.Datasets) != 0 || got.FinalizedAt != nil {
			t.Errorf("bare version read back as %+v", got)
		}
	})
}

func TestCreateVersionConcurrentNumbers(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		mustCreateModel(t, s, "m", nil)
		const workers = 8
		numbers := make([]int, workers)
		errs := make([]error, workers)
		var wg sync.WaitGroup
		for i := range workers {
			wg.Go(func() {
				numbers[i], errs[i] = s.CreateVersion(t.Context(), modelkeep.Version{Model: "m"})
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		slices.Sort(numbers)
		if want := []int{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(numbers, want) {
			t.Errorf("numbers %v, want %v", numbers, want)
		}
	})
}

func TestVersionNumbersAreNeverReused(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		mustCreateModel(t, s, "m", nil)
		mustCreateVersion(t, s, "m")
		two := mustCreateVersion(t, s, "m")
		// There is no DeleteVersion yet; remove the row as one would.
		v, err := s.versionRowOf(t.Context(), "m", two)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.db.Delete(&versionRow{}, v.ID).Error; err != nil {
			t.Fatal(err)
		}
		if n := mustCreateVersion(t, s, "m"); n != 3 {
			t.Errorf("after deleting version 2 the next is %d, want 3", n)
		}
	})
}

func TestFinalizeVersion(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		n := mustCreateVersion(t, s, "m")
		mustPutFile(t, s, "m", n, "b.bin", "k1")
		mustPutFile(t, s, "m", n, "a.json", "k2")
		files, err := s.ListFiles(ctx, "m", n)
		if err != nil {
			t.Fatal(err)
		}
		digest := modelkeep.ManifestDigest(files)

		t.Run("digest that misses a file", func(t *testing.T) {
			err := s.FinalizeVersion(ctx, "m", n, modelkeep.ManifestDigest(files[:1]), time.Time{})
			wantErrIs(t, err, modelkeep.ErrConflict)
			v, err := s.GetVersion(ctx, "m", n)
			if err != nil || v.Status != modelkeep.StatusPending {
				t.Errorf("status %q (%v) after a refused finalize, want pending", v.Status, err)
			}
		})
		at := time.Date(2025, 5, 5, 5, 5, 5, 5555, time.UTC)
		t.Run("pending to ready", func(t *testing.T) {
			if err := s.FinalizeVersion(ctx, "m", n, digest, at); err != nil {
				t.Fatal(err)
			}
			v, err := s.GetVersion(ctx, "m", n)
			if err != nil {
				t.Fatal(err)
			}
			wantAt := at.Truncate(time.Microsecond)
			if v.Status != modelkeep.StatusReady || v.ManifestDigest != digest ||
				v.FinalizedAt == nil || !v.FinalizedAt.Equal(wantAt) || !v.UpdatedAt.Equal(wantAt) {
				t.Errorf("after finalize: %+v", v)
			}
		})
		t.Run("twice is a conflict", func(t *testing.T) {
			err := s.FinalizeVersion(ctx, "m", n, digest, at)
			wantErrIs(t, err, modelkeep.ErrConflict)
			if want := `version 1 of model "m" is not pending`; err.Error() != want {
				t.Errorf("message %q, want %q", err, want)
			}
		})
	})
}

func TestListVersions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		mustCreateModel(t, s, "other", nil)
		mustCreateVersion(t, s, "other")
		stages := []modelkeep.Stage{"", modelkeep.StageStaging, modelkeep.StageProduction, "", modelkeep.StageStaging, ""}
		for _, st := range stages {
			if _, err := s.CreateVersion(ctx, modelkeep.Version{Model: "m", Stage: st}); err != nil {
				t.Fatal(err)
			}
		}
		for _, n := range []int{2, 3} {
			mustPutFile(t, s, "m", n, "f", "k")
			files, err := s.ListFiles(ctx, "m", n)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.FinalizeVersion(ctx, "m", n, modelkeep.ManifestDigest(files), time.Time{}); err != nil {
				t.Fatal(err)
			}
		}
		insertAlias(t, s, "m", 3, "prod")
		insertAlias(t, s, "m", 3, "champion")
		insertAlias(t, s, "m", 5, "next")

		tests := []struct {
			name string
			f    modelkeep.VersionFilter
			want []int
		}{
			{"all, newest first", modelkeep.VersionFilter{}, []int{6, 5, 4, 3, 2, 1}},
			{"stage", modelkeep.VersionFilter{Stage: modelkeep.StageStaging}, []int{5, 2}},
			{"stage none", modelkeep.VersionFilter{Stage: modelkeep.StageNone}, []int{6, 4, 1}},
			{"status", modelkeep.VersionFilter{Status: modelkeep.StatusReady}, []int{3, 2}},
			{"stage and status", modelkeep.VersionFilter{Stage: modelkeep.StageStaging, Status: modelkeep.StatusPending}, []int{5}},
			{"before", modelkeep.VersionFilter{BeforeNumber: 4}, []int{3, 2, 1}},
			{"limit", modelkeep.VersionFilter{Limit: 2}, []int{6, 5}},
			{"before and limit", modelkeep.VersionFilter{BeforeNumber: 5, Limit: 2}, []int{4, 3}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.f.Model = "m"
				vs, err := s.ListVersions(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				var got []int
				for _, v := range vs {
					if v.Model != "m" {
						t.Errorf("version of model %q", v.Model)
					}
					got = append(got, v.Number)
				}
				if !slices.Equal(got, tt.want) {
					t.Errorf("got %v, want %v", got, tt.want)
				}
			})
		}

		t.Run("aliases", func(t *testing.T) {
			vs, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m"})
			if err != nil {
				t.Fatal(err)
			}
			want := map[int][]string{3: {"champion", "prod"}, 5: {"next"}}
			for _, v := range vs {
				w := want[v.Number]
				if w == nil {
					w = []string{}
				}
				if !reflect.DeepEqual(v.Aliases, w) {
					t.Errorf("version %d aliases %q, want %q", v.Number, v.Aliases, w)
				}
			}
			v, err := s.GetVersion(ctx, "m", 3)
			if err != nil || !slices.Equal(v.Aliases, want[3]) {
				t.Errorf("GetVersion aliases %q (%v)", v.Aliases, err)
			}
		})
	})
}

// TestVersionColumnsMatchRow keeps the hand-written version reads
// (versions_read.go) in step with versionRow: every column GORM maps, in
// the order scanVersion reads them.
func TestVersionColumnsMatchRow(t *testing.T) {
	stmt := &gorm.Statement{DB: openStore(t, "sqlite:"+filepath.Join(t.TempDir(), "m.db")).db}
	if err := stmt.Parse(&versionRow{}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range stmt.Schema.Fields {
		if f.DBName != "production_marker" { // generated, never read
			want = append(want, "versions."+f.DBName)
		}
	}
	if got := strings.Split(versionColumns, ", "); !slices.Equal(got, want) {
		t.Fatalf("versionColumns:\n %v\nversionRow:\n %v", got, want)
	}
	// A list reads the state and the body separately: together they are
	// the whole row.
	split := map[string]bool{"versions.stage_changed_at": true, "versions.model_id": true} // not part of a Version; the list's own
	for _, c := range append(strings.Split(stateColumns, ", "), strings.Split(bodyColumns, ", ")...) {
		split[c] = true
	}
	if got := slices.Sorted(maps.Keys(split)); !slices.Equal(got, slices.Sorted(slices.Values(want))) {
		t.Fatalf("stateColumns and bodyColumns:\n %v\nversionRow:\n %v", got, want)
	}
}

// A version's aliases come with it in one query, sorted, on every read path.
func TestVersionReadsCarryAliases(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		for range 3 {
			if _, err := s.CreateVersion(ctx, modelkeep.Version{Model: "m", Tags: map[string]string{"team": "risk"}}); err != nil {
				t.Fatal(err)
			}
		}
		for _, a := range []struct {
			alias  string
			number int
		}{{"zeta", 2}, {"alpha", 2}, {"mid", 2}, {"solo", 3}} {
			if _, err := s.SetAlias(ctx, modelkeep.Alias{Model: "m", Name: a.alias, Version: a.number, UpdatedBy: "alice"}); err != nil {
				t.Fatal(err)
			}
		}
		want := map[int]string{1: "", 2: "alpha,mid,zeta", 3: "solo"}
		v, err := s.GetVersion(ctx, "m", 2)
		if err != nil || strings.Join(v.Aliases, ",") != want[2] {
			t.Fatalf("GetVersion: %v, %v", v.Aliases, err)
		}
		for _, filter := range []string{"", `tags.team = "risk"`, `tags.team = "risk" OR version > 0`} {
			vs, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m", Where: mustParseFilter(t, modelkeep.FilterVersions, filter)})
			if err != nil || len(vs) != 3 {
				t.Fatalf("list %q: %d versions, %v", filter, len(vs), err)
			}
			for _, v := range vs {
				if got := strings.Join(v.Aliases, ","); got != want[v.Number] || v.Aliases == nil {
					t.Errorf("list %q: version %d aliases %q, want %q", filter, v.Number, got, want[v.Number])
				}
			}
		}
		// A model without aliases: still [], never null.
		mustCreateModel(t, s, "plain", nil)
		if _, err := s.CreateVersion(ctx, modelkeep.Version{Model: "plain", Tags: map[string]string{"team": "risk"}}); err != nil {
			t.Fatal(err)
		}
		for _, filter := range []string{"", `tags.team = "risk"`} {
			vs, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: "plain", Where: mustParseFilter(t, modelkeep.FilterVersions, filter)})
			if err != nil || len(vs) != 1 || vs[0].Aliases == nil || len(vs[0].Aliases) != 0 {
				t.Fatalf("list plain %q: %+v, %v", filter, vs, err)
			}
		}
	})
}

// versions.alias_names is a copy of the aliases table (0045): every alias
// set, move and delete keeps it, and the backfill (0046) rebuilds it.
func TestAliasNamesFollowAliases(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		for range 4 {
			mustCreateVersion(t, s, "m")
		}
		truth := map[string]int{} // alias -> version
		check := func(step string) {
			t.Helper()
			want := map[int][]string{}
			for a, n := range truth {
				want[n] = append(want[n], a)
			}
			vs, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m"})
			if err != nil || len(vs) != 4 {
				t.Fatalf("%s: list: %d versions, %v", step, len(vs), err)
			}
			for _, v := range vs {
				w := want[v.Number]
				slices.Sort(w)
				got, err := s.GetVersion(ctx, "m", v.Number)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(v.Aliases, w) || !slices.Equal(got.Aliases, w) || v.Aliases == nil || got.Aliases == nil {
					t.Fatalf("%s: version %d: list %q, get %q, want %q", step, v.Number, v.Aliases, got.Aliases, w)
				}
			}
		}
		rng := rand.New(rand.NewPCG(1, 2))
		names := []string{"champion", "b", "a.z", "canary-1"}
		for i := range 60 {
			name := names[rng.IntN(len(names))]
			if _, ok := truth[name]; ok && rng.IntN(3) == 0 {
				if err := s.DeleteAlias(ctx, "m", name); err != nil {
					t.Fatal(err)
				}
				delete(truth, name)
			} else {
				n := 1 + rng.IntN(4)
				if _, err := s.SetAlias(ctx, modelkeep.Alias{Model: "m", Name: name, Version: n, UpdatedBy: "alice"}); err != nil {
					t.Fatal(err)
				}
				truth[name] = n
			}
			check(fmt.Sprintf("step %d", i))
		}
		// A list longer than MySQL's default group_concat_max_len (1 KiB):
		// the backfill must not cut it (dsn.go raises the limit).
		for i := range 12 {
			name := fmt.Sprintf("long-%02d-%s", i, strings.Repeat("x", 100))
			if _, err := s.SetAlias(ctx, modelkeep.Alias{Model: "m", Name: name, Version: 4, UpdatedBy: "alice"}); err != nil {
				t.Fatal(err)
			}
			truth[name] = 4
		}
		check("long list")
		// A failed delete changes nothing.
		if err := s.DeleteAlias(ctx, "m", "never-set"); !errors.Is(err, modelkeep.ErrNotFound) {
			t.Fatalf("delete of a missing alias: %v", err)
		}
		check("after a failed delete")

		// The backfill rebuilds the column from the aliases table.
		db := s.db.WithContext(ctx)
		if err := db.Exec("UPDATE versions SET alias_names = NULL").Error; err != nil {
			t.Fatal(err)
		}
		runMigrations(t, s, 46)
		check("after the backfill")
	})
}

// TestCreateVersionModelGoneAndBack: the model id takeVersionNumber and
// ListVersions remember is checked (by name, or by the page having
// versions), so a model deleted and created again gets its versions under
// its new id, numbered from 1, and lists them; a model deleted for good is
// ErrNotFound to both.
func TestCreateVersionModelGoneAndBack(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		mustCreateVersion(t, s, "m")
		if n := mustCreateVersion(t, s, "m"); n != 2 {
			t.Fatalf("second version numbered %d", n)
		}
		if vs, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m", Limit: 10}); err != nil || len(vs) != 2 {
			t.Fatalf("list = %d versions, %v; want 2", len(vs), err)
		}
		if err := s.DeleteModel(ctx, "m"); err != nil {
			t.Fatal(err)
		}
		_, err := s.CreateVersion(ctx, modelkeep.Version{Model: "m", CreatedBy: "alice"})
		wantErrIs(t, err, modelkeep.ErrNotFound)
		_, err = s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m", Limit: 10})
		wantErrIs(t, err, modelkeep.ErrNotFound)
		mustCreateModel(t, s, "m", nil)
		if vs, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m", Limit: 10}); err != nil || len(vs) != 0 {
			t.Fatalf("list of the model created again = %d versions, %v; want none", len(vs), err)
		}
		if n := mustCreateVersion(t, s, "m"); n != 1 {
			t.Fatalf("first version of the model created again numbered %d", n)
		}
		if vs, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: "m", Limit: 10}); err != nil || len(vs) != 1 || vs[0].Number != 1 {
			t.Fatalf("list of the model created again = %+v, %v; want version 1", vs, err)
		}
		v, err := s.GetVersion(ctx, "m", 1)
		if err != nil {
			t.Fatal(err)
		}
		m, err := s.modelID(ctx, "m")
		if err != nil {
			t.Fatal(err)
		}
		var modelID int64
		if err := s.db.Raw("SELECT model_id FROM versions WHERE number = 1").Row().Scan(&modelID); err != nil || modelID != m {
			t.Fatalf("version %d/%d stored under model id %d (%v), the model's id is %d", v.Number, 1, modelID, err, m)
		}
	})
}
