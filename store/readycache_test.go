package store

import (
	"context"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/audit"
)

// openFollowing opens a store on dbURL with the real clock (the cache's
// bounds are real time) and runs its FollowChanges until the test ends.
func openFollowing(t *testing.T, dbURL string, follow bool) *Store {
	t.Helper()
	s, err := Open(t.Context(), Options{URL: dbURL, Logger: testLogger(t)})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if follow {
			s.FollowChanges(ctx)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// waitServing waits until the store's ready-version cache serves.
func waitServing(t *testing.T, s *Store) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !s.ready.serving(time.Now()) {
		if time.Now().After(deadline) {
			t.Fatal("the ready-version cache did not start serving within 5 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func mustReadyVersion(t *testing.T, s *Store, model string) int {
	t.Helper()
	n := mustCreateVersion(t, s, model)
	if err := s.FinalizeVersion(t.Context(), model, n, modelkeep.ManifestDigest(nil), time.Time{}); err != nil {
		t.Fatalf("finalize %s/%d: %v", model, n, err)
	}
	return n
}

// describeBehindTheCache changes a version's description in the database
// directly, as nothing in Modelkeep can: a read that shows the change came
// from the database, one that does not from the cache.
func describeBehindTheCache(t *testing.T, s *Store, model string, number int, text string) {
	t.Helper()
	err := s.db.Exec("UPDATE versions SET description = ? WHERE number = ? AND model_id = (SELECT id FROM models WHERE name = ?)",
		text, number, model).Error
	if err != nil {
		t.Fatal(err)
	}
}

// mustHit reads a version until a read comes from the cache (for up to
// 5 s: on a loaded host the cache may stop serving for a moment while a
// look is late), and fails if none does: the tests of what the cache shows
// after a change mean something only if it was serving the version before.
func mustHit(t *testing.T, s *Store, model string, number int) modelkeep.Version {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		waitServing(t, s)
		mustGetVersion(t, s, model, number)
		before := s.ReadyCacheStats().Hits
		v := mustGetVersion(t, s, model, number)
		if s.ReadyCacheStats().Hits == before+1 {
			return v
		}
	}
	t.Fatalf("%s/%d was never read from the cache", model, number)
	return modelkeep.Version{}
}

func mustGetVersion(t *testing.T, s *Store, model string, number int) modelkeep.Version {
	t.Helper()
	v, err := s.GetVersion(t.Context(), model, number)
	if err != nil {
		t.Fatalf("get %s/%d: %v", model, number, err)
	}
	return v
}

func TestReadyCacheServesOnlyWhileFollowing(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		url := newURL(t)
		t.Run("not following", func(t *testing.T) {
			s := openFollowing(t, url, false)
			mustCreateModel(t, s, "idle", nil)
			n := mustReadyVersion(t, s, "idle")
			mustGetVersion(t, s, "idle", n)
			describeBehindTheCache(t, s, "idle", n, "changed")
			if got := mustGetVersion(t, s, "idle", n).Description; got != "changed" {
				t.Fatalf("description %q: a store that does not follow changes served its cache", got)
			}
		})
		t.Run("following", func(t *testing.T) {
			s := openFollowing(t, url, true)
			mustCreateModel(t, s, "m", nil)
			ready := mustReadyVersion(t, s, "m")
			pending := mustCreateVersion(t, s, "m")
			waitServing(t, s)
			mustGetVersion(t, s, "m", ready)
			mustGetVersion(t, s, "m", pending)
			describeBehindTheCache(t, s, "m", ready, "changed")
			describeBehindTheCache(t, s, "m", pending, "changed")
			if got := mustGetVersion(t, s, "m", ready).Description; got == "changed" {
				t.Error("the ready version was read from the database, not the cache")
			}
			if got := mustGetVersion(t, s, "m", pending).Description; got != "changed" {
				t.Error("a pending version was served from the cache")
			}
			// Reads in a transaction see the database.
			err := s.InTx(t.Context(), func(tx modelkeep.MetaStore) error {
				v, err := tx.GetVersion(t.Context(), "m", ready)
				if err == nil && v.Description != "changed" {
					t.Error("a read in a transaction was served from the cache")
				}
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestReadyCacheOwnChangesAtOnce: what this process changes, it reads back
// at once, whichever way the change is made.
func TestReadyCacheOwnChangesAtOnce(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := openFollowing(t, newURL(t), true)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		n := mustReadyVersion(t, s, "m")
		waitServing(t, s)
		steps := []struct {
			name   string
			change func() error
			check  func(v modelkeep.Version) bool
		}{
			{"stage, outside a transaction", func() error {
				return s.SetStage(ctx, "m", n, modelkeep.StageNone, modelkeep.StageStaging, time.Time{})
			}, func(v modelkeep.Version) bool { return v.Stage == modelkeep.StageStaging }},
			{"stage, in a transaction", func() error {
				return s.InTx(ctx, func(tx modelkeep.MetaStore) error {
					return tx.SetStage(ctx, "m", n, modelkeep.StageStaging, modelkeep.StageProduction, time.Time{})
				})
			}, func(v modelkeep.Version) bool { return v.Stage == modelkeep.StageProduction && v.EverProduction }},
			{"alias set", func() error {
				_, err := s.SetAlias(ctx, modelkeep.Alias{Model: "m", Name: "champion", Version: n, UpdatedBy: "alice"})
				return err
			}, func(v modelkeep.Version) bool { return len(v.Aliases) == 1 && v.Aliases[0] == "champion" }},
			{"alias deleted", func() error { return s.DeleteAlias(ctx, "m", "champion") },
				func(v modelkeep.Version) bool { return len(v.Aliases) == 0 }},
			{"an audit event naming the model, in the change's transaction", func() error {
				return s.InTx(ctx, func(tx modelkeep.MetaStore) error {
					if err := tx.(*Store).db.Exec("UPDATE versions SET description = 'by event' WHERE number = ?", n).Error; err != nil {
						return err
					}
					return tx.(*Store).QueueAudit(ctx, audit.Event{Actor: "alice", Action: "version.update",
						Resource: "models/m/versions/1", Outcome: audit.OutcomeSuccess})
				})
			}, func(v modelkeep.Version) bool { return v.Description == "by event" }},
		}
		for _, st := range steps {
			mustHit(t, s, "m", n)
			if err := st.change(); err != nil {
				t.Fatalf("%s: %v", st.name, err)
			}
			if v := mustGetVersion(t, s, "m", n); !st.check(v) {
				t.Errorf("%s: read back %+v", st.name, v)
			}
		}
	})
}

// TestReadyCacheOtherProcess: a change another process commits, with its
// audit event, is seen within changeStaleness, whether the chain takes the
// event in (a sequencer runs) or not (none does, and the cache turns off).
func TestReadyCacheOtherProcess(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		url := newURL(t)
		s := openFollowing(t, url, true)
		other := openFollowing(t, url, false)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		n := mustReadyVersion(t, s, "m")
		for _, tc := range []struct {
			name     string
			sequence bool
			to       modelkeep.Stage
			from     modelkeep.Stage
		}{
			{"chained", true, modelkeep.StageStaging, modelkeep.StageNone},
			{"never chained", false, modelkeep.StageArchived, modelkeep.StageStaging},
		} {
			waitServing(t, s)
			if got := mustHit(t, s, "m", n).Stage; got != tc.from {
				t.Fatalf("%s: stage %s before the change, want %s", tc.name, got, tc.from)
			}
			err := other.InTx(ctx, func(tx modelkeep.MetaStore) error {
				if err := tx.SetStage(ctx, "m", n, tc.from, tc.to, time.Time{}); err != nil {
					return err
				}
				return tx.(*Store).QueueAudit(ctx, audit.Event{Actor: "bob", Action: "version.stage",
					Resource: "models/m/versions/1", Outcome: audit.OutcomeSuccess})
			})
			if err != nil {
				t.Fatal(err)
			}
			committed := time.Now()
			if tc.sequence {
				if _, err := other.SequenceAudit(ctx, 100); err != nil {
					t.Fatal(err)
				}
			}
			for mustGetVersion(t, s, "m", n).Stage != tc.to {
				if time.Since(committed) > changeStaleness+time.Second {
					t.Fatalf("%s: the other process's change was not seen within %v", tc.name, changeStaleness)
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Logf("%s: seen after %v", tc.name, time.Since(committed).Round(time.Millisecond))
			if _, err := other.SequenceAudit(ctx, 100); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestChangeFollowerLagging(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	looks := []struct {
		at           int // ms
		minID, maxID int64
		want         bool
	}{
		{0, 0, 0, true},       // too young to tell
		{500, 5, 7, true},     // still too young
		{1000, 5, 9, false},   // the due sample (0 ms) had nothing pending
		{1100, 8, 9, false},   // still the one at 0 ms
		{1500, 7, 12, true},   // due: 500 ms, when 5..7 were pending; 7 still is
		{1600, 10, 12, false}, // due: 500 ms again; 10 > 7
		{1700, 0, 0, false},   // nothing pending
		{3000, 0, 0, true},    // the looks were held up: the due sample (1700 ms) is too old
		{3100, 13, 13, true},  // still: 3000 ms is not due yet
		{4000, 0, 0, false},   // due: 3000 ms, recent enough; nothing pending
	}
	f := &changeFollower{}
	for _, l := range looks {
		if got := f.lagging(at(l.at), l.minID, l.maxID); got != l.want {
			t.Errorf("look at %d ms (pending %d..%d): lagging %v, want %v", l.at, l.minID, l.maxID, got, l.want)
		}
	}
}

func TestModelOfResource(t *testing.T) {
	for _, tc := range []struct{ resource, want string }{
		{"models/m", "m"},
		{"models/m/versions/3", "m"},
		{"models/fraud-detector/aliases/champion", "fraud-detector"},
		{"tokens/abc", ""},
		{"transitions/12", ""},
		{"modelsx/m", ""},
	} {
		if got := modelOfResource(tc.resource); got != tc.want {
			t.Errorf("modelOfResource(%q) = %q, want %q", tc.resource, got, tc.want)
		}
	}
}

// TestChangeFollowerSamplesBounded: looks held up for long (each later
// than the bound allows) keep the cache off without piling up samples.
func TestChangeFollowerSamplesBounded(t *testing.T) {
	f := &changeFollower{}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 100 {
		if !f.lagging(t0.Add(time.Duration(i)*1400*time.Millisecond), 0, 0) {
			t.Fatalf("look %d, 1.4 s after the one before: the cache would serve", i)
		}
	}
	if n := len(f.samples); n > 3 {
		t.Fatalf("%d samples kept", n)
	}
}

func TestChangesNothing(t *testing.T) {
	for _, tc := range []struct {
		action, outcome string
		want            bool
	}{
		{"file.download", audit.OutcomeSuccess, true},
		{"file.presign", audit.OutcomeSuccess, true},
		{"version.stage", audit.OutcomeDenied, true},
		{"version.stage", audit.OutcomeSuccess, false},
		{"alias.set", audit.OutcomeSuccess, false},
		{"model.delete", audit.OutcomeSuccess, false},
		{"some.future.action", audit.OutcomeSuccess, false},
	} {
		if got := changesNothing(tc.action, tc.outcome); got != tc.want {
			t.Errorf("changesNothing(%q, %q) = %v, want %v", tc.action, tc.outcome, got, tc.want)
		}
	}
}

// TestReadyCacheIdle: without version reads the follower stops looking and
// the cache stops serving; the next read wakes it, and what the cache held
// before is not served again (changes made meanwhile were not looked at).
func TestReadyCacheIdle(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		url := newURL(t)
		s, err := Open(t.Context(), Options{URL: url, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		s.ready.idleAfter = 300 * time.Millisecond // before the follower starts
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.FollowChanges(ctx)
		}()
		t.Cleanup(func() {
			cancel()
			<-done
			s.Close()
		})
		mustCreateModel(t, s, "m", nil)
		n := mustReadyVersion(t, s, "m")
		for !s.ready.serving(time.Now()) {
			mustGetVersion(t, s, "m", n) // reads keep the follower awake
			time.Sleep(20 * time.Millisecond)
		}
		mustHit(t, s, "m", n)
		describeBehindTheCache(t, s, "m", n, "changed while idle")
		deadline := time.Now().Add(5 * time.Second)
		for s.ready.serving(time.Now()) {
			if time.Now().After(deadline) {
				t.Fatal("the cache still serves 5 s after the last read")
			}
			time.Sleep(20 * time.Millisecond)
		}
		if got := mustGetVersion(t, s, "m", n).Description; got != "changed while idle" {
			t.Fatalf("description %q read while the cache is off", got)
		}
		deadline = time.Now().Add(5 * time.Second)
		for !s.ready.serving(time.Now()) {
			if time.Now().After(deadline) {
				t.Fatal("the cache does not serve again 5 s after reads resumed")
			}
			mustGetVersion(t, s, "m", n)
			time.Sleep(20 * time.Millisecond)
		}
		if got := mustGetVersion(t, s, "m", n).Description; got != "changed while idle" {
			t.Fatalf("description %q: the cache served what it held before it went idle", got)
		}
	})
}
