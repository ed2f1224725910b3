package audit

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// docs/verify_export.py is the verifier that docs/audit.md gives outside
// parties. These tests run it, as its users do, on the exports of testdata
// (both formats) and on damaged copies of them, and check that it agrees
// with VerifyExport: the same events and checkpoints when the export
// verifies, the same first broken seq when it does not, and one line (never
// a traceback) for a file that is not an export or a key that is not one.

const pyVerifier = "../docs/verify_export.py"

// testdataExports are the exports of testdata and the keys that sealed them.
var testdataExports = []struct{ file, key, otherKey string }{
	{"full.jsonl", "key.pem", "server-key.pem"},
	{"full.csv", "key.pem", "server-key.pem"},
	{"pruned.jsonl", "key.pem", "server-key.pem"},
	{"pruned.csv", "key.pem", "server-key.pem"},
	{"server.jsonl", "server-key.pem", "key.pem"},
	{"server.csv", "server-key.pem", "key.pem"},
}

var python3Check = sync.OnceValues(func() (string, string) {
	py, err := exec.LookPath("python3")
	if err != nil {
		return "", "python3 is not on PATH: docs/verify_export.py is not run"
	}
	out, err := exec.Command(py, "-c", "import sys, cryptography; print(sys.executable)").CombinedOutput()
	if err != nil {
		return "", fmt.Sprintf("python3 cannot import cryptography, which docs/verify_export.py needs for Ed25519 "+
			"(pip install cryptography): docs/verify_export.py is not run (%v: %s)", err, bytes.TrimSpace(out))
	}
	// The interpreter itself, not the python3 found on the PATH: that may be
	// a version manager's shim (pyenv's is a shell script that costs 0.3 s
	// of CPU a run, and the tests run the verifier about a hundred times).
	if exe := string(bytes.TrimSpace(out)); exe != "" {
		return exe, ""
	}
	return py, ""
})

// python3 is the interpreter to run docs/verify_export.py with; the test
// is skipped, saying why, without one.
func python3(t *testing.T) string {
	t.Helper()
	py, why := python3Check()
	if py == "" {
		t.Skip(why)
	}
	return py
}

type pyResult struct {
	code           int
	stdout, stderr string
}

func (r pyResult) String() string {
	return fmt.Sprintf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
}

// runPyVerifier runs docs/verify_export.py with args.
func runPyVerifier(t *testing.T, py string, args ...string) pyResult {
	t.Helper()
	cmd := exec.Command(py, append([]string{pyVerifier}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("run %s: %v", pyVerifier, err)
	}
	return pyResult{code, stdout.String(), stderr.String()}
}

// oneLineError checks that r is a failure told in one line on stderr.
func oneLineError(t *testing.T, r pyResult, wantCode int) {
	t.Helper()
	if r.code != wantCode || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") ||
		strings.Contains(r.stderr, "Traceback") {
		t.Errorf("want exit %d and one line on stderr; got %v", wantCode, r)
	}
}

func writeTemp(t *testing.T, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func keyringOf(t *testing.T, file string) Keyring {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ParsePublicKeyPEM(data)
	if err != nil {
		t.Fatal(err)
	}
	return NewKeyring(pub)
}

// pyAgrees runs the script on export with keyFile and checks that it
// reports what VerifyExport with keys does.
func pyAgrees(t *testing.T, py string, export []byte, name, keyFile string, keys Keyring) {
	t.Helper()
	res, err := VerifyExport(bytes.NewReader(export), keys)
	r := runPyVerifier(t, py, writeTemp(t, name, export), keyFile)
	switch {
	case err != nil: // not an export at all
		oneLineError(t, r, 1)
	case res.OK:
		want := fmt.Sprintf("OK: %d events (seq %d to %d), head %s\nsealed at %s by key %s; %d checkpoints verified, %d by unknown keys\n",
			res.Events, res.FirstSeq, res.LastSeq, res.Head, FormatTime(res.ExportedAt), res.SealKeyID,
			res.CheckpointsVerified, res.CheckpointsUnverified)
		if r.code != 0 || r.stdout != want || r.stderr != "" {
			t.Errorf("the Go verifier says\n%s\nverify_export.py: %v", want, r)
		}
	default:
		want := fmt.Sprintf("BROKEN at seq %d: ", res.FirstBrokenSeq)
		if r.code != 1 || !strings.HasPrefix(r.stdout, want) || strings.Count(r.stdout, "\n") != 1 || r.stderr != "" {
			t.Errorf("the Go verifier says %s%s\nverify_export.py: %v", want, res.Reason, r)
		}
	}
}

// Every export of testdata verifies with docs/verify_export.py, with the
// same events, head and checkpoints as with VerifyExport.
func TestPyVerifyExportTestdata(t *testing.T) {
	py := python3(t)
	for _, tt := range testdataExports {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			exp, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			keys := keyringOf(t, tt.key)
			if res, err := VerifyExport(bytes.NewReader(exp), keys); err != nil || !res.OK {
				t.Fatalf("the Go verifier: %+v %v", res, err)
			}
			pyAgrees(t, py, exp, tt.file, filepath.Join("testdata", tt.key), keys)
		})
	}
}

