package modelkeep

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/audit"
)

// memAuditStore is an AuditStore in memory: the whole interface, so the
// audit log's use cases run on it as on the real store.
type memAuditStore struct {
	events   []audit.Event
	cps      []audit.Checkpoint
	headSeq  int64
	headHash string
}

var _ AuditStore = (*memAuditStore)(nil)

func (f *memAuditStore) InAuditTx(ctx context.Context, fn func(AuditStore) error) error { return fn(f) }

func (f *memAuditStore) AppendAudit(_ context.Context, e audit.Event) (audit.Event, error) {
	e, err := e.Normalize()
	if err != nil {
		return audit.Event{}, Errorf(ErrInvalid, "%v", err)
	}
	seq, prev := f.AuditHeadNow()
	e.Seq, e.PrevHash = seq+1, prev
	e.Hash = e.ComputeHash()
	f.events = append(f.events, e)
	f.headSeq, f.headHash = e.Seq, e.Hash
	return e, nil
}

// AuditHeadNow is the head: the last event ever appended (or the last of
// the events a test put in place), never going back on a prune.
func (f *memAuditStore) AuditHeadNow() (int64, string) {
	if n := len(f.events); n > 0 && f.events[n-1].Seq > f.headSeq {
		return f.events[n-1].Seq, f.events[n-1].Hash
	}
	if f.headSeq == 0 {
		return 0, audit.GenesisHash
	}
	return f.headSeq, f.headHash
}

func (f *memAuditStore) AuditHead(context.Context) (int64, string, error) {
	seq, hash := f.AuditHeadNow()
	return seq, hash, nil
}

func (f *memAuditStore) AuditSeqRange(_ context.Context, t time.Time) (int64, int64, error) {
	if len(f.events) == 0 {
		return 0, 0, nil
	}
	var young int64
	for _, e := range f.events {
		if !t.IsZero() && !e.Time.Before(t) {
			young = e.Seq
			break
		}
	}
	if t.IsZero() {
		young = f.events[0].Seq
	}
	return f.events[0].Seq, young, nil
}

func (f *memAuditStore) GetAuditEvent(_ context.Context, seq int64) (audit.Event, error) {
	for _, e := range f.events {
		if e.Seq == seq {
			return e, nil
		}
	}
	return audit.Event{}, Errorf(ErrNotFound, "no event %d", seq)
}

