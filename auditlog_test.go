package modelkeep

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// An event's hash, as docs/audit.md computes it in Python:
//
//	canon = json.dumps(ev, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
//	hashlib.sha256(prev.encode() + canon.encode()).hexdigest()
func TestAuditEventHashVector(t *testing.T) {
	details, err := CanonicalDetails(map[string]any{
		"before": map[string]any{"description": "old <desc>", "tags": map[string]string{}},
		"after":  map[string]any{"description": "new & ünïcode", "tags": map[string]string{"team": "risk"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	e := AuditEvent{
		Seq: 7, Time: time.Date(2025, 7, 8, 18, 10, 11, 123450000, time.FixedZone("CEST", 2*3600)),
		Actor: "alice", Action: "model.update", Resource: "models/fraud-detector", Outcome: "success",
		RequestID: "req-1", RemoteAddr: "192.0.2.1", Details: details, PrevHash: strings.Repeat("ab", 32),
	}
	wantCanon := `{"action":"model.update","actor":"alice","details":{"after":{"description":"new & ünïcode","tags":{"team":"risk"}},` +
		`"before":{"description":"old <desc>","tags":{}}},"outcome":"success","remote_addr":"192.0.2.1","request_id":"req-1",` +
		`"resource":"models/fraud-detector","seq":7,"time":"2025-07-08T16:10:11.123450Z"}`
	if got := string(e.CanonicalBytes()); got != wantCanon {
		t.Errorf("canonical bytes\n got %s\nwant %s", got, wantCanon)
	}
	if got, want := e.ComputeHash(), "032430d830f93f303436163770ea8413c9b8a5d185b61c2a129809226f561741"; got != want {
		t.Errorf("hash %s, want %s", got, want)
	}
}

func TestParseAuditTime(t *testing.T) {
	for _, s := range []string{"2025-01-02T03:04:05.000000Z", "1999-12-31T23:59:59.999999Z"} {
		if _, err := ParseAuditTime(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	for _, s := range []string{"2025-01-02T03:04:05Z", "2025-01-02T03:04:05.00000Z", "2025-01-02T03:04:05.000000+00:00", ""} {
		if _, err := ParseAuditTime(s); err == nil {
			t.Errorf("%q parsed; only the canonical spelling may", s)
		}
	}
}

// fakeAuditMeta is the part of MetaStore that exports use, in memory.
type fakeAuditMeta struct {
	MetaStore // nil: other methods are not used
	events    []AuditEvent
	cps       []AuditCheckpoint
}

func (f *fakeAuditMeta) InTx(ctx context.Context, fn func(MetaStore) error) error { return fn(f) }

func (f *fakeAuditMeta) AppendAudit(_ context.Context, e AuditEvent) (AuditEvent, error) {
	e.Seq, e.PrevHash = 1, GenesisHash
	if n := len(f.events); n > 0 {
		e.Seq, e.PrevHash = f.events[n-1].Seq+1, f.events[n-1].Hash
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	e.Hash = e.ComputeHash()
	f.events = append(f.events, e)
	return e, nil
}

func (f *fakeAuditMeta) AuditHead(context.Context) (int64, string, error) {
	if len(f.events) == 0 {
		return 0, GenesisHash, nil
	}
	last := f.events[len(f.events)-1]
	return last.Seq, last.Hash, nil
}

func (f *fakeAuditMeta) AuditSeqRange(context.Context, time.Time) (int64, int64, error) {
	if len(f.events) == 0 {
		return 0, 0, nil
	}
	return f.events[0].Seq, f.events[0].Seq, nil
}

func (f *fakeAuditMeta) LastAuditCheckpoint(_ context.Context, maxSeq int64, kind string) (AuditCheckpoint, error) {
	for i := len(f.cps) - 1; i >= 0; i-- {
		if c := f.cps[i]; c.Seq <= maxSeq && (kind == "" || c.Kind == kind) {
			return c, nil
		}
	}
	return AuditCheckpoint{}, Errorf(ErrNotFound, "no checkpoint")
}

func (f *fakeAuditMeta) ScanAudit(_ context.Context, from, to int64, fn func(AuditEvent) error) error {
	for _, e := range f.events {
		if e.Seq >= from && e.Seq <= to {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}

func (f *fakeAuditMeta) AuditCheckpointsBetween(_ context.Context, from, to int64, limit int) ([]AuditCheckpoint, error) {
	var out []AuditCheckpoint
	for _, c := range f.cps {
		if c.Seq >= from && c.Seq <= to && len(out) < limit {
			out = append(out, c)
		}
	}
	return out, nil
}

// testChain makes n events (seq from firstSeq, the first linked to prev)
// with a checkpoint every cpEvery events, signed by signer.
func testChain(t *testing.T, signer *AuditSigner, firstSeq int64, prev string, n, cpEvery int) *fakeAuditMeta {
	t.Helper()
	f := &fakeAuditMeta{}
	base := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		details, err := CanonicalDetails(map[string]any{"i": i, "note": "a \"quoted\", <tagged> & ünïcode value\n", "size": 1.5})
		if err != nil {
			t.Fatal(err)
		}
		e := AuditEvent{
			Seq: firstSeq + int64(i), Time: base.Add(time.Duration(i) * time.Second), Actor: fmt.Sprint("user-", i%3),
			Action: "model.update", Resource: fmt.Sprint("models/m", i%5), Outcome: OutcomeSuccess,
			RequestID: fmt.Sprint("req-", i), RemoteAddr: "192.0.2.7", Details: details, PrevHash: prev,
		}
		if i == 2 {
			e.Actor, e.RequestID = "=HYPERLINK(\"http://evil\")", "'quoted" // spreadsheet bait
		}
		e.Hash = e.ComputeHash()
		prev = e.Hash
		f.events = append(f.events, e)
		if cpEvery > 0 && (i+1)%cpEvery == 0 {
			f.cps = append(f.cps, signer.Checkpoint(e.Seq, e.Hash, e.Time.Add(time.Second), CheckpointInterval))
		}
	}
	return f
}

func newTestSigner(t *testing.T, seed byte) *AuditSigner {
	t.Helper()
	s, err := NewAuditSigner(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize)))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func exportOf(t *testing.T, f *fakeAuditMeta, signer *AuditSigner, format string) []byte {
	t.Helper()
	svc := NewService(f, nil, ServiceOptions{AuditSigner: signer})
	ctx := WithActor(context.Background(), Actor{Subject: "auditor", Roles: []string{RoleAuditor}})
	x, err := svc.ExportAudit(ctx, format)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := x.WriteTo(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// flip changes a base64 digit.
func flip(c byte) string {
	if c == 'A' {
		return "B"
	}
	return "A"
}

// lines splits a JSONL export, or a CSV one made only of one-line records.
func lines(b []byte) []string {
	return strings.SplitAfter(string(b), "\n")[:bytes.Count(b, []byte("\n"))]
}

func TestVerifyAuditExport(t *testing.T) {
	signer := newTestSigner(t, 1)
	keys := NewAuditKeyring(signer.PublicKey())
	for _, format := range []string{ExportJSONL, ExportCSV} {
		t.Run(format, func(t *testing.T) {
			f := testChain(t, signer, 1, GenesisHash, 20, 5)
			exp := exportOf(t, f, signer, format)
			res, err := VerifyAuditExport(bytes.NewReader(exp), keys)
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK || res.Events != 20 || res.LastSeq != 20 || res.CheckpointsVerified != 4 || res.Format != format {
				t.Fatalf("intact export: %+v", res)
			}
			if format == ExportCSV && !strings.Contains(string(exp), `"'=HYPERLINK(""http://evil"")"`) {
				t.Errorf("a formula-like field is not defused in the CSV:\n%s", exp)
			}
			if f.events[len(f.events)-1].Action != ActionAuditExport {
				t.Errorf("the export was not recorded: last event %+v", f.events[len(f.events)-1])
			}

			// Each line of the JSONL export, and each row of the CSV, is one
			// record: 0 header (CSV: 0 column names, 1 header), then events
			// with a checkpoint after every fifth, then the seal.
			off := 0
			if format == ExportCSV {
				off = 1
			}
			ev := func(seq int) int { return off + seq + (seq-1)/5 } // line of event seq
			cpAfter := func(seq int) int { return ev(seq) + 1 }      // line of the checkpoint of seq (a multiple of 5)
			edit := func(line int, from, to string) func([]string) []string {
				return func(l []string) []string {
					if !strings.Contains(l[line], from) {
						t.Fatalf("line %d %q has no %q", line, l[line], from)
					}
					l[line] = strings.Replace(l[line], from, to, 1)
					return l
				}
			}
			remove := func(i int) func([]string) []string {
				return func(l []string) []string { return append(l[:i:i], l[i+1:]...) }
			}
			tests := []struct {
				name       string
				change     func([]string) []string
				keys       AuditKeyring
				wantBroken int64
			}{
				{"edited actor", edit(ev(7), "user-0", "user-9"), keys, 7},
				{"edited details", edit(ev(3), `"i":2`, `"i":3`), keys, 3},
				{"edited hash too", edit(ev(8), "user-1", "mallory"), keys, 8},
				{"removed event", remove(ev(12)), keys, 12},
				{"removed first event", remove(ev(1)), keys, 1},
				{"inserted copy", func(l []string) []string {
					return append(l[:ev(9)+1:ev(9)+1], append([]string{l[ev(9)]}, l[ev(9)+1:]...)...)
				}, keys, 10},
				{"reordered events", func(l []string) []string { l[ev(13)], l[ev(14)] = l[ev(14)], l[ev(13)]; return l }, keys, 13},
				{"cut after the last checkpoint", func(l []string) []string { return l[:ev(18)] }, keys, 18},
				{"cut right after a checkpoint", func(l []string) []string { return l[:cpAfter(15)+1] }, keys, 16},
				{"seal removed", func(l []string) []string { return l[:len(l)-1] }, keys, 21},
				{"forged checkpoint signature", func(l []string) []string {
					i := strings.Index(l[cpAfter(10)], `"signature":"`) + len(`"signature":"`)
					l[cpAfter(10)] = l[cpAfter(10)][:i] + flip(l[cpAfter(10)][i]) + l[cpAfter(10)][i+1:]
					return l
				}, keys, 10},
				{"untrusted key", nil, NewAuditKeyring(newTestSigner(t, 2).PublicKey()), 21},
			}
			if format == ExportCSV {
				tests[1].change = edit(ev(3), `""i"":2`, `""i"":3`)
				tests[10].change = func(l []string) []string { // the signature's column
					fields := strings.Split(l[cpAfter(10)], ",")
					fields[len(fields)-1] = flip(fields[len(fields)-1][0]) + fields[len(fields)-1][1:]
					l[cpAfter(10)] = strings.Join(fields, ",")
					return l
				}
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					l := lines(exp)
					if tt.change != nil {
						l = tt.change(l)
					}
					res, err := VerifyAuditExport(strings.NewReader(strings.Join(l, "")), tt.keys)
					if err != nil {
						t.Fatal(err)
					}
					if res.OK || res.FirstBrokenSeq != tt.wantBroken {
						t.Errorf("ok %v, first broken seq %d (%s); want %d", res.OK, res.FirstBrokenSeq, res.Reason, tt.wantBroken)
					}
				})
			}
		})
	}
}

// A chain whose start was pruned verifies from its signed prune anchor and
// the audit.prune event that names it, and from nothing else.
func TestVerifyPrunedExport(t *testing.T) {
	signer := newTestSigner(t, 3)
	keys := NewAuditKeyring(signer.PublicKey())
	full := testChain(t, signer, 1, GenesisHash, 30, 0)
	anchorEvent := full.events[9]
	prunedEvent := func(through int64) *fakeAuditMeta {
		f := &fakeAuditMeta{events: append([]AuditEvent(nil), full.events[10:]...)}
		f.cps = []AuditCheckpoint{signer.Checkpoint(anchorEvent.Seq, anchorEvent.Hash, anchorEvent.Time, CheckpointPrune)}
		raw, _ := CanonicalDetails(map[string]any{"through_seq": through})
		if _, err := f.AppendAudit(context.Background(), AuditEvent{Time: time.Now(), Actor: "admin", Action: ActionAuditPrune,
			Resource: "audit", Outcome: OutcomeSuccess, Details: raw}); err != nil {
			t.Fatal(err)
		}
		return f
	}
	t.Run("pruned properly", func(t *testing.T) {
		res, err := VerifyAuditExport(bytes.NewReader(exportOf(t, prunedEvent(10), signer, ExportJSONL)), keys)
		if err != nil || !res.OK || res.FirstSeq != 11 || res.Events != 21 {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("no prune event names the anchor", func(t *testing.T) {
		res, err := VerifyAuditExport(bytes.NewReader(exportOf(t, prunedEvent(9), signer, ExportJSONL)), keys)
		if err != nil || res.OK || res.FirstBrokenSeq != 1 {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("anchor removed", func(t *testing.T) {
		l := lines(exportOf(t, prunedEvent(10), signer, ExportJSONL))
		res, err := VerifyAuditExport(strings.NewReader(strings.Join(append(l[:1:1], l[2:]...), "")), keys)
		if err != nil || res.OK || res.FirstBrokenSeq != 1 {
			t.Fatalf("%+v %v", res, err)
		}
	})
}

func TestVerifyAuditExportRejectsNonExports(t *testing.T) {
	for _, in := range []string{"", "hello", `{"seq":1}` + "\n", "record,seq\nx,1\n"} {
		if _, err := VerifyAuditExport(strings.NewReader(in), AuditKeyring{}); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// The chain verifier's view of a sequence of events, without exports.
func TestChainVerifier(t *testing.T) {
	signer := newTestSigner(t, 4)
	f := testChain(t, signer, 1, GenesisHash, 6, 3)
	v := newChainVerifier(NewAuditKeyring(signer.PublicKey()))
	v.start(0, GenesisHash)
	for i, e := range f.events {
		if !v.event(e) {
			t.Fatalf("event %d refused: %s", e.Seq, v.res.Reason)
		}
		if (i+1)%3 == 0 && !v.checkpoint(f.cps[i/3]) {
			t.Fatalf("checkpoint %d refused: %s", e.Seq, v.res.Reason)
		}
	}
	res := v.finish(6, f.events[5].Hash)
	if !res.OK || res.CheckpointsVerified != 2 || res.LatestCheckpoint.Seq != 6 || res.Head != f.events[5].Hash {
		t.Fatalf("%+v", res)
	}
	// A checkpoint signed by a key the verifier does not know proves
	// nothing, but is not damage either.
	v = newChainVerifier(AuditKeyring{})
	v.start(0, GenesisHash)
	for _, e := range f.events[:3] {
		v.event(e)
	}
	if !v.checkpoint(f.cps[0]) || v.finish(3, f.events[2].Hash).CheckpointsUnverified != 1 {
		t.Errorf("unknown key: %+v", v.res)
	}
}

func TestCanonicalDetailsNumbers(t *testing.T) {
	raw, err := CanonicalDetails(map[string]any{"size": int64(1) << 40, "ratio": 0.1, "big": math.MaxInt32})
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != `{"big":2147483647,"ratio":0.1,"size":1099511627776}` {
		t.Errorf("got %s", raw)
	}
}