var exportTimeRE = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z`)
var hashRE = regexp.MustCompile(`[0-9a-f]{64}`)

// A copy of each export of testdata with one byte of an event changed (its
// time, or its hash; the first, a middle and the last event), cut (before
// the seal, in the middle of a line), with a line that is not a record, or
// checked with the wrong key, fails with docs/verify_export.py at the seq
// VerifyExport names, with exit status 1.
func TestPyVerifyExportDamaged(t *testing.T) {
	py := python3(t)
	for _, tt := range testdataExports {
		exp, err := os.ReadFile(filepath.Join("testdata", tt.file))
		if err != nil {
			t.Fatal(err)
		}
		keys := keyringOf(t, tt.key)
		l := lines(exp)
		if len(l) != bytes.Count(exp, []byte("\n")) || !strings.HasSuffix(string(exp), "\n") {
			t.Fatalf("%s: not one record per line", tt.file)
		}
		var events []int // the lines of events
		for i, line := range l {
			if strings.HasPrefix(line, `{"seq":`) || strings.HasPrefix(line, "event,") {
				events = append(events, i)
			}
		}
		if len(events) < 3 {
			t.Fatalf("%s: %d events", tt.file, len(events))
		}
		// changeByte changes the byte at index at of line i.
		changeByte := func(i, at int, to byte) []byte {
			c := append([]string(nil), l...)
			c[i] = c[i][:at] + string(to) + c[i][at+1:]
			return []byte(strings.Join(c, ""))
		}
		type damaged struct {
			name   string
			export []byte
		}
		var cases []damaged
		for _, i := range []int{events[0], events[len(events)/2], events[len(events)-1]} {
			// The last digit of the event's time (its first time on the line).
			tm := exportTimeRE.FindStringIndex(l[i])
			at := tm[1] - 2
			cases = append(cases, damaged{fmt.Sprintf("line %d time", i+1), changeByte(i, at, '0'+(l[i][at]-'0'+1)%10)})
			// The last digit of the event's hash (the last hash on the line).
			hs := hashRE.FindAllStringIndex(l[i], -1)
			at = hs[len(hs)-1][1] - 1
			to := byte('0')
			if l[i][at] == '0' {
				to = '1'
			}
			cases = append(cases, damaged{fmt.Sprintf("line %d hash", i+1), changeByte(i, at, to)})
		}
		mid := events[len(events)/2]
		notARecord := append([]string(nil), l...)
		notARecord[mid] = "this is not a record\n"
		cases = append(cases,
			damaged{"seal cut off", []byte(strings.Join(l[:len(l)-1], ""))},
			damaged{"cut in a line", exp[:len(strings.Join(l[:mid], ""))+len(l[mid])/2]},
			damaged{"a line that is not a record", []byte(strings.Join(notARecord, ""))},
		)
		for _, c := range cases {
			t.Run(tt.file+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				if res, err := VerifyExport(bytes.NewReader(c.export), keys); err != nil || res.OK {
					t.Fatalf("the Go verifier does not see the damage: %+v %v", res, err)
				}
				pyAgrees(t, py, c.export, tt.file, filepath.Join("testdata", tt.key), keys)
			})
		}
		t.Run(tt.file+"/wrong key", func(t *testing.T) {
			t.Parallel()
			other := keyringOf(t, tt.otherKey)
			if res, err := VerifyExport(bytes.NewReader(exp), other); err != nil || res.OK {
				t.Fatalf("the Go verifier trusts the wrong key: %+v %v", res, err)
			}
			pyAgrees(t, py, exp, tt.file, filepath.Join("testdata", tt.otherKey), other)
		})
	}
}

// Exports made here verify with docs/verify_export.py in both formats, or
// fail at the seq VerifyExport names: one with a checkpoint by a key the
// verifier does not know and details whose numbers, strings and member
// order RFC 8785 writes in its own way; a forged checkpoint signature; a
// seal by an unknown key; pruned chains, with their anchor and the
// audit.prune event naming it, with no such event, with an anchor by an
// unknown key or the anchor of another event.
func TestPyVerifyGeneratedExports(t *testing.T) {
	py := python3(t)
	signer, stranger := newTestSigner(t, 1), newTestSigner(t, 2)
	keyFile := writeTemp(t, "key.pem", []byte(signer.PublicKeyPEM()))
	keys := NewKeyring(signer.PublicKey())

	c := testChain(t, signer, 1, GenesisHash, 12, 4)
	c.cps[1] = stranger.Checkpoint(c.cps[1].Seq, c.cps[1].Hash, c.cps[1].Time, CheckpointRequest)
	details, err := CanonicalJSON([]byte(`{"big":1e21,"small":1e-7,"third":0.3333333333333333,"int":9007199254740993,` +
		`"neg":-0,"s":"\u2028 <\/script> \u001f \ud83d\ude00","list":[true,null,{"b":1,"a":2,"\u00e9":3,"\ud83d\ude00":4,"\uffff":5}]}`))
	if err != nil {
		t.Fatal(err)
	}
	c.append(Event{Time: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC), Actor: "@admin", Action: "model.update",
		Resource: "models/+x", Outcome: OutcomeSuccess, RequestID: "-1", RemoteAddr: "\t", Details: details})

	forged := &chain{events: c.events, cps: append([]Checkpoint(nil), c.cps...)}
	forged.cps[2].Signature = bytes.Clone(forged.cps[2].Signature)
	forged.cps[2].Signature[0] ^= 1

	full := testChain(t, signer, 1, GenesisHash, 20, 0)
	anchor := signer.Checkpoint(full.events[9].Seq, full.events[9].Hash, full.events[9].Time, CheckpointPrune)
	strangeAnchor := stranger.Checkpoint(full.events[9].Seq, full.events[9].Hash, full.events[9].Time, CheckpointPrune)
	earlierAnchor := signer.Checkpoint(full.events[8].Seq, full.events[8].Hash, full.events[8].Time, CheckpointPrune)
	pruned := func(through int64) *chain {
		p := &chain{events: append([]Event(nil), full.events[10:]...)}
		raw, _ := CanonicalDetails(map[string]any{"through_seq": through})
		p.append(Event{Actor: "admin", Action: ActionPrune, Resource: "audit", Outcome: OutcomeSuccess, Details: raw})
		return p
	}

	tests := []struct {
		name   string
		chain  *chain
		anchor *Checkpoint
		sealer *Signer
		ok     bool
	}{
		{"unknown checkpoint key and odd details", c, nil, signer, true},
		{"forged checkpoint signature", forged, nil, signer, false},
		{"seal by an unknown key", c, nil, stranger, false},
		{"pruned", pruned(10), &anchor, signer, true},
		{"pruned without its audit.prune event", pruned(9), &anchor, signer, false},
		{"pruned with an anchor by an unknown key", pruned(10), &strangeAnchor, signer, false},
		{"pruned with the anchor of an earlier event", pruned(10), &earlierAnchor, signer, false},
	}
	for _, tt := range tests {
		for _, format := range []string{FormatJSONL, FormatCSV} {
			t.Run(tt.name+"/"+format, func(t *testing.T) {
				t.Parallel()
				exp := exportOf(t, tt.chain, tt.anchor, tt.sealer, format)
				if res, err := VerifyExport(bytes.NewReader(exp), keys); err != nil || res.OK != tt.ok {
					t.Fatalf("the Go verifier: %+v %v", res, err)
				}
				pyAgrees(t, py, exp, "export."+format, keyFile, keys)
			})
		}
	}
}

// A file that is not an export, or a key file that is not an Ed25519
// public key, is one line on stderr and a non-zero exit, never a traceback.
func TestPyVerifyExportErrors(t *testing.T) {
	py := python3(t)
	signer := newTestSigner(t, 1)
	keyFile := writeTemp(t, "key.pem", []byte(signer.PublicKeyPEM()))
	c := testChain(t, signer, 1, GenesisHash, 5, 0)
	exp := exportOf(t, c, nil, signer, FormatJSONL)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(&ecKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	tests := []struct {
		name     string
		args     []string
		wantCode int
	}{
		{"a PEM key as the export", []string{filepath.Join("testdata", "key.pem"), keyFile}, 1},
		{"Go source as the export", []string{"pyverify_test.go", keyFile}, 1},
		{"binary data as the export", []string{writeTemp(t, "binary", binary), keyFile}, 1},
		{"an empty export", []string{writeTemp(t, "empty", nil), keyFile}, 1},
		{"JSON that is not an export", []string{writeTemp(t, "other.json", []byte(`{"hello":"world"}`+"\n")), keyFile}, 1},
		{"an export cut in its header", []string{writeTemp(t, "cut.jsonl", exp[:40]), keyFile}, 1},
		{"a missing export", []string{filepath.Join(t.TempDir(), "missing.jsonl"), keyFile}, 2},
		{"an export as the key", []string{writeTemp(t, "export.jsonl", exp), writeTemp(t, "export.pem", exp)}, 2},
		{"a missing key file", []string{writeTemp(t, "export.jsonl", exp), filepath.Join(t.TempDir(), "missing.pem")}, 2},
		{"a P-256 key", []string{writeTemp(t, "export.jsonl", exp),
			writeTemp(t, "p256.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))}, 2},
		{"no key", []string{writeTemp(t, "export.jsonl", exp)}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			oneLineError(t, runPyVerifier(t, py, tt.args...), tt.wantCode)
		})
	}
}
