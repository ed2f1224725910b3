package audit

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVerifyExport(t *testing.T) {
	signer := newTestSigner(t, 1)
	keys := NewKeyring(signer.PublicKey())
	for _, format := range []string{FormatJSONL, FormatCSV} {
		t.Run(format, func(t *testing.T) {
			c := testChain(t, signer, 1, GenesisHash, 20, 5)
			exp := exportOf(t, c, nil, signer, format)
			res, err := VerifyExport(bytes.NewReader(exp), keys)
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK || res.Events != 20 || res.LastSeq != 20 || res.CheckpointsVerified != 4 || res.Format != format {
				t.Fatalf("intact export: %+v", res)
			}
			if format == FormatCSV && !strings.Contains(string(exp), `"'=HYPERLINK(""http://evil"")"`) {
				t.Errorf("a formula-like field is not defused in the CSV:\n%s", exp)
			}

			// Each line of the JSONL export, and each row of the CSV, is one
			// record: 0 header (CSV: 0 column names, 1 header), then events
			// with a checkpoint after every fifth, then the seal.
			off := 0
			if format == FormatCSV {
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
			detailsOf3 := edit(ev(3), `"i":2`, `"i":3`)
			forgeSignature := func(l []string) []string {
				i := strings.Index(l[cpAfter(10)], `"signature":"`) + len(`"signature":"`)
				l[cpAfter(10)] = l[cpAfter(10)][:i] + flip(l[cpAfter(10)][i]) + l[cpAfter(10)][i+1:]
				return l
			}
			if format == FormatCSV {
				detailsOf3 = edit(ev(3), `""i"":2`, `""i"":3`)
				forgeSignature = func(l []string) []string { // the signature's column
					fields := strings.Split(l[cpAfter(10)], ",")
					fields[len(fields)-1] = flip(fields[len(fields)-1][0]) + fields[len(fields)-1][1:]
					l[cpAfter(10)] = strings.Join(fields, ",")
					return l
				}
			}
			tests := []struct {
				name       string
				change     func([]string) []string
				keys       Keyring
				wantBroken int64
			}{
				{"edited actor", edit(ev(7), "user-0", "user-9"), keys, 7},
				{"edited first event", edit(ev(1), "user-0", "user-9"), keys, 1},
				{"edited details", detailsOf3, keys, 3},
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
				{"forged checkpoint signature", forgeSignature, keys, 10},
				{"untrusted key", nil, NewKeyring(newTestSigner(t, 2).PublicKey()), 21},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					l := lines(exp)
					if tt.change != nil {
						l = tt.change(l)
					}
					res, err := VerifyExport(strings.NewReader(strings.Join(l, "")), tt.keys)
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
	keys := NewKeyring(signer.PublicKey())
	full := testChain(t, signer, 1, GenesisHash, 30, 0)
	anchorEvent := full.events[9]
	anchor := signer.Checkpoint(anchorEvent.Seq, anchorEvent.Hash, anchorEvent.Time, CheckpointPrune)
	pruned := func(through int64) *chain {
		c := &chain{events: append([]Event(nil), full.events[10:]...)}
		raw, _ := CanonicalDetails(map[string]any{"through_seq": through})
		c.append(Event{Actor: "admin", Action: ActionPrune, Resource: "audit", Outcome: OutcomeSuccess, Details: raw})
		return c
	}
	t.Run("pruned properly", func(t *testing.T) {
		res, err := VerifyExport(bytes.NewReader(exportOf(t, pruned(10), &anchor, signer, FormatJSONL)), keys)
		if err != nil || !res.OK || res.FirstSeq != 11 || res.Events != 21 {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("no prune event names the anchor", func(t *testing.T) {
		res, err := VerifyExport(bytes.NewReader(exportOf(t, pruned(9), &anchor, signer, FormatJSONL)), keys)
		if err != nil || res.OK || res.FirstBrokenSeq != 1 {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("anchor removed", func(t *testing.T) {
		l := lines(exportOf(t, pruned(10), &anchor, signer, FormatJSONL))
		res, err := VerifyExport(strings.NewReader(strings.Join(append(l[:1:1], l[2:]...), "")), keys)
		if err != nil || res.OK || res.FirstBrokenSeq != 1 {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("first event after the anchor edited", func(t *testing.T) {
		l := lines(exportOf(t, pruned(10), &anchor, signer, FormatJSONL))
		if !strings.Contains(l[2], `"seq":11,`) {
			t.Fatalf("line 2 is not event 11: %s", l[2])
		}
		l[2] = strings.Replace(l[2], `"actor":"user-1"`, `"actor":"mallory"`, 1)
		res, err := VerifyExport(strings.NewReader(strings.Join(l, "")), keys)
		if err != nil || res.OK || res.FirstBrokenSeq != 11 {
			t.Fatalf("%+v %v", res, err)
		}
	})
}

func TestVerifyExportRejectsNonExports(t *testing.T) {
	for _, in := range []string{"", "hello", `{"seq":1}` + "\n", "record,seq\nx,1\n"} {
		if _, err := VerifyExport(strings.NewReader(in), Keyring{}); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// Exports written before the audit format moved into this package (by the
// code of commit 452f517: a chain with checkpoints, a pruned chain with its
// anchor (each CSV one event longer: the JSONL export was recorded first),
// and a real server's SQLite-backed log) still verify, byte for
// byte as they were written, and fail when one byte of an event changes.
func TestExportsMadeBeforeTheMove(t *testing.T) {
	tests := []struct {
		file, key          string
		events, firstSeq   int64
		checkpoints        int
		anEventsActorField string
	}{
		{"full.jsonl", "key.pem", 12, 1, 3, `"actor":"user-1"`},
		{"full.csv", "key.pem", 13, 1, 3, `,user-1,`},
		{"pruned.jsonl", "key.pem", 10, 7, 2, `"actor":"user-1"`},
		{"pruned.csv", "key.pem", 11, 7, 2, `,user-1,`},
		{"server.jsonl", "server-key.pem", 8, 1, 1, `"actor":"admin"`},
		{"server.csv", "server-key.pem", 9, 1, 1, `,admin,`},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			exp, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			pem, err := os.ReadFile(filepath.Join("testdata", tt.key))
			if err != nil {
				t.Fatal(err)
			}
			pub, err := ParsePublicKeyPEM(pem)
			if err != nil {
				t.Fatal(err)
			}
			keys := NewKeyring(pub)
			res, err := VerifyExport(bytes.NewReader(exp), keys)
			if err != nil {
				t.Fatal(err)
			}
			if !res.OK || res.Events != tt.events || res.FirstSeq != tt.firstSeq || res.CheckpointsVerified != tt.checkpoints {
				t.Fatalf("%+v", res)
			}
			i := bytes.Index(exp, []byte(tt.anEventsActorField))
			if i < 0 {
				t.Fatalf("no %s in %s", tt.anEventsActorField, tt.file)
			}
			changed := bytes.Clone(exp)
			changed[i+len(tt.anEventsActorField)-2]++ // the actor's last letter
			if res, err := VerifyExport(bytes.NewReader(changed), keys); err != nil || res.OK {
				t.Errorf("an edited actor verifies: %+v %v", res, err)
			}
		})
	}
}

// Decoding an export written before the move and encoding it again gives
// the same bytes: the encoders write the format they always did.
func TestReencodeGivesTheSameBytes(t *testing.T) {
	for _, file := range []string{"full.jsonl", "full.csv", "pruned.jsonl", "pruned.csv", "server.jsonl", "server.csv"} {
		t.Run(file, func(t *testing.T) {
			exp, err := os.ReadFile(filepath.Join("testdata", file))
			if err != nil {
				t.Fatal(err)
			}
			dec, format, err := newDecoder(bufioReader(exp))
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			enc, err := NewEncoder(&out, format)
			if err != nil {
				t.Fatal(err)
			}
			for {
				rec, err := dec.next()
				if err != nil {
					break
				}
				switch {
				case rec.header != nil:
					err = enc.Header(*rec.header)
				case rec.event != nil:
					err = enc.Event(*rec.event)
				case rec.checkpoint != nil:
					err = enc.Checkpoint(*rec.checkpoint)
				case rec.seal != nil:
					err = enc.Seal(*rec.seal)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if err := enc.Flush(); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), exp) {
				t.Errorf("re-encoded export differs from the original:\n got %s\nwant %s", out.Bytes(), exp)
			}
		})
	}
}
