package store

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/audit"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/migrations"
)

func TestAuditChain(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		mustCreateModel(t, s, "m", nil)
		appendOne := func(i int) error {
			details, err := audit.CanonicalDetails(map[string]any{"i": i, "note": "ünïcode & <html>"})
			if err != nil {
				return err
			}
			_, err = s.AppendAudit(ctx, audit.Event{
				Actor: "alice", Action: "test.event", Resource: fmt.Sprintf("models/m/%d", i),
				Outcome: "success", RequestID: fmt.Sprint("req-", i), RemoteAddr: "127.0.0.1:1234", Details: details,
			})
			return err
		}
		for i := range 20 {
			if err := appendOne(i); err != nil {
				t.Fatal(err)
			}
		}
		// 30 more from 10 goroutines, half of them inside a transaction that
		// also writes something else, as the Service does.
		var wg sync.WaitGroup
		errs := make(chan error, 30)
		for w := range 10 {
			wg.Go(func() {
				for j := range 3 {
					i := 20 + w*3 + j
					if i%2 == 0 {
						errs <- appendOne(i)
						continue
					}
					errs <- s.InTx(ctx, func(tx modelkeep.MetaStore) error {
						if _, err := tx.CreateVersion(ctx, modelkeep.Version{Model: "m"}); err != nil {
							return err
						}
						_, err := tx.AppendAudit(ctx, audit.Event{Actor: "bob", Action: "version.create", Resource: "models/m"})
						return err
					})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}

		events, err := s.QueryAudit(ctx, modelkeep.AuditQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 50 {
			t.Fatalf("%d events, want 50", len(events))
		}
		prev := audit.GenesisHash
		for i := len(events) - 1; i >= 0; i-- { // oldest first
			e := events[i]
			if want := int64(len(events) - i); e.Seq != want {
				t.Fatalf("seq %d at position %d, want %d", e.Seq, i, want)
			}
			if e.PrevHash != prev {
				t.Errorf("seq %d: prev_hash %s, want %s", e.Seq, e.PrevHash, prev)
			}
			if h := e.ComputeHash(); e.Hash != h {
				t.Errorf("seq %d: stored hash %s, recomputed %s", e.Seq, e.Hash, h)
			}
			prev = e.Hash
		}
		seq, hash, err := s.AuditHead(ctx)
		if err != nil || seq != 50 || hash != prev {
			t.Errorf("head = %d %s (%v), want 50 %s", seq, hash, err, prev)
		}
	})
}

// What AppendAudit returns is what is stored, byte for byte: the time as
// stored (UTC, microseconds), strings as valid UTF-8 and the details in their
// RFC 8785 canonical form, so the hash verifies on the event read back and
// in any other implementation that canonicalises the details.
func TestAppendAuditStoresWhatItHashes(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		in := audit.Event{
			Time:    time.Date(2025, 7, 8, 9, 10, 11, 123456789, time.FixedZone("X", -7*3600)),
			Actor:   "alice\xff",
			Action:  "file.download",
			Outcome: "success",
			// Not canonical on purpose: spacing, key order, number spelling.
			Details: json.RawMessage(`{"z": 1,  "a": [1.50, "x", "<&>"]}`),
		}
		got, err := s.AppendAudit(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		wantTime := in.Time.UTC().Truncate(time.Microsecond)
		if !got.Time.Equal(wantTime) || got.Time.Location() != time.UTC || got.Time.Nanosecond() != wantTime.Nanosecond() {
			t.Errorf("time %v, want %v", got.Time, wantTime)
		}
		if want := `{"a":[1.5,"x","<&>"],"z":1}`; string(got.Details) != want {
			t.Errorf("details %s, want %s", got.Details, want)
		}
		if got.Actor != "alice\uFFFD" {
			t.Errorf("actor %q, want the invalid byte replaced", got.Actor)
		}
		events, err := s.QueryAudit(ctx, modelkeep.AuditQuery{})
		if err != nil || len(events) != 1 {
			t.Fatalf("ListAudit = %d events, %v", len(events), err)
		}
		if !reflect.DeepEqual(events[0], got) {
			t.Errorf("stored  %+v\nreturned %+v", events[0], got)
		}
		if events[0].ComputeHash() != got.Hash {
			t.Errorf("read-back event does not verify: details %s", events[0].Details)
		}
		var scanned []audit.Event
		if err := s.ScanAudit(ctx, 1, 1, func(e audit.Event) error { scanned = append(scanned, e); return nil }); err != nil {
			t.Fatal(err)
		}
		if len(scanned) != 1 || !reflect.DeepEqual(scanned[0], got) {
			t.Errorf("scanned %+v\nreturned %+v", scanned, got)
		}

		t.Run("zero time and empty details", func(t *testing.T) {
			e, err := s.AppendAudit(ctx, audit.Event{Actor: "a", Action: "b"})
			if err != nil {
				t.Fatal(err)
			}
			if e.Time.IsZero() || string(e.Details) != "{}" || e.Seq != 2 {
				t.Errorf("got %+v", e)
			}
		})
		t.Run("invalid details", func(t *testing.T) {
			_, err := s.AppendAudit(ctx, audit.Event{Actor: "a", Action: "b", Details: json.RawMessage(`{"a":`)})
			wantErrIs(t, err, modelkeep.ErrInvalid)
		})
	})
}

func TestListAudit(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		events := []struct{ actor, action, resource string }{
			{"alice", "model.create", "models/fraud"},                       // 1
			{"bob", "version.create", "models/fraud/versions/1"},            // 2
			{"alice", "file.upload", "models/fraud/versions/1/files/a.bin"}, // 3
			{"alice", "model.create", "models/fraud_x"},                     // 4
			{"carol", "model.create", "models/fraudXx"},                     // 5
			{"bob", "file.download", "models/Fraud/versions/1/files/a.bin"}, // 6
			{"alice", "model.create", "models/100%"},                        // 7
			{"alice", "model.create", "models/100x"},                        // 8
			{"bob", "file.download", "models/fraud/versions/1/files/a.bin"}, // 9
			{"dave", "token.create", "tokens/7"},                            // 10
		}
		for i, e := range events {
			_, err := s.AppendAudit(ctx, audit.Event{
				Time: base.Add(time.Duration(i) * time.Minute), Actor: e.actor, Action: e.action, Resource: e.resource, Outcome: "success",
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		tests := []struct {
			name string
			f    modelkeep.AuditQuery
			want []int64
		}{
			{"all, newest first", modelkeep.AuditQuery{}, []int64{10, 9, 8, 7, 6, 5, 4, 3, 2, 1}},
			{"actor", modelkeep.AuditQuery{Actor: "bob"}, []int64{9, 6, 2}},
			{"action", modelkeep.AuditQuery{Action: "model.create"}, []int64{8, 7, 5, 4, 1}},
			{"actor and action", modelkeep.AuditQuery{Actor: "alice", Action: "model.create"}, []int64{8, 7, 4, 1}},
			{"resource exact", modelkeep.AuditQuery{Resource: "models/fraud"}, []int64{1}},
			{"resource prefix", modelkeep.AuditQuery{Resource: "models/fraud/*"}, []int64{9, 3, 2}},
			{"prefix is case-sensitive", modelkeep.AuditQuery{Resource: "models/Fraud*"}, []int64{6}},
			{"underscore in prefix is literal", modelkeep.AuditQuery{Resource: "models/fraud_*"}, []int64{4}},
			{"percent in prefix is literal", modelkeep.AuditQuery{Resource: "models/100%*"}, []int64{7}},
			{"star alone matches all", modelkeep.AuditQuery{Resource: "*", Actor: "dave"}, []int64{10}},
			{"since inclusive", modelkeep.AuditQuery{Since: base.Add(7 * time.Minute)}, []int64{10, 9, 8}},
			{"until exclusive", modelkeep.AuditQuery{Until: base.Add(2 * time.Minute)}, []int64{2, 1}},
			{"since and until, other zone", modelkeep.AuditQuery{
				Since: base.Add(3 * time.Minute).In(time.FixedZone("X", 5*3600)),
				Until: base.Add(5*time.Minute + time.Microsecond),
			}, []int64{6, 5, 4}},
			{"before seq", modelkeep.AuditQuery{BeforeSeq: 4}, []int64{3, 2, 1}},
			{"limit", modelkeep.AuditQuery{Limit: 3}, []int64{10, 9, 8}},
			{"page", modelkeep.AuditQuery{Action: "model.create", BeforeSeq: 7, Limit: 2}, []int64{5, 4}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.QueryAudit(ctx, tt.f)
				if err != nil {
					t.Fatal(err)
				}
				var seqs []int64
				for _, e := range got {
					seqs = append(seqs, e.Seq)
				}
				if !slices.Equal(seqs, tt.want) {
					t.Errorf("got %v, want %v", seqs, tt.want)
				}
			})
		}
	})
}

// Event times are in seq order only roughly (a time is taken before the
// append waits for the chain's lock; clocks of processes differ): a time
// range must find every event in it whatever the disorder, also once
// events appended later raise it. Compared with a filter of all events.
func TestListAuditTimeRangeOutOfOrder(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
		rng := rand.New(rand.NewPCG(1, 2))
		var all []audit.Event
		appendAt := func(at time.Time) {
			e, err := s.AppendAudit(ctx, audit.Event{Time: at, Actor: fmt.Sprint("u", rng.IntN(3)), Action: "a", Resource: "r", Outcome: "success"})
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, e)
		}
		// One event a second, each up to 5 s early, a few up to 2 minutes.
		for i := range 300 {
			late := time.Duration(rng.IntN(5_000_000)) * time.Microsecond
			if i%97 == 50 {
				late = time.Duration(rng.IntN(120)) * time.Second
			}
			appendAt(base.Add(time.Duration(i)*time.Second - late))
		}
		check := func(t *testing.T) {
			t.Helper()
			for range 200 {
				f := modelkeep.AuditQuery{Ascending: rng.IntN(2) == 0, Limit: 1 + rng.IntN(40)}
				if rng.IntN(4) > 0 {
					f.Since = base.Add(time.Duration(rng.IntN(320_000_000)-10_000_000) * time.Microsecond)
				}
				if rng.IntN(4) > 0 {
					f.Until = base.Add(time.Duration(rng.IntN(320_000_000)-10_000_000) * time.Microsecond)
				}
				if rng.IntN(2) == 0 {
					f.Actor = fmt.Sprint("u", rng.IntN(3))
				}
				var want []int64
				for _, e := range all {
					if (f.Since.IsZero() || !e.Time.Before(f.Since)) && (f.Until.IsZero() || e.Time.Before(f.Until)) &&
						(f.Actor == "" || e.Actor == f.Actor) {
						want = append(want, e.Seq)
					}
				}
				if !f.Ascending {
					slices.Reverse(want)
				}
				// Page through it as ListAuditEvents does.
				var got []int64
				for {
					page, err := s.QueryAudit(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					for _, e := range page {
						got = append(got, e.Seq)
					}
					if len(page) < f.Limit {
						break
					}
					if f.Ascending {
						f.AfterSeq = page[len(page)-1].Seq
					} else {
						f.BeforeSeq = page[len(page)-1].Seq
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%+v: got %v, want %v", f, got, want)
				}
			}
		}
		t.Run("disorder", check)
		// An event far older than any before it.
		appendAt(base.Add(-time.Hour))
		appendAt(base.Add(400 * time.Second))
		t.Run("an event an hour early", check)
	})
}

