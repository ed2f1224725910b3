package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/audit"
)

// sharedCreate is one caller of createTogether: a version of model,
// numbered i among the callers (in its description, tag, param and event).
type sharedCreate struct {
	model string
	then  func(i int) error // extra work in the transaction; nil: none
}

// createTogether runs the creates at once through CreateVersionThen so
// that all but the first share one transaction: the first holds the
// batcher (its then waits) until every other create is pending. Each then
// queues a version.create event naming its number and caller. It returns
// each caller's number and error, and how often each caller's then ran.
func createTogether(t *testing.T, s *Store, creates []sharedCreate) ([]int, []error, []int) {
	t.Helper()
	numbers, errs, runs := make([]int, len(creates)), make([]error, len(creates)), make([]int, len(creates))
	var runsMu sync.Mutex
	firstIn, release := make(chan struct{}), make(chan struct{})
	var firstOnce sync.Once
	create := func(i int) {
		defer func() {
			if r := recover(); r != nil {
				errs[i] = fmt.Errorf("panicked in its caller: %v", r)
			}
		}()
		c := creates[i]
		v := modelkeep.Version{Model: c.model, Description: fmt.Sprint("caller ", i),
			Tags: map[string]string{"caller": fmt.Sprint(i)}, Params: map[string]string{"p": fmt.Sprint(i)}}
		numbers[i], errs[i] = s.CreateVersionThen(t.Context(), v, func(ctx context.Context, tx modelkeep.MetaStore, n int) error {
			runsMu.Lock()
			runs[i]++
			runsMu.Unlock()
			if i == 0 {
				firstOnce.Do(func() { close(firstIn) })
				<-release
			}
			if c.then != nil {
				if err := c.then(i); err != nil {
					return err
				}
			}
			return tx.(*Store).QueueAudit(ctx, audit.Event{Actor: "trainer", Action: "version.create",
				Resource: modelkeep.VersionResource(c.model, n), Outcome: audit.OutcomeSuccess,
				Details: json.RawMessage(fmt.Sprintf(`{"caller":%d}`, i))})
		})
	}
	var wg sync.WaitGroup
	wg.Go(func() { create(0) })
	<-firstIn
	for i := 1; i < len(creates); i++ {
		wg.Go(func() { create(i) })
	}
	for deadline := time.Now().Add(10 * time.Second); s.versionBatch.Pending() < len(creates)-1; time.Sleep(100 * time.Microsecond) {
		if time.Now().After(deadline) {
			t.Errorf("%d creates pending, want %d", s.versionBatch.Pending(), len(creates)-1)
			break
		}
	}
	close(release)
	wg.Wait()
	return numbers, errs, runs
}

// checkCreated checks that the callers that succeeded each own the version
// of their number (its description, tag, param and event are the
// caller's), and that every model's numbers run from 1 without a gap.
func checkCreated(t *testing.T, s *Store, creates []sharedCreate, numbers []int, errs []error) {
	t.Helper()
	ctx := t.Context()
	byModel := map[string][]int{}
	caller := map[string]int{} // resource -> caller
	for i, c := range creates {
		if errs[i] != nil {
			continue
		}
		byModel[c.model] = append(byModel[c.model], numbers[i])
		caller[modelkeep.VersionResource(c.model, numbers[i])] = i
		v, err := s.GetVersionFresh(ctx, c.model, numbers[i])
		if err != nil {
			t.Fatalf("caller %d: version %s/%d: %v", i, c.model, numbers[i], err)
		}
		want := fmt.Sprint(i)
		if v.Description != "caller "+want || v.Tags["caller"] != want || v.Params["p"] != want {
			t.Errorf("caller %d got version %s/%d of %q (tags %v, params %v)", i, c.model, numbers[i], v.Description, v.Tags, v.Params)
		}
		// The filter reads the version_tags and version_params rows.
		for _, f := range []string{`tags.caller = "` + want + `"`, `params.p = "` + want + `"`} {
			got, err := s.ListVersions(ctx, modelkeep.VersionFilter{Model: c.model, Where: mustParseFilter(t, modelkeep.FilterVersions, f)})
			if err != nil || len(got) != 1 || got[0].Number != numbers[i] {
				t.Errorf("caller %d: %s finds %d versions (%v), want version %d", i, f, len(got), err, numbers[i])
			}
		}
	}
	for model, ns := range byModel {
		slices.Sort(ns)
		for k, n := range ns {
			if n != k+1 {
				t.Errorf("model %s: numbers %v, want 1..%d without a gap", model, ns, len(ns))
				break
			}
		}
	}
	var events []auditPendingRow
	if err := s.db.WithContext(ctx).Where("action = ?", "version.create").Find(&events).Error; err != nil {
		t.Fatal(err)
	}
	if len(events) != len(caller) {
		t.Errorf("%d version.create events, want one per created version (%d)", len(events), len(caller))
	}
	for _, e := range events {
		i, ok := caller[e.Resource]
		if want := fmt.Sprintf(`{"caller":%d}`, i); !ok || e.Details != want {
			t.Errorf("event on %s with %s, want %s", e.Resource, e.Details, want)
		}
	}
}