func (f *memAuditStore) QueryAudit(_ context.Context, q AuditQuery) ([]audit.Event, error) {
	var out []audit.Event
	for _, e := range f.events {
		if (q.Actor == "" || e.Actor == q.Actor) && (q.Action == "" || e.Action == q.Action) &&
			(q.Outcome == "" || e.Outcome == q.Outcome) && (q.AfterSeq == 0 || e.Seq > q.AfterSeq) &&
			(q.BeforeSeq == 0 || e.Seq < q.BeforeSeq) {
			out = append(out, e)
		}
	}
	if !q.Ascending {
		slices.Reverse(out)
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

func (f *memAuditStore) ScanAudit(_ context.Context, from, to int64, fn func(audit.Event) error) error {
	for _, e := range f.events {
		if e.Seq >= from && e.Seq <= to {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *memAuditStore) AddAuditCheckpoint(_ context.Context, c audit.Checkpoint) (audit.Checkpoint, bool, error) {
	for _, have := range f.cps {
		if have.Seq == c.Seq {
			return have, false, nil
		}
	}
	f.cps = append(f.cps, c)
	slices.SortFunc(f.cps, func(a, b audit.Checkpoint) int { return int(a.Seq - b.Seq) })
	return c, true, nil
}

func (f *memAuditStore) LastAuditCheckpoint(_ context.Context, maxSeq int64, kind string) (audit.Checkpoint, error) {
	for i := len(f.cps) - 1; i >= 0; i-- {
		if c := f.cps[i]; c.Seq <= maxSeq && (kind == "" || c.Kind == kind) {
			return c, nil
		}
	}
	return audit.Checkpoint{}, Errorf(ErrNotFound, "no checkpoint")
}

func (f *memAuditStore) ListAuditCheckpoints(_ context.Context, beforeSeq int64, limit int) ([]audit.Checkpoint, error) {
	var out []audit.Checkpoint
	for i := len(f.cps) - 1; i >= 0 && len(out) < limit; i-- {
		if beforeSeq == 0 || f.cps[i].Seq < beforeSeq {
			out = append(out, f.cps[i])
		}
	}
	return out, nil
}

func (f *memAuditStore) AuditCheckpointsBetween(_ context.Context, from, to int64, limit int) ([]audit.Checkpoint, error) {
	var out []audit.Checkpoint
	for _, c := range f.cps {
		if c.Seq >= from && c.Seq <= to && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *memAuditStore) PruneAudit(_ context.Context, throughSeq int64) (int64, error) {
	f.headSeq, f.headHash = f.AuditHeadNow()
	n := 0
	for n < len(f.events) && f.events[n].Seq <= throughSeq {
		n++
	}
	f.events = f.events[n:]
	f.cps = slices.DeleteFunc(f.cps, func(c audit.Checkpoint) bool { return c.Seq < throughSeq })
	return int64(n), nil
}

// chainOf appends n events to a fresh in-memory store, as the use cases
// would, with a checkpoint of every cpEvery-th signed by signer.
func chainOf(t *testing.T, signer *audit.Signer, n, cpEvery int) *memAuditStore {
	t.Helper()
	f := &memAuditStore{}
	base := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		e, err := f.AppendAudit(context.Background(), audit.Event{
			Time: base.Add(time.Duration(i) * time.Second), Actor: fmt.Sprint("user-", i%3), Action: "model.update",
			Resource: "models/m", Outcome: audit.OutcomeSuccess, Details: []byte(fmt.Sprintf(`{"i": %d}`, i)),
		})
		if err != nil {
			t.Fatal(err)
		}
		if cpEvery > 0 && (i+1)%cpEvery == 0 {
			f.cps = append(f.cps, signer.Checkpoint(e.Seq, e.Hash, e.Time, audit.CheckpointInterval))
		}
	}
	return f
}

func newTestSigner(t *testing.T, seed byte) *audit.Signer {
	t.Helper()
	s, err := audit.NewSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func exportOf(t *testing.T, f *memAuditStore, signer *audit.Signer, format string) []byte {
	t.Helper()
	ctx := auditorCtx
	x, err := NewAuditLog(f, AuditLogOptions{Signer: signer}).ExportAudit(ctx, format)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := x.WriteTo(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var auditorCtx = WithActor(context.Background(), Actor{Subject: "auditor", Roles: []string{RoleAuditor}})

// An export streams the chain up to the head it was made at, as package
// audit encodes it, and is itself recorded in the log after that range.
func TestExportAudit(t *testing.T) {
	signer := newTestSigner(t, 1)
	for _, format := range []string{audit.FormatJSONL, audit.FormatCSV} {
		t.Run(format, func(t *testing.T) {
			f := chainOf(t, signer, 20, 5)
			res, err := audit.VerifyExport(bytes.NewReader(exportOf(t, f, signer, format)), audit.NewKeyring(signer.PublicKey()))
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK || res.Events != 20 || res.LastSeq != 20 || res.CheckpointsVerified != 4 || res.Format != format {
				t.Fatalf("%+v", res)
			}
			if last := f.events[len(f.events)-1]; last.Seq != 21 || last.Action != ActionAuditExport || last.Actor != "auditor" {
				t.Errorf("the export was not recorded after its range: last event %+v", last)
			}
		})
	}
	t.Run("a pruned chain starts with its anchor", func(t *testing.T) {
		full := chainOf(t, signer, 12, 0)
		f := &memAuditStore{events: append([]audit.Event(nil), full.events[5:]...)}
		f.cps = []audit.Checkpoint{signer.Checkpoint(5, full.events[4].Hash, full.events[4].Time, audit.CheckpointPrune)}
		raw, _ := audit.CanonicalDetails(map[string]any{"through_seq": 5})
		if _, err := f.AppendAudit(context.Background(), audit.Event{Action: audit.ActionPrune, Details: raw}); err != nil {
			t.Fatal(err)
		}
		res, err := audit.VerifyExport(bytes.NewReader(exportOf(t, f, signer, audit.FormatJSONL)), audit.NewKeyring(signer.PublicKey()))
		if err != nil || !res.OK || res.FirstSeq != 6 || res.Events != 8 {
			t.Fatalf("%+v %v", res, err)
		}
	})
}

// VerifyAudit from since_seq trusts the stored hash of the event before it
// and checks the first event of its range like any other: an edited event
// since_seq is the first broken one.
func TestVerifyAuditSinceSeq(t *testing.T) {
	signer := newTestSigner(t, 2)
	tests := []struct {
		name       string
		change     func(f *memAuditStore)
		wantOK     bool
		wantBroken int64
	}{
		{"untouched", func(*memAuditStore) {}, true, 0},
		{"first event of the range edited", func(f *memAuditStore) { f.events[5].Actor = "mallory" }, false, 6},
		{"first event of the range relinked", func(f *memAuditStore) {
			f.events[5].PrevHash = f.events[3].Hash
			for i := 5; i < len(f.events); i++ {
				if i > 5 {
					f.events[i].PrevHash = f.events[i-1].Hash
				}
				f.events[i].Hash = f.events[i].ComputeHash()
			}
		}, false, 6},
		{"event before the range edited", func(f *memAuditStore) { f.events[3].Actor = "mallory" }, true, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := chainOf(t, signer, 10, 0)
			tt.change(f)
			res, err := NewAuditLog(f, AuditLogOptions{Signer: signer}).VerifyAudit(auditorCtx, 6)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK != tt.wantOK || res.FirstBrokenSeq != tt.wantBroken {
				t.Errorf("ok %v, first broken %d (%s); want ok %v, %d", res.OK, res.FirstBrokenSeq, res.Reason, tt.wantOK, tt.wantBroken)
			}
		})
	}
}

// chainsAfterFirstRead is an AuditStore that chains a young event right
// after the first of a prune's reads of the head and of the range, as a
// sequencer running beside the prune may.
type chainsAfterFirstRead struct {
	*memAuditStore
	t       *testing.T
	youngAt time.Time
	chained bool
}

func (c *chainsAfterFirstRead) chain() {
	if c.chained {
		return
	}
	c.chained = true
	_, err := c.memAuditStore.AppendAudit(context.Background(), audit.Event{Time: c.youngAt, Actor: "alice",
		Action: "model.create", Resource: "models/new", Outcome: audit.OutcomeSuccess})
	if err != nil {
		c.t.Fatal(err)
	}
}

func (c *chainsAfterFirstRead) AuditHead(ctx context.Context) (int64, string, error) {
	seq, hash, err := c.memAuditStore.AuditHead(ctx)
	c.chain()
	return seq, hash, err
}

func (c *chainsAfterFirstRead) AuditSeqRange(ctx context.Context, t time.Time) (int64, int64, error) {
	first, young, err := c.memAuditStore.AuditSeqRange(ctx, t)
	c.chain()
	return first, young, err
}

// TestPruneNeverTakesAnEventChainedMeanwhile: every stored event is old,
// and a young one is chained while the prune reads where the chain ends;
// the prune must stop before it (it read the head before the range, once
// the other way round, and then took the young event with the old ones).
func TestPruneNeverTakesAnEventChainedMeanwhile(t *testing.T) {
	signer := newTestSigner(t, 1)
	old := chainOf(t, signer, 5, 0) // May 2025
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	store := &chainsAfterFirstRead{memAuditStore: old, t: t, youngAt: now}
	l := NewAuditLog(store, AuditLogOptions{Signer: signer, Now: func() time.Time { return now }})
	out, err := l.PruneAudit(context.Background(), MinAuditRetention, true)
	if err != nil {
		t.Fatal(err)
	}
	if out.ThroughSeq != 5 || out.Deleted != 5 {
		t.Fatalf("prune would remove through seq %d (%d events), want through 5 (5 events): the young event 6 is not to go", out.ThroughSeq, out.Deleted)
	}
}