// Migration 0066 computes, for the events appended before 0065, what
// AppendAudit keeps on the head since: the latest time and (on SQLite up to
// 3 ms above) the most an event's time precedes an earlier event's, whether
// the two are neighbours, in different blocks of 64 seqs or of 4,096 (the
// parts of the MySQL query).
func TestAuditHeadTimeOrderBackfill(t *testing.T) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		n      int
		shift  map[int]time.Duration // event index: its time moved by this
		wantUS int64
	}{
		{"neighbours", 9, map[int]time.Duration{2: -1_500_123 * time.Microsecond, 4: -250 * time.Microsecond,
			6: -2_000_001 * time.Microsecond, 8: -17 * time.Microsecond}, 1_000_001}, // 6 at 4 s - 1 µs, after 5 at 5 s
		{"800 apart", 1100, map[int]time.Duration{200: 10_000 * time.Second, 1000: -1100 * time.Second}, 10_300_000_000},
		{"4,400 apart", 4600, map[int]time.Duration{100: 10_000 * time.Second, 4500: -4600 * time.Second}, 10_200_000_000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
				s := newStore(t, newURL)
				ctx := t.Context()
				err := s.InTx(ctx, func(tx modelkeep.MetaStore) error {
					for i := range tt.n {
						_, err := tx.AppendAudit(ctx, audit.Event{Time: base.Add(time.Duration(i)*time.Second + tt.shift[i]),
							Actor: "a", Action: "a", Resource: "r", Outcome: "success"})
						if err != nil {
							return err
						}
					}
					return nil
				})
				if err != nil {
					t.Fatal(err)
				}
				head := func() auditHeadRow {
					var h auditHeadRow
					if err := s.db.Where("id = ?", 1).Take(&h).Error; err != nil {
						t.Fatal(err)
					}
					return h
				}
				kept := head()
				if kept.MaxLagUS != tt.wantUS || kept.MaxTime == nil {
					t.Fatalf("head kept by appends: max_time %v, max_lag_us %d, want %d", kept.MaxTime, kept.MaxLagUS, tt.wantUS)
				}
				ms, err := migrations.Load(s.dialect)
				if err != nil {
					t.Fatal(err)
				}
				i := slices.IndexFunc(ms, func(m migrations.Migration) bool { return m.Version == 66 })
				exec(t, s, "UPDATE audit_head SET max_time = NULL, max_lag_us = 0 WHERE id = 1")
				for _, stmt := range ms[i].Statements {
					exec(t, s, stmt)
				}
				got := head()
				if got.MaxTime == nil || !got.MaxTime.Equal(*kept.MaxTime) {
					t.Errorf("backfilled max_time %v, want %v", got.MaxTime, kept.MaxTime)
				}
				slack := int64(0)
				if s.dialect == dialectSQLite {
					slack = 3000
				}
				if got.MaxLagUS < kept.MaxLagUS || got.MaxLagUS > kept.MaxLagUS+slack {
					t.Errorf("backfilled max_lag_us %d, want %d (+%d)", got.MaxLagUS, kept.MaxLagUS, slack)
				}
			})
		})
	}
}