// TestCreateVersionThenShared: creates arriving together over several
// models share a transaction, and each caller gets its own version and
// number, with its tags, params and event.
func TestCreateVersionThenShared(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		models := []string{"a", "b", "c"}
		for _, m := range models {
			mustCreateModel(t, s, m, nil)
		}
		creates := make([]sharedCreate, 40)
		for i := range creates {
			creates[i].model = models[i%len(models)]
		}
		numbers, errs, runs := createTogether(t, s, creates)
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		for i, r := range runs {
			if r != 1 {
				t.Errorf("caller %d's then ran %d times, want once", i, r)
			}
		}
		checkCreated(t, s, creates, numbers, errs)
		for _, m := range models {
			if got, err := s.GetModel(t.Context(), m); err != nil || got.LatestVersion != len(creates)/len(models)+boolInt(m == "a") {
				t.Errorf("model %s: latest_version %d (%v)", m, got.LatestVersion, err)
			}
		}
	})
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestCreateVersionThenSharedFailure: when one create of a shared
// transaction fails, the others are created all the same, the failing
// caller gets its own error, and no number is lost.
func TestCreateVersionThenSharedFailure(t *testing.T) {
	errBoom := errors.New("boom")
	for _, tc := range []struct {
		name string
		// setup prepares the store; bad is the failing caller's create.
		setup func(t *testing.T, s *Store)
		bad   sharedCreate
		want  func(error) bool
		runs  int                          // how often the failing caller's then runs
		after func(t *testing.T, s *Store) // more checks, if any
	}{{
		name: "its then fails",
		bad:  sharedCreate{model: "a", then: func(int) error { return errBoom }},
		want: func(err error) bool { return errors.Is(err, errBoom) },
		runs: 2, // in the shared transaction, then alone
	}, {
		name: "its then panics",
		bad:  sharedCreate{model: "b", then: func(int) error { panic("bug") }},
		// In the shared transaction the panic is caught and fails it; alone,
		// it panics in its own caller, not in the one that ran the batch.
		want: func(err error) bool {
			return err != nil && strings.Contains(err.Error(), "panicked in its caller: bug")
		},
		runs: 2,
	}, {
		name: "its model is gone",
		setup: func(t *testing.T, s *Store) {
			// The model's id is remembered (as from an earlier create), then
			// the model is removed behind the store's back.
			mustCreateModel(t, s, "gone", nil)
			id, err := s.modelID(t.Context(), "gone")
			if err != nil {
				t.Fatal(err)
			}
			s.modelIDs.Put("gone", id)
			if err := s.db.Exec("DELETE FROM models WHERE name = 'gone'").Error; err != nil {
				t.Fatal(err)
			}
		},
		bad: sharedCreate{model: "gone"},
		want: func(err error) bool {
			return errors.Is(err, modelkeep.ErrNotFound) && strings.Contains(err.Error(), "gone")
		},
		after: func(t *testing.T, s *Store) {
			if _, known := s.modelIDs.Get("gone"); known {
				t.Error("the gone model's id is still remembered: every create naming it would fail a batch")
			}
		},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
				s := newStore(t, newURL)
				mustCreateModel(t, s, "a", nil)
				mustCreateModel(t, s, "b", nil)
				if tc.setup != nil {
					tc.setup(t, s)
				}
				creates := make([]sharedCreate, 20)
				for i := range creates {
					creates[i].model = []string{"a", "b"}[i%2]
				}
				const bad = 7
				creates[bad] = tc.bad
				numbers, errs, runs := createTogether(t, s, creates)
				for i, err := range errs {
					if i == bad {
						if !tc.want(err) {
							t.Errorf("the failing caller got %v", err)
						}
					} else if err != nil {
						t.Errorf("caller %d: %v", i, err)
					}
				}
				if tc.runs > 0 && runs[bad] != tc.runs {
					t.Errorf("the failing caller's then ran %d times, want %d", runs[bad], tc.runs)
				}
				checkCreated(t, s, creates, numbers, errs)
				if tc.after != nil {
					tc.after(t, s)
				}
			})
		})
	}
}

// A lone create runs again only when MySQL rolled it back as a deadlock's
// victim, however the error was wrapped on its way up.
func TestIsDeadlock(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"a deadlock", &gomysql.MySQLError{Number: 1213}, true},
		{"a deadlock through dbErr and then", fmt.Errorf("record: %w", dbErr("ensure dataset", &gomysql.MySQLError{Number: 1213})), true},
		{"a lock wait timeout", dbErr("create version", &gomysql.MySQLError{Number: 1205}), false},
		{"a duplicate", &gomysql.MySQLError{Number: 1062}, false},
		{"not from MySQL", modelkeep.Errorf(modelkeep.ErrInvalid, "bad"), false},
	} {
		if got := isDeadlock(tc.err); got != tc.want {
			t.Errorf("%s: isDeadlock = %v, want %v", tc.name, got, tc.want)
		}
	}
}
