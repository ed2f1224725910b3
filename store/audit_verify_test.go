package store

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/audit"

	"github.com/modelkeep/modelkeep"
)

func testSigner(t *testing.T) *audit.Signer {
	t.Helper()
	s, err := audit.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// auditService is a Service on s whose clock is now.
func auditService(t *testing.T, s *Store, now time.Time) *modelkeep.Service {
	t.Helper()
	return modelkeep.NewService(s, nil, modelkeep.ServiceOptions{
		AuditSigner: testSigner(t), Now: func() time.Time { return now }, Logger: testLogger(t),
	})
}

// appendEvents appends n events in one transaction (quick on MySQL too).
func appendEvents(t *testing.T, s *Store, n int, at func(i int) time.Time) {
	t.Helper()
	err := s.InTx(t.Context(), func(tx modelkeep.MetaStore) error {
		return appendEventsTx(t, tx, n, at)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func appendEventsTx(t *testing.T, s modelkeep.MetaStore, n int, at func(i int) time.Time) error {
	for i := range n {
		details, err := audit.CanonicalDetails(map[string]any{"i": i})
		if err != nil {
			return err
		}
		_, err = s.AppendAudit(t.Context(), audit.Event{
			Time: at(i), Actor: fmt.Sprint("user-", i%3), Action: "model.update", Resource: fmt.Sprint("models/m", i),
			Outcome: audit.OutcomeSuccess, RequestID: fmt.Sprint("req-", i), RemoteAddr: "192.0.2.1", Details: details,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func exec(t *testing.T, s *Store, sql string, args ...any) {
	t.Helper()
	if err := s.db.Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func verify(t *testing.T, svc *modelkeep.Service, since int64) audit.Verification {
	t.Helper()
	res, err := svc.VerifyAudit(t.Context(), since)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// checkpointAt signs a checkpoint of event seq as the periodic job would
// have when it was the head.
func checkpointAt(t *testing.T, s *Store, seq int64) {
	t.Helper()
	e, err := s.GetAuditEvent(t.Context(), seq)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.AddAuditCheckpoint(t.Context(), testSigner(t).Checkpoint(seq, e.Hash, e.Time, audit.CheckpointInterval)); err != nil {
		t.Fatal(err)
	}
}

// Tampering with the stored log through SQL, the way a database
// administrator could, is found by verification at the first broken seq.
func TestVerifyAuditFindsTampering(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name       string
		tamper     func(t *testing.T, s *Store)
		since      int64
		wantBroken int64 // 0: intact
	}{
		{"intact", func(*testing.T, *Store) {}, 0, 0},
		{"changed field", func(t *testing.T, s *Store) {
			exec(t, s, "UPDATE audit_events SET actor = ? WHERE seq = ?", "mallory", 15)
		}, 0, 15},
		{"changed details", func(t *testing.T, s *Store) {
			exec(t, s, "UPDATE audit_events SET details = ? WHERE seq = ?", `{"i":99}`, 15)
		}, 0, 15},
		{"changed time", func(t *testing.T, s *Store) {
			exec(t, s, "UPDATE audit_events SET time = ? WHERE seq = ?", now.Add(-time.Hour), 15)
		}, 0, 15},
		{"deleted row", func(t *testing.T, s *Store) { exec(t, s, "DELETE FROM audit_events WHERE seq = ?", 15) }, 0, 15},
		{"swapped two rows' content", func(t *testing.T, s *Store) {
			a, _ := s.GetAuditEvent(t.Context(), 12)
			b, _ := s.GetAuditEvent(t.Context(), 17)
			set := "UPDATE audit_events SET time = ?, actor = ?, action = ?, resource = ?, details = ?, prev_hash = ?, hash = ? WHERE seq = ?"
			exec(t, s, set, b.Time, b.Actor, b.Action, b.Resource, string(b.Details), b.PrevHash, b.Hash, 12)
			exec(t, s, set, a.Time, a.Actor, a.Action, a.Resource, string(a.Details), a.PrevHash, a.Hash, 17)
		}, 0, 12},
		{"deleted the newest rows", func(t *testing.T, s *Store) { exec(t, s, "DELETE FROM audit_events WHERE seq > ?", 27) }, 0, 28},
		{"deleted the newest rows and moved the head back", func(t *testing.T, s *Store) {
			e, _ := s.GetAuditEvent(t.Context(), 22)
			exec(t, s, "DELETE FROM audit_events WHERE seq > ?", 22)
			exec(t, s, "UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", 22, e.Hash)
		}, 0, 23},
		{"deleted the oldest rows", func(t *testing.T, s *Store) { exec(t, s, "DELETE FROM audit_events WHERE seq <= ?", 3) }, 0, 1},
		{"rewrote the chain consistently after an edit", func(t *testing.T, s *Store) {
			events, _ := s.QueryAudit(t.Context(), modelkeep.AuditQuery{AfterSeq: 14, Ascending: true})
			prev := ""
			for i, e := range events {
				if i == 0 {
					prev = e.PrevHash
					e.Actor = "mallory"
				}
				e.PrevHash = prev
				e.Hash = e.ComputeHash()
				prev = e.Hash
				exec(t, s, "UPDATE audit_events SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?", e.Actor, e.PrevHash, e.Hash, e.Seq)
			}
			exec(t, s, "UPDATE audit_head SET hash = ? WHERE id = 1", prev)
		}, 0, 20}, // the first signed checkpoint after the edit
		{"forged checkpoint", func(t *testing.T, s *Store) {
			exec(t, s, "UPDATE audit_checkpoints SET time = ? WHERE seq = ?", now, 10)
		}, 0, 10},
		{"since_seq skips an older edit", func(t *testing.T, s *Store) {
			exec(t, s, "UPDATE audit_events SET actor = ? WHERE seq = ?", "mallory", 15)
		}, 16, 0},
		{"since_seq finds a newer edit", func(t *testing.T, s *Store) {
			exec(t, s, "UPDATE audit_events SET actor = ? WHERE seq = ?", "mallory", 25)
		}, 16, 25},
	}
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				s := newStore(t, newURL)
				svc := auditService(t, s, now)
				appendEvents(t, s, 30, func(i int) time.Time { return now.Add(time.Duration(i-30) * time.Minute) })
				for _, seq := range []int64{10, 20, 25} {
					checkpointAt(t, s, seq)
				}
				tt.tamper(t, s)
				res := verify(t, svc, tt.since)
				if tt.wantBroken == 0 {
					if !res.OK || res.FirstBrokenSeq != 0 || res.HeadSeq != 30 {
						t.Fatalf("intact chain: %+v", res)
					}
					return
				}
				if res.OK || res.FirstBrokenSeq != tt.wantBroken {
					t.Errorf("ok %v, first broken seq %d (%s); want %d", res.OK, res.FirstBrokenSeq, res.Reason, tt.wantBroken)
				}
			})
		}
	})
}

func TestVerifyAuditResult(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
		svc := auditService(t, s, now)
		if res := verify(t, svc, 0); !res.OK || res.Events != 0 || res.Head != audit.GenesisHash {
			t.Errorf("empty chain: %+v", res)
		}
		appendEvents(t, s, 9000, func(int) time.Time { return now }) // more than two scan batches
		c, created, err := svc.CheckpointAudit(t.Context())
		if err != nil || !created || c.Seq != 9000 {
			t.Fatalf("CheckpointAudit = %+v %v %v", c, created, err)
		}
		if _, created, err := svc.CheckpointAudit(t.Context()); err != nil || created {
			t.Errorf("a second checkpoint of an unchanged head: %v %v", created, err)
		}
		_, head, _ := s.AuditHead(t.Context())
		res := verify(t, svc, 0)
		if !res.OK || res.Events != 9000 || res.FirstSeq != 1 || res.LastSeq != 9000 || res.Head != head ||
			res.CheckpointsVerified != 1 || res.LatestCheckpoint == nil || res.LatestCheckpoint.Seq != 9000 {
			t.Errorf("%+v", res)
		}
		if res := verify(t, svc, 8990); !res.OK || res.Events != 11 || res.FirstSeq != 8990 {
			t.Errorf("since 8990: %+v", res)
		}
		if _, err := svc.VerifyAudit(t.Context(), 9002); !errors.Is(err, modelkeep.ErrInvalid) {
			t.Errorf("since beyond the head: %v", err)
		}
		// Another instance's key: its checkpoints are not verified, nor damage.
		other := modelkeep.NewService(s, nil, modelkeep.ServiceOptions{})
		if res := verify(t, other, 0); !res.OK || res.CheckpointsUnverified != 1 || res.CheckpointsVerified != 0 {
			t.Errorf("unknown key: %+v", res)
		}
	})
}

func TestAuditCheckpointStore(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		ctx := t.Context()
		signer := testSigner(t)
		at := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
		kinds := map[int64]string{3: audit.CheckpointInterval, 5: audit.CheckpointPrune, 8: audit.CheckpointRequest, 9: audit.CheckpointInterval}
		for _, seq := range []int64{3, 5, 8, 9} {
			c := signer.Checkpoint(seq, sha(fmt.Sprint(seq)), at, kinds[seq])
			got, created, err := s.AddAuditCheckpoint(ctx, c)
			if err != nil || !created || !reflect.DeepEqual(got, c) {
				t.Fatalf("add %d: %+v %v %v", seq, got, created, err)
			}
		}
		again := signer.Checkpoint(8, sha("other"), at.Add(time.Hour), audit.CheckpointInterval)
		got, created, err := s.AddAuditCheckpoint(ctx, again)
		if err != nil || created || got.Hash != sha("8") {
			t.Errorf("duplicate seq: %+v %v %v", got, created, err)
		}
		tests := []struct {
			maxSeq  int64
			kind    string
			wantSeq int64
		}{
			{math.MaxInt64, "", 9}, {8, "", 8}, {7, "", 5}, {9, audit.CheckpointPrune, 5}, {2, "", 0}, {4, audit.CheckpointPrune, 0},
		}
		for _, tt := range tests {
			c, err := s.LastAuditCheckpoint(ctx, tt.maxSeq, tt.kind)
			if tt.wantSeq == 0 {
				wantErrIs(t, err, modelkeep.ErrNotFound)
				continue
			}
			if err != nil || c.Seq != tt.wantSeq {
				t.Errorf("LastAuditCheckpoint(%d, %q) = %d %v, want %d", tt.maxSeq, tt.kind, c.Seq, err, tt.wantSeq)
			}
		}
		seqs := func(cs []audit.Checkpoint, err error) []int64 {
			if err != nil {
				t.Fatal(err)
			}
			var out []int64
			for _, c := range cs {
				out = append(out, c.Seq)
			}
			return out
		}
		if got := seqs(s.ListAuditCheckpoints(ctx, 0, 2)); !reflect.DeepEqual(got, []int64{9, 8}) {
			t.Errorf("list: %v", got)
		}
		if got := seqs(s.ListAuditCheckpoints(ctx, 8, 10)); !reflect.DeepEqual(got, []int64{5, 3}) {
			t.Errorf("list before 8: %v", got)
		}
		if got := seqs(s.AuditCheckpointsBetween(ctx, 4, 9, 2)); !reflect.DeepEqual(got, []int64{5, 8}) {
			t.Errorf("between: %v", got)
		}
	})
}