// A prefix that reaches a resource's second '/' also selects by the
// resource_root column (migration 0068): the same events as the prefix
// alone, whatever the resource's shape.
func TestListAuditResourceRoot(t *testing.T) {
	long := strings.Repeat("é", 600)
	resources := []string{
		"models/a", "models/a/versions/1", "models/a/versions/12/card", "models/ab/versions/1", "models/a/b/c",
		"models/A/versions/1", "audit", "transitions/x", "transitions/x/y", "/x/y", "//z", "models/" + long + "/versions/1",
		"models/" + long + "x/versions/1", "models/é/versions/1", "models/a /versions/1",
	}
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		for _, r := range resources {
			if _, err := s.AppendAudit(ctx, audit.Event{Actor: "a", Action: "a", Resource: r, Outcome: "success"}); err != nil {
				t.Fatal(err)
			}
		}
		for _, prefix := range []string{"models/a/", "models/a/versions/", "models/a/versions/1", "models/a", "models/A/",
			"transitions/x/", "transitions/", "/x/", "//", "models/" + long + "/", "models/" + long + "x/", "models/é/",
			"models/a /", "models/a/b/c", "audit"} {
			var want []int64
			for i := len(resources) - 1; i >= 0; i-- {
				if strings.HasPrefix(resources[i], prefix) {
					want = append(want, int64(i+1))
				}
			}
			for _, actor := range []string{"", "a"} {
				events, err := s.QueryAudit(ctx, modelkeep.AuditQuery{Resource: prefix + "*", Actor: actor})
				if err != nil {
					t.Fatal(err)
				}
				var got []int64
				for _, e := range events {
					got = append(got, e.Seq)
				}
				if !slices.Equal(got, want) {
					t.Errorf("%.40q*, actor %q: got %v, want %v", prefix, actor, got, want)
				}
			}
		}
	})
}
