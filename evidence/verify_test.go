package evidence

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/modelcard"
)

// checkNames are the checks Verify runs, in order.
var checkNames = []string{"canonical form", "signature", "audit segments", "cross-references", "cyclonedx", "document sign-offs", "four eyes", "coverage"}

func TestVerifyASealedPack(t *testing.T) {
	k := newKeys(t)
	for name, seal := range map[string]func(*testing.T, keys) (*Pack, []byte){"complete": sealedPack, "compact": sealedCompactPack} {
		t.Run(name, func(t *testing.T) {
			p, file := seal(t, k)
			r, err := Verify(file, k.trusted())
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range r.Checks {
				names = append(names, c.Name)
				if !c.OK || c.Detail == "" {
					t.Errorf("check %s: ok %v, %s", c.Name, c.OK, c.Detail)
				}
			}
			if !r.OK || len(r.Failed()) != 0 || !slices.Equal(names, checkNames) {
				t.Errorf("ok %v, checks %v", r.OK, names)
			}
			if !reflect.DeepEqual(r.Pack, p) {
				t.Error("the report's pack is not the pack sealed")
			}
		})
	}
}

// decodePack reads a sealed file back, as Verify does.
func decodePack(t *testing.T, file []byte) *Pack {
	t.Helper()
	var p Pack
	dec := json.NewDecoder(bytes.NewReader(file))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// reseal signs a changed pack again with the registry's key, so that
// only the check the change is about can fail.
func reseal(t *testing.T, p *Pack, k keys) []byte {
	t.Helper()
	file, err := Seal(p, k.registry)
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// rewrite writes a changed pack with its old seal.
func rewrite(t *testing.T, p *Pack) []byte {
	t.Helper()
	file, err := Canonical(p)
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// rehash recomputes the hash of event i of a segment and relinks the
// events after it, as a forger who knows the chain's rules would.
func rehash(t *testing.T, s *Segment, i int) {
	t.Helper()
	for ; i < len(s.Events); i++ {
		if i > 0 {
			s.Events[i].PrevHash = s.Events[i-1].Hash
		}
		e, err := toAuditEvent(s.Events[i])
		if err != nil {
			t.Fatal(err)
		}
		s.Events[i].Hash = e.ComputeHash()
	}
}

// resignCheckpoint signs a segment's checkpoint again with signer, after
// its fields were changed.
func resignCheckpoint(t *testing.T, s *Segment, signer *audit.Signer) {
	t.Helper()
	when, err := audit.ParseTime(s.Checkpoint.Time)
	if err != nil {
		t.Fatal(err)
	}
	cp := signer.Checkpoint(s.Checkpoint.Seq, s.Checkpoint.Hash, when, s.Checkpoint.Kind)
	s.Checkpoint.KeyID, s.Checkpoint.Signature = cp.KeyID, base64.StdEncoding.EncodeToString(cp.Signature)
}

// bomOf gives the pack a BOM made from the card and facts by signer, with
// the right digest.
func bomOf(t *testing.T, p *Pack, facts func(*modelcard.Facts), signer *audit.Signer) {
	t.Helper()
	f := modelcard.Facts{Model: p.Model.Name, Version: p.Version.Number, ManifestDigest: p.Version.ManifestDigest, CreatedAt: fixtureEpoch}
	facts(&f)
	bom, err := modelcard.CycloneDX(modelcard.Card{}, f, modelcard.BOMOptions{GeneratedAt: fixtureEpoch, Sign: signer.Sign, PublicKey: signer.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	setBOM(t, p, bom)
}

// setBOM carries bom with its right digest.
func setBOM(t *testing.T, p *Pack, bom []byte) {
	t.Helper()
	canon, err := audit.CanonicalJSON(bom)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(canon)
	p.Export.CycloneDX.BOM, p.Export.CycloneDX.SHA256 = canon, hex.EncodeToString(sum[:])
}

// replaceOnce replaces the first old in file, which must be there.
func replaceOnce(t *testing.T, file []byte, old, new string) []byte {
	t.Helper()
	if !bytes.Contains(file, []byte(old)) {
		t.Fatalf("%q is not in the file", old)
	}
	return bytes.Replace(file, []byte(old), []byte(new), 1)
}

// Each way of changing a sealed pack fails the check that is about it, and
// only that one; the detail says what was found.
func TestVerifyNamesTheFailingCheck(t *testing.T) {
	k := newKeys(t)
	stranger := newSigner(t, 3)
	_, sealed := sealedPack(t, k)
	tests := []struct {
		name   string
		tamper func(t *testing.T, p *Pack) []byte // p is the sealed pack, decoded afresh
		failed []string
		detail string // in the first failed check's detail
	}{
		// The seal.
		{"signature by another trusted key", func(t *testing.T, p *Pack) []byte {
			sum, _ := Digest(p)
			p.Integrity.Signature.Value = base64.StdEncoding.EncodeToString(k.reviewer.Sign(sum[:]))
			return rewrite(t, p)
		}, []string{"signature"}, "does not verify"},
		{"sealed by an untrusted key", func(t *testing.T, p *Pack) []byte {
			file, err := Seal(p, stranger)
			if err != nil {
				t.Fatal(err)
			}
			return file
		}, []string{"signature", "cyclonedx"}, "not among the trusted"},
		{"pack digest", func(t *testing.T, p *Pack) []byte {
			p.Integrity.SHA256 = strings.Repeat("ab", 32)
			return rewrite(t, p)
		}, []string{"signature"}, "changed after it was sealed"},
		{"content changed after sealing", func(t *testing.T, p *Pack) []byte {
			p.Model.Description = "a harmless model"
			return rewrite(t, p)
		}, []string{"signature"}, "changed after it was sealed"},
		{"integrity shows another public key", func(t *testing.T, p *Pack) []byte {
			p.Integrity.Signature.PublicKey = stranger.PublicKeyPEM()
			return rewrite(t, p)
		}, []string{"signature"}, "another public key"},
		{"signature text with padding bits", func(t *testing.T, p *Pack) []byte {
			p.Integrity.Signature.Value = withPaddingBits(t, p.Integrity.Signature.Value)
			return rewrite(t, p)
		}, []string{"signature"}, "does not verify"},

		// The audit trail.
		{"a transition the audit chain did not record", func(t *testing.T, p *Pack) []byte {
			p.StageTransitions[0].ID = "tr-forged"
			for i := range p.Deployments {
				p.Deployments[i].ApprovalID = "tr-forged"
			}
			return reseal(t, p, k)
		}, []string{"cross-references"}, "stage transition tr-forged"},
		{"a deployment the audit chain did not record", func(t *testing.T, p *Pack) []byte {
			p.Deployments[0].ID = "dep-forged"
			return reseal(t, p, k)
		}, []string{"cross-references"}, "deployment dep-forged"},
		{"an audit event's actor", func(t *testing.T, p *Pack) []byte {
			p.Audit.Segments[0].Events[1].Actor = "mallory"
			return reseal(t, p, k)
		}, []string{"audit segments"}, "event 3: its content does not match its hash"},
		{"an audit event's details", func(t *testing.T, p *Pack) []byte {
			p.Audit.Segments[1].Events[0].Details = json.RawMessage(`{"note":"nothing happened"}`)
			return reseal(t, p, k)
		}, []string{"audit segments"}, "event 7: its content does not match its hash"},
		{"an audit event's time", func(t *testing.T, p *Pack) []byte {
			p.Audit.Segments[0].Events[0].Time = at(-60)
			return reseal(t, p, k)
		}, []string{"audit segments"}, "event 2: its content does not match its hash"},
		{"an audit event's time not in the audit format", func(t *testing.T, p *Pack) []byte {
			p.Audit.Segments[0].Events[0].Time = fixtureEpoch.Format(time.RFC3339)
			return reseal(t, p, k)
		}, []string{"audit segments"}, "six fractional digits"},
		{"an event link", func(t *testing.T, p *Pack) []byte {
			s := &p.Audit.Segments[0]
			s.Events[1].PrevHash = strings.Repeat("0", 64)
			e, _ := toAuditEvent(s.Events[1])
			s.Events[1].Hash = e.ComputeHash()
			return reseal(t, p, k)
		}, []string{"audit segments"}, "event 3: prev_hash does not match"},
		{"an event removed", func(t *testing.T, p *Pack) []byte {
			s := &p.Audit.Segments[0]
			s.Events = slices.Delete(s.Events, 1, 2)
			return reseal(t, p, k)
		}, []string{"audit segments"}, "event 3 is missing"},
		{"an event rewritten and the chain after it relinked", func(t *testing.T, p *Pack) []byte {
			s := &p.Audit.Segments[0]
			s.Events[1].Outcome = audit.OutcomeDenied
			rehash(t, s, 1)
			return reseal(t, p, k)
		}, []string{"audit segments"}, "does not match its signed checkpoint"},
		{"a segment's trusted start rewritten", func(t *testing.T, p *Pack) []byte {
			s := &p.Audit.Segments[1]
			s.Events[0].PrevHash = strings.Repeat("1", 64)
			rehash(t, s, 0)
			return reseal(t, p, k)
		}, []string{"audit segments"}, "does not match its signed checkpoint"},
		{"a segment's range", func(t *testing.T, p *Pack) []byte {
			p.Audit.Segments[0].LastSeq = 5
			return reseal(t, p, k)
		}, []string{"audit segments"}, "does not match its events"},
		{"an empty segment", func(t *testing.T, p *Pack) []byte {
			p.Audit.Segments[1].Events = []AuditEvent{}
			return reseal(t, p, k)
		}, []string{"audit segments"}, "holds no event"},
		{"checkpoint signature", func(t *testing.T, p *Pack) []byte {
			sig, _ := base64.StdEncoding.DecodeString(p.Audit.Segments[0].Checkpoint.Signature)
			sig[10] ^= 1
			p.Audit.Segments[0].Checkpoint.Signature = base64.StdEncoding.EncodeToString(sig)
			return reseal(t, p, k)
		}, []string{"audit segments"}, "does not verify"},
		{"checkpoint time", func(t *testing.T, p *Pack) []byte {
			p.Audit.Segments[1].Checkpoint.Time = at(600)
			return reseal(t, p, k)
		}, []string{"audit segments"}, "does not verify"},
		{"checkpoint hash, signed again by the registry", func(t *testing.T, p *Pack) []byte {
			s := &p.Audit.Segments[0]
			s.Checkpoint.Hash = strings.Repeat("2", 64)
			resignCheckpoint(t, s, k.registry)
			return reseal(t, p, k)
		}, []string{"audit segments"}, "does not match its signed checkpoint"},
		{"checkpoint signed by an untrusted key", func(t *testing.T, p *Pack) []byte {
			resignCheckpoint(t, &p.Audit.Segments[1], stranger)
			return reseal(t, p, k)
		}, []string{"audit segments"}, "not trusted"},
		{"hash algorithm", func(t *testing.T, p *Pack) []byte {
			p.Audit.HashAlg = "sha1"
			return reseal(t, p, k)
		}, []string{"audit segments"}, "want sha256"},

		// The CycloneDX BOM.
		{"bom digest", func(t *testing.T, p *Pack) []byte {
			p.Export.CycloneDX.SHA256 = strings.Repeat("cd", 32)
			return reseal(t, p, k)
		}, []string{"cyclonedx"}, "does not match its SHA-256"},
		{"bom content, digest recomputed", func(t *testing.T, p *Pack) []byte {
			setBOM(t, p, bytes.Replace(p.Export.CycloneDX.BOM, []byte(`"credit-scorer"`), []byte(`"other-model"`), 1))
			return reseal(t, p, k)
		}, []string{"cyclonedx"}, "signature does not match"},
		{"bom of another artifact", func(t *testing.T, p *Pack) []byte {
			bomOf(t, p, func(f *modelcard.Facts) { f.ManifestDigest = "sha256:" + docSHA("other weights") }, k.registry)
			return reseal(t, p, k)
		}, []string{"cyclonedx"}, "manifest digest"},
		{"bom signed by another trusted key", func(t *testing.T, p *Pack) []byte {
			bomOf(t, p, func(*modelcard.Facts) {}, k.reviewer)
			return reseal(t, p, k)
		}, []string{"cyclonedx"}, "another key"},
		{"no bom", func(t *testing.T, p *Pack) []byte {
			p.Export.CycloneDX.BOM = nil
			return reseal(t, p, k)
		}, []string{"cyclonedx"}, ""},

		// Sign-offs.
		{"sign-off signer", func(t *testing.T, p *Pack) []byte {
			p.Documents[0].Signoffs[0].Signer = "mallory"
			return reseal(t, p, k)
		}, []string{"document sign-offs"}, "does not verify"},
		{"sign-off time", func(t *testing.T, p *Pack) []byte {
			p.Documents[4].Signoffs[1].SignedAt = at(5)
			return reseal(t, p, k)
		}, []string{"document sign-offs"}, "does not verify"},
		{"sign-off of another document", func(t *testing.T, p *Pack) []byte {
			p.Documents[4].SHA256 = docSHA("another ifu")
			return reseal(t, p, k)
		}, []string{"document sign-offs"}, "does not verify"},
		{"sign-off by an untrusted key", func(t *testing.T, p *Pack) []byte {
			so := signoff(stranger, p.Documents[1].SHA256, "dana", 50)
			p.Documents[1].Signoffs = append(p.Documents[1].Signoffs, so)
			return reseal(t, p, k)
		}, []string{"document sign-offs"}, "not trusted"},
		{"a run report's sign-off", func(t *testing.T, p *Pack) []byte {
			p.Runs[2].Report.Signoffs[0].Signer = "mallory"
			return reseal(t, p, k)
		}, []string{"document sign-offs"}, "does not verify"},

		// Four eyes.
		{"approver is the requester", func(t *testing.T, p *Pack) []byte {
			p.StageTransitions[0].Approvals[0].Approver = p.StageTransitions[0].RequestedBy
			return reseal(t, p, k)
		}, []string{"four eyes"}, "bob approved"},
		{"approver created the version", func(t *testing.T, p *Pack) []byte {
			p.StageTransitions[0].Approvals = append(p.StageTransitions[0].Approvals, Approval{Approver: p.Version.CreatedBy, At: at(111)})
			return reseal(t, p, k)
		}, []string{"four eyes"}, "alice approved"},

		// Coverage.
		{"present without evidence", func(t *testing.T, p *Pack) []byte {
			p.System.EUDatabaseRegistrationID = ""
			return reseal(t, p, k)
		}, []string{"coverage"}, "row A49-1 is present in the pack, but the pack's evidence makes it missing"},
		{"present without evidence, named by the first row that differs", func(t *testing.T, p *Pack) []byte {
			removeInteractingSystems(p) // AIV-1b, which A11-1 reads
			return reseal(t, p, k)
		}, []string{"coverage"}, "row A11-1 is present in the pack, but the pack's evidence makes it missing"},
		{"missing said present", func(t *testing.T, p *Pack) []byte {
			p.Retention.LogsMinDays = 30
			evaluate(t, p)
			for i := range p.Coverage {
				if p.Coverage[i].Status == StatusMissing {
					p.Coverage[i].Status, p.Coverage[i].Missing = StatusPresent, nil
				}
			}
			p.Summary = summarize(p.Coverage)
			return reseal(t, p, k)
		}, []string{"coverage"}, "row A17-1k is present in the pack, but the pack's evidence makes it missing"},
		{"evidence paths", func(t *testing.T, p *Pack) []byte {
			p.Coverage[5].EvidencePaths = []string{"system.intended_purpose"}
			return reseal(t, p, k)
		}, []string{"coverage"}, "does not follow from its evidence"},
		{"summary", func(t *testing.T, p *Pack) []byte {
			p.Retention.LogsMinDays = 30
			evaluate(t, p)
			p.Summary.Missing, p.Summary.Present, p.Summary.MissingRows = 0, p.Summary.Applicable, []string{}
			return reseal(t, p, k)
		}, []string{"coverage"}, "summary"},
		{"not applicable without a justification", func(t *testing.T, p *Pack) []byte {
			p.System.EUDatabaseRegistrationID = ""
			p.NotApplicable = []NotApplicable{{RowID: "A49-1", Justification: "registered by the deployer", EnteredBy: "alice", EnteredAt: at(3)}}
			evaluate(t, p)
			p.NotApplicable[0].Justification = ""
			return reseal(t, p, k)
		}, []string{"coverage"}, "row A49-1 is not_applicable in the pack, but the pack's evidence makes it missing"},
		{"an applicability answer nobody gave", func(t *testing.T, p *Pack) []byte {
			p.Applicability.NotifiedBody = ptr(false)
			if err := Evaluate(p, MustLoad(), Answerer{}); err != nil {
				t.Fatal(err)
			}
			return reseal(t, p, k)
		}, []string{"coverage"}, "without a justification, who and when"},
		{"another catalogue", func(t *testing.T, p *Pack) []byte {
			p.Export.RequirementsCatalogueVersion = "2024/1689@2024-07-12+registry-0"
			return reseal(t, p, k)
		}, []string{"coverage"}, "this verifier embeds"},

		// The file's form.
		{"reformatted", func(t *testing.T, p *Pack) []byte {
			var b bytes.Buffer
			if err := json.Indent(&b, sealed, "", "  "); err != nil {
				t.Fatal(err)
			}
			return b.Bytes()
		}, []string{"canonical form"}, "first difference at byte 1"},
		{"a member name in other letter case", func(t *testing.T, p *Pack) []byte {
			return replaceOnce(t, sealed, `"manifest_digest":`, `"manifest_Digest":`)
		}, []string{"canonical form"}, "not the RFC 8785 canonical JSON"},
		{"a character escaped", func(t *testing.T, p *Pack) []byte {
			return replaceOnce(t, sealed, `"credit-scorer"`, `"credit\u002dscorer"`)
		}, []string{"canonical form"}, "not the RFC 8785 canonical JSON"},
		{"a number written otherwise", func(t *testing.T, p *Pack) []byte {
			return replaceOnce(t, sealed, `"value":0.91`, `"value":0.910`)
		}, []string{"canonical form"}, "not the RFC 8785 canonical JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := tt.tamper(t, decodePack(t, sealed))
			r, err := Verify(file, k.trusted())
			if err != nil {
				t.Fatalf("error %v, want a report", err)
			}
			var failed []string
			for _, c := range r.Failed() {
				failed = append(failed, c.Name)
			}
			if r.OK || !slices.Equal(failed, tt.failed) {
				t.Fatalf("ok %v, failed %v; want failed %v", r.OK, failed, tt.failed)
			}
			if d := r.Failed()[0].Detail; !strings.Contains(d, tt.detail) {
				t.Errorf("detail %q, want it to say %q", d, tt.detail)
			}
		})
	}
}

// What Verify does not check fails nothing: four eyes is about moves into
// production, and resealing an unchanged pack changes nothing.
func TestVerifyAcceptsWhatItShould(t *testing.T) {
	k := newKeys(t)
	_, sealed := sealedPack(t, k)
	tests := []struct {
		name   string
		change func(p *Pack)
	}{
		{"sealed again", func(*Pack) {}},
		{"self-approval into staging", func(p *Pack) {
			p.StageTransitions = append(p.StageTransitions, Transition{ID: "tr-0", From: "none", To: "staging", Status: "approved",
				RequestedBy: "bob", RequestedAt: at(90), ManifestDigest: p.Version.ManifestDigest,
				Approvals: []Approval{{Approver: "bob", At: at(91), Gates: []Gate{}}}})
			p.Audit = auditTrail(t, k.registry, "models/credit-scorer/versions/3", p)
		}},
		{"a version with no artifact digest", func(p *Pack) { p.Version.Artifact.SHA256 = "" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := decodePack(t, sealed)
			tt.change(p)
			r, err := Verify(reseal(t, p, k), k.trusted())
			if err != nil || !r.OK {
				t.Errorf("ok %v, error %v, failed %+v", r.OK, err, r.Failed())
			}
		})
	}
}

// A keyring that trusts nobody fails every signature.
func TestVerifyWithoutTrustedKeys(t *testing.T) {
	k := newKeys(t)
	_, sealed := sealedPack(t, k)
	r, err := Verify(sealed, audit.Keyring{})
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, c := range r.Failed() {
		failed = append(failed, c.Name)
	}
	if want := []string{"signature", "audit segments", "cyclonedx", "document sign-offs"}; !slices.Equal(failed, want) {
		t.Errorf("failed %v, want %v", failed, want)
	}
}

// A file that is not a pack at all is an error, not a report.
func TestVerifyRefusesWhatIsNotAPack(t *testing.T) {
	k := newKeys(t)
	_, sealed := sealedCompactPack(t, k)
	tests := map[string][]byte{
		"empty":             nil,
		"not JSON":          []byte("PK\x03\x04"),
		"an array":          []byte(`[1,2]`),
		"truncated":         sealed[:len(sealed)-1],
		"data after it":     append(bytes.Clone(sealed), " {}"...),
		"an unknown member": replaceOnce(t, sealed, `{"applicability":`, `{"annex":1,"applicability":`),
		"another format":    replaceOnce(t, sealed, SchemaID, SchemaID+"2"),
		"a wrong type":      replaceOnce(t, sealed, `"required_approvals":1`, `"required_approvals":"1"`),
	}
	for name, file := range tests {
		t.Run(name, func(t *testing.T) {
			r, err := Verify(file, k.trusted())
			if err == nil || !strings.Contains(err.Error(), "not an evidence pack") {
				t.Errorf("error %v, want one saying it is not an evidence pack", err)
			}
			if r.Pack != nil || r.OK {
				t.Errorf("report %+v", r)
			}
		})
	}
}

// flipOf is how a byte is changed: a letter into the other case (which a
// case-insensitive decoder would not notice), anything else in its lowest
// bit (a digit into its neighbour, a quote into '#').
func flipOf(b byte) byte {
	if 'a' <= b|0x20 && b|0x20 <= 'z' {
		return b ^ 0x20
	}
	return b ^ 0x01
}

// decodesAsPack reports whether file is a pack at all: one JSON value, of
// the pack's members only, in the pack's format.
func decodesAsPack(file []byte) bool {
	if !json.Valid(file) {
		return false
	}
	var p Pack
	dec := json.NewDecoder(bytes.NewReader(file))
	dec.DisallowUnknownFields()
	return dec.Decode(&p) == nil && p.Export.SchemaID == SchemaID
}

// checkFlips verifies file with each byte at positions changed, and
// checks that every changed file fails: an error only when it is no
// longer a pack, otherwise a report with the signature failing when the
// content changed and the canonical form failing when only the writing
// did. It returns how often each outcome came.
func checkFlips(t *testing.T, file []byte, positions []int, keys audit.Keyring) map[string]int {
	t.Helper()
	original := decodeOrNil(file)
	var (
		mu       sync.Mutex
		outcomes = map[string]int{}
		faults   []string
		wg       sync.WaitGroup
	)
	work := make(chan int)
	for range runtime.GOMAXPROCS(0) {
		wg.Go(func() {
			for i := range work {
				f := bytes.Clone(file)
				f[i] = flipOf(f[i])
				outcome, fault := judgeFlip(f, original, keys)
				mu.Lock()
				outcomes[outcome]++
				if fault != "" {
					faults = append(faults, fmt.Sprintf("byte %d (%q → %q) in …%s…: %s", i, file[i], f[i], f[max(0, i-30):min(len(f), i+30)], fault))
				}
				mu.Unlock()
			}
		})
	}
	for _, i := range positions {
		work <- i
	}
	close(work)
	wg.Wait()
	slices.Sort(faults)
	for _, f := range faults[:min(len(faults), 20)] {
		t.Error(f)
	}
	if len(faults) > 20 {
		t.Errorf("and %d more", len(faults)-20)
	}
	return outcomes
}

func decodeOrNil(file []byte) *Pack {
	var p Pack
	if json.Unmarshal(file, &p) != nil {
		return nil
	}
	return &p
}

// judgeFlip verifies a changed file: its outcome, and what is wrong with
// it ("" when nothing is).
func judgeFlip(f []byte, original *Pack, keys audit.Keyring) (outcome, fault string) {
	r, err := Verify(f, keys)
	if err != nil {
		if decodesAsPack(f) {
			return "error", "a pack, but Verify says: " + err.Error()
		}
		return "not a pack", ""
	}
	if r.OK {
		return "passed", "Verify passes it"
	}
	failed := map[string]bool{}
	for _, c := range r.Failed() {
		if c.Name == "" || c.Detail == "" {
			return "unnamed", fmt.Sprintf("a failed check without a name or detail: %+v", c)
		}
		failed[c.Name] = true
	}
	same := reflect.DeepEqual(r.Pack, original)
	switch {
	case same && !failed["canonical form"]:
		return "same content", fmt.Sprintf("the same pack written otherwise, but the canonical form passed: %+v", r.Failed())
	case !same && !failed["signature"]:
		return "changed content", fmt.Sprintf("the content changed, but the signature passed: %+v", r.Failed())
	case same:
		return "canonical form", ""
	}
	return "signature", ""
}

// Every byte of a sealed pack matters: the compact pack (every signed
// part, one catalogue row) has each of its bytes changed in turn.
func TestVerifyEveryByteFlipped(t *testing.T) {
	t.Parallel()
	k := newKeys(t)
	_, file := sealedCompactPack(t, k)
	positions := make([]int, len(file))
	for i := range positions {
		positions[i] = i
	}
	outcomes := checkFlips(t, file, positions, k.trusted())
	t.Logf("%d bytes flipped: %v", len(file), outcomes)
	if outcomes["signature"] == 0 || outcomes["canonical form"] == 0 || outcomes["not a pack"] == 0 {
		t.Errorf("outcomes %v: every kind of change should occur", outcomes)
	}
}

// The complete pack is five times larger and each Verify slower: a stride
// of its bytes, every 97th (a prime, so that the stride drifts through
// the fields of repeated structures), reaches each of its parts.
func TestVerifyBytesOfACompletePackFlipped(t *testing.T) {
	if testing.Short() {
		t.Skip("flips a sample of 45 kB; -short skips it")
	}
	t.Parallel()
	k := newKeys(t)
	_, file := sealedPack(t, k)
	var positions []int
	for i := 0; i < len(file); i += 97 {
		positions = append(positions, i)
	}
	outcomes := checkFlips(t, file, positions, k.trusted())
	t.Logf("%d of %d bytes flipped: %v", len(positions), len(file), outcomes)
}