// Pruning removes only what is older than the retention, from the start of
// the chain, and leaves a chain that verifies from its signed anchor.
func TestPruneAudit(t *testing.T) {
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		t.Run("keeps the young and anchors the rest", func(t *testing.T) {
			s := newStore(t, newURL)
			svc := auditService(t, s, now)
			ctx := modelkeep.WithActor(t.Context(), modelkeep.Actor{Subject: "ops", Roles: []string{modelkeep.RoleAdmin}})
			// 1..10 old, 11 young (a clock that was behind), 12..14 old, 15..20 young.
			appendEvents(t, s, 20, func(i int) time.Time {
				switch {
				case i == 10 || i >= 14:
					return now.Add(-100 * day)
				default:
					return now.Add(-200 * day)
				}
			})
			checkpointAt(t, s, 5)

			if _, err := svc.PruneAudit(ctx, 183*day, false); !errors.Is(err, modelkeep.ErrInvalid) {
				t.Errorf("retention under 184 days: %v", err)
			}
			dry, err := svc.PruneAudit(ctx, 184*day, true)
			if err != nil || dry.ThroughSeq != 10 || dry.Deleted != 10 {
				t.Fatalf("dry run: %+v %v", dry, err)
			}
			if first, _, _ := s.AuditSeqRange(ctx, time.Time{}); first != 1 {
				t.Fatalf("a dry run removed events: first is %d", first)
			}
			out, err := svc.PruneAudit(ctx, 184*day, false)
			if err != nil || out.ThroughSeq != 10 || out.Deleted != 10 || len(out.Anchors) != 1 || out.Anchors[0].Seq != 10 {
				t.Fatalf("prune: %+v %v", out, err)
			}
			if first, _, _ := s.AuditSeqRange(ctx, time.Time{}); first != 11 {
				t.Errorf("first event after the prune: %d, want 11", first)
			}
			if _, err := s.LastAuditCheckpoint(ctx, 9, ""); !errors.Is(err, modelkeep.ErrNotFound) {
				t.Errorf("checkpoints of removed events are left: %v", err)
			}
			e, err := s.GetAuditEvent(ctx, 21)
			if err != nil || e.Action != audit.ActionPrune || e.Actor != "ops" || !bytes.Contains(e.Details, []byte(`"through_seq":10`)) {
				t.Errorf("prune event: %+v %v", e, err)
			}
			res := verify(t, svc, 0)
			if !res.OK || res.FirstSeq != 11 || res.Events != 11 {
				t.Fatalf("after the prune: %+v", res)
			}
			if again, err := svc.PruneAudit(ctx, 184*day, false); err != nil || again.Deleted != 0 {
				t.Errorf("second prune: %+v %v", again, err)
			}

			// Removing the oldest retained events now is found, from the anchor on.
			exec(t, s, "DELETE FROM audit_events WHERE seq <= ?", 12)
			if res := verify(t, svc, 0); res.OK || res.FirstBrokenSeq != 11 {
				t.Errorf("oldest retained events removed: %+v", res)
			}
		})
		t.Run("refuses a broken chain", func(t *testing.T) {
			s := newStore(t, newURL)
			svc := auditService(t, s, now)
			appendEvents(t, s, 5, func(int) time.Time { return now.Add(-300 * day) })
			exec(t, s, "UPDATE audit_events SET actor = ? WHERE seq = ?", "mallory", 2)
			if _, err := svc.PruneAudit(t.Context(), 184*day, false); !errors.Is(err, modelkeep.ErrPrecondition) {
				t.Fatalf("prune of a broken chain: %v", err)
			}
			if first, _, _ := s.AuditSeqRange(t.Context(), time.Time{}); first != 1 {
				t.Errorf("events were removed: first is %d", first)
			}
		})
		t.Run("everything old", func(t *testing.T) {
			s := newStore(t, newURL)
			svc := auditService(t, s, now)
			appendEvents(t, s, 4, func(int) time.Time { return now.Add(-300 * day) })
			out, err := svc.PruneAudit(context.Background(), 200*day, false)
			if err != nil || out.ThroughSeq != 4 {
				t.Fatalf("%+v %v", out, err)
			}
			if res := verify(t, svc, 0); !res.OK || res.FirstSeq != 5 || res.Events != 1 {
				t.Errorf("%+v", res)
			}
		})
	})
}

func TestAuditCheckpointRowMatchesSchema(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		s := newStore(t, newURL)
		typ := reflect.TypeFor[auditCheckpointRow]()
		for i := range typ.NumField() {
			col := s.db.NamingStrategy.ColumnName("", typ.Field(i).Name)
			if tag := typ.Field(i).Tag.Get("gorm"); tag != "" {
				for _, part := range bytes.Split([]byte(tag), []byte(";")) {
					if name, ok := bytes.CutPrefix(part, []byte("column:")); ok {
						col = string(name)
					}
				}
			}
			if !s.db.Migrator().HasColumn(&auditCheckpointRow{}, col) {
				t.Errorf("audit_checkpoints has no column %s", col)
			}
		}
	})
}
