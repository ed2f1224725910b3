package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/modelcard"
)

// Check is one verification step of a pack and what it found.
type CheckResult struct {
	Name   string
	OK     bool
	Detail string
}

// Report is the outcome of verifying a pack offline.
type Report struct {
	OK     bool
	Checks []CheckResult
	// Pack is the decoded pack (nil when the file is not one).
	Pack *Pack
}

// Failed returns the checks that failed.
func (r Report) Failed() []CheckResult {
	var out []CheckResult
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

func (r *Report) add(name string, err error, detail string) {
	c := CheckResult{Name: name, OK: err == nil, Detail: detail}
	if err != nil {
		c.Detail = err.Error()
	}
	r.Checks = append(r.Checks, c)
}

// Verify checks a pack file offline, trusting the signatures of keys and
// nothing in the file: that it is the canonical JSON of its content (so no
// byte changes unseen), its SHA-256 and Ed25519 signature, every audit
// segment (each event's hash, the links, the signed checkpoint that ends
// it), the CycloneDX BOM (its digest, its JSF signature, its model
// component's hash against the version's manifest digest), every
// document sign-off's signature, four eyes on every production approval,
// and the coverage, decided again from the pack with the embedded
// catalogue. A file that is not a pack at all is an error; a pack that
// fails a check is a report with OK false naming the check.
func Verify(file []byte, keys audit.Keyring) (Report, error) {
	var r Report
	// One JSON value and nothing after it (the decoder below stops after
	// the first value). Whether it is canonical is a check of the report.
	if !json.Valid(file) {
		return r, fmt.Errorf("not an evidence pack: %w", json.Unmarshal(file, new(json.RawMessage)))
	}
	var p Pack
	dec := json.NewDecoder(bytes.NewReader(file))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return r, fmt.Errorf("not an evidence pack: %w", err)
	}
	if p.Export.SchemaID != SchemaID {
		return r, fmt.Errorf("not an evidence pack: schema_id %q, want %q", p.Export.SchemaID, SchemaID)
	}
	r.Pack = &p

	// The file is compared with the decoded pack encoded again, not with
	// its own canonical form: the digest covers the decoded pack, and
	// encoding/json matches member names case-insensitively, so a file
	// saying "Model" for "model" decodes to the same pack and its digest
	// would still verify.
	// The pack is made canonical once, without its integrity member (the
	// digest's bytes), and the member put in at its sorted place, as Seal
	// does: the same bytes as canonicalising the whole again, which took a
	// third of a verification.
	body, bodyErr := canonicalBody(&p)
	canon, err := body, bodyErr
	if err == nil && p.Integrity != nil {
		var integrity []byte
		if integrity, err = Canonical(p.Integrity); err == nil {
			canon, err = insertMember(body, "integrity", integrity)
		}
	}
	switch {
	case err != nil:
		r.add("canonical form", fmt.Errorf("the pack does not encode again: %w", err), "")
	case !bytes.Equal(canon, file):
		r.add("canonical form", fmt.Errorf("the file is not the RFC 8785 canonical JSON of its content (first difference at byte %d): it was changed or reformatted", firstDifference(canon, file)), "")
	default:
		r.add("canonical form", nil, "the file is the RFC 8785 canonical JSON of its content")
	}
	var sum [32]byte
	err = bodyErr
	if err == nil {
		sum = sha256.Sum256(body)
		err = CheckSignature(p.Integrity, sum, keys)
	}
	r.add("signature", err, fmt.Sprintf("SHA-256 %x signed by key %s", sum, keyIDOf(p.Integrity)))
	r.add("audit segments", VerifySegments(p.Audit, keys), fmt.Sprintf("%d segments, %d events, each ending at a checkpoint signed by a trusted key", len(p.Audit.Segments), countEvents(p.Audit)))
	r.add("cross-references", crossReferences(&p), "every stage transition, run and deployment of the pack has its audit event in the segments")
	r.add("cyclonedx", verifyBOM(&p, keys), "the BOM's digest, its JSF signature and its model component's hash")
	r.add("document sign-offs", verifySignoffs(signedDocuments(&p), keys), fmt.Sprintf("%d documents", len(p.Documents)))
	r.add("four eyes", checkFourEyes(&p), "approvers into production are neither the requester nor the version's creator")
	r.add("coverage", recheckCoverage(&p), fmt.Sprintf("%d rows decided again from the pack with catalogue %s", len(p.Coverage), p.Export.RequirementsCatalogueVersion))
	r.OK = len(r.Failed()) == 0
	return r, nil
}

// crossReferences checks that the records the pack lists are the ones the
// audit chain recorded (GUIDE §5.3(5)): each stage transition, run and
// deployment has an audit event in the verified segments.
func crossReferences(p *Pack) error {
	resources := map[string]bool{}
	deployments := map[string]bool{}
	for _, s := range p.Audit.Segments {
		for _, e := range s.Events {
			resources[e.Resource] = true
			if e.Action == "deployment.record" {
				var d struct {
					Deployment string `json:"deployment"`
				}
				if json.Unmarshal(e.Details, &d) == nil {
					deployments[d.Deployment] = true
				}
			}
		}
	}
	var missing []string
	for _, t := range p.StageTransitions {
		if !resources["transitions/"+t.ID] {
			missing = append(missing, "stage transition "+t.ID)
		}
	}
	for _, r := range p.Runs {
		if !resources["runs/"+r.ID] {
			missing = append(missing, "run "+r.ID)
		}
	}
	for _, d := range p.Deployments {
		if !deployments[d.ID] {
			missing = append(missing, "deployment "+d.ID)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("no audit event in the segments records %s", strings.Join(missing, ", "))
	}
	return nil
}

func keyIDOf(in *Integrity) string {
	if in == nil {
		return "(none)"
	}
	return in.Signature.KeyID
}

func firstDifference(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

func countEvents(a Audit) int {
	n := 0
	for _, s := range a.Segments {
		n += len(s.Events)
	}
	return n
}

// VerifySegments checks each segment as a chain of its own: it starts
// after its first event's prev_hash (trusted only through what follows),
// every event's hash is recomputed and linked to the next, and it ends at
// a checkpoint of its last event signed by a trusted key, which vouches
// for the whole run.
func VerifySegments(a Audit, keys audit.Keyring) error {
	if a.Canonicalization != "RFC 8785" || a.HashAlg != "sha256" {
		return fmt.Errorf("audit: hash %q and canonicalisation %q: want sha256 and RFC 8785", a.HashAlg, a.Canonicalization)
	}
	for i, s := range a.Segments {
		if len(s.Events) == 0 {
			return fmt.Errorf("audit segment %d holds no event", i)
		}
		first := s.Events[0]
		if first.Seq != s.FirstSeq || s.Events[len(s.Events)-1].Seq != s.LastSeq {
			return fmt.Errorf("audit segment %d: its range %d to %d does not match its events", i, s.FirstSeq, s.LastSeq)
		}
		v := audit.NewVerifier(keys)
		v.Start(first.Seq-1, first.PrevHash)
		for _, pe := range s.Events {
			e, err := toAuditEvent(pe)
			if err != nil {
				return fmt.Errorf("audit segment %d, event %d: %w", i, pe.Seq, err)
			}
			if !v.Event(e) {
				break
			}
		}
		cp, err := toCheckpoint(s.Checkpoint)
		if err != nil {
			return fmt.Errorf("audit segment %d: checkpoint: %w", i, err)
		}
		v.Checkpoint(cp)
		res := v.Finish(s.LastSeq, cp.Hash)
		switch {
		case !res.OK:
			return fmt.Errorf("audit segment %d: broken at seq %d: %s", i, res.FirstBrokenSeq, res.Reason)
		case res.CheckpointsVerified != 1:
			return fmt.Errorf("audit segment %d: its checkpoint at seq %d is signed by key %s, which is not trusted", i, cp.Seq, cp.KeyID)
		}
	}
	return nil
}

func toAuditEvent(e AuditEvent) (audit.Event, error) {
	t, err := audit.ParseTime(e.Time)
	if err != nil {
		return audit.Event{}, err
	}
	details, err := audit.CanonicalJSON(e.Details)
	if err != nil {
		return audit.Event{}, fmt.Errorf("details: %w", err)
	}
	return audit.Event{Seq: e.Seq, Time: t, Actor: e.Actor, Action: e.Action, Resource: e.Resource, Outcome: e.Outcome,
		RequestID: e.RequestID, RemoteAddr: e.RemoteAddr, Details: details, PrevHash: e.PrevHash, Hash: e.Hash}, nil
}

func toCheckpoint(c Checkpoint) (audit.Checkpoint, error) {
	t, err := audit.ParseTime(c.Time)
	if err != nil {
		return audit.Checkpoint{}, err
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil {
		return audit.Checkpoint{}, fmt.Errorf("signature: %w", err)
	}
	return audit.Checkpoint{Seq: c.Seq, Hash: c.Hash, Time: t, Kind: c.Kind, KeyID: c.KeyID, Signature: sig}, nil
}

// verifyBOM checks the inline CycloneDX BOM.
func verifyBOM(p *Pack, keys audit.Keyring) error {
	ref := p.Export.CycloneDX
	if len(ref.BOM) == 0 {
		return errors.New("the pack carries no CycloneDX BOM")
	}
	canon, err := audit.CanonicalJSON(ref.BOM)
	if err != nil {
		return fmt.Errorf("the CycloneDX BOM is not JSON: %w", err)
	}
	if sum := sha256.Sum256(canon); hex.EncodeToString(sum[:]) != ref.SHA256 {
		return fmt.Errorf("the CycloneDX BOM does not match its SHA-256 (%s recorded, %x computed)", ref.SHA256, sum)
	}
	keyID := keyIDOf(p.Integrity)
	pub, ok := keys[keyID]
	if !ok {
		return fmt.Errorf("the CycloneDX BOM's signer %s is not trusted", keyID)
	}
	if err := modelcard.VerifyJSF(ref.BOM, pub); err != nil {
		return fmt.Errorf("the CycloneDX BOM's signature: %w", err)
	}
	var bom struct {
		Metadata struct {
			Component struct {
				Type   string
				Hashes []struct{ Alg, Content string }
			}
		}
	}
	if err := json.Unmarshal(ref.BOM, &bom); err != nil {
		return fmt.Errorf("the CycloneDX BOM: %w", err)
	}
	c := bom.Metadata.Component
	if c.Type != "machine-learning-model" {
		return fmt.Errorf("the CycloneDX BOM's component is a %q, not a machine-learning-model", c.Type)
	}
	if want := p.Version.Artifact.SHA256; want != "" {
		if !slices.ContainsFunc(c.Hashes, func(h struct{ Alg, Content string }) bool { return h.Alg == "SHA-256" && h.Content == want }) {
			return fmt.Errorf("the CycloneDX model component's SHA-256 is not the version's manifest digest %s", want)
		}
	}
	return nil
}

// signedDocuments are the documents with sign-offs to check: the pack's
// documents and the test logs and reports of its runs, whose sign-offs
// repeat theirs and are what AIV-2g counts.
func signedDocuments(p *Pack) []Document {
	docs := slices.Clone(p.Documents)
	for _, run := range p.Runs {
		for _, ref := range []*DocumentRef{run.TestLog, run.Report} {
			if ref != nil {
				docs = append(docs, Document{ID: ref.ID, SHA256: ref.SHA256, Signoffs: ref.Signoffs})
			}
		}
	}
	return docs
}

// verifySignoffs checks every sign-off's signature.
func verifySignoffs(docs []Document, keys audit.Keyring) error {
	for _, d := range docs {
		for _, s := range d.Signoffs {
			pub, ok := keys[s.KeyID]
			if !ok {
				return fmt.Errorf("document %s: the sign-off by %s is signed by key %s, which is not trusted", d.ID, s.Signer, s.KeyID)
			}
			at, err := audit.ParseTime(s.SignedAt)
			if err != nil {
				return fmt.Errorf("document %s: sign-off by %s: %w", d.ID, s.Signer, err)
			}
			sig, err := base64.StdEncoding.DecodeString(s.Signature)
			if err != nil || !ed25519.Verify(pub, SignoffMessage(d.SHA256, s.Signer, at), sig) {
				return fmt.Errorf("document %s: the sign-off by %s does not verify", d.ID, s.Signer)
			}
		}
	}
	return nil
}

// checkFourEyes checks every approval of a move into production.
func checkFourEyes(p *Pack) error {
	for _, t := range p.StageTransitions {
		if t.To != "production" {
			continue
		}
		for _, a := range t.Approvals {
			if a.Approver == t.RequestedBy || a.Approver == p.Version.CreatedBy {
				return fmt.Errorf("transition %s: %s approved a move into production that they requested or whose version they created", t.ID, a.Approver)
			}
		}
	}
	return nil
}

// recheckCoverage decides the coverage again from the pack and compares.
func recheckCoverage(p *Pack) error {
	c, err := Load()
	if err != nil {
		return err
	}
	if p.Export.RequirementsCatalogueVersion != c.Version {
		return fmt.Errorf("the pack answers catalogue %s; this verifier embeds %s", p.Export.RequirementsCatalogueVersion, c.Version)
	}
	again := *p
	again.NotApplicable = nil
	var answerer Answerer
	for _, na := range p.NotApplicable {
		if na.Source == sourceApplicability {
			answerer = Answerer{By: na.EnteredBy, At: na.EnteredAt, AuditEventID: na.AuditEventID}
			continue
		}
		again.NotApplicable = append(again.NotApplicable, na)
	}
	if err := Evaluate(&again, c, answerer); err != nil {
		return err
	}
	want, _ := json.Marshal(again.Coverage)
	got, _ := json.Marshal(p.Coverage)
	if !bytes.Equal(want, got) {
		for i := range min(len(again.Coverage), len(p.Coverage)) {
			if a, b := again.Coverage[i], p.Coverage[i]; a.RowID != b.RowID || a.Status != b.Status {
				return fmt.Errorf("row %s is %s in the pack, but the pack's evidence makes it %s", b.RowID, b.Status, a.Status)
			}
		}
		return errors.New("the pack's coverage does not follow from its evidence")
	}
	// The summary is what a reader sees first (and the page prints).
	want, _ = json.Marshal(again.Summary)
	got, _ = json.Marshal(p.Summary)
	if !bytes.Equal(want, got) {
		s := p.Summary
		return fmt.Errorf("the pack's summary (%d applicable: %d present, %d missing, %d not applicable, missing rows %v) does not count its coverage",
			s.Applicable, s.Present, s.Missing, s.NotApplicable, s.MissingRows)
	}
	for _, na := range p.NotApplicable {
		if strings.TrimSpace(na.Justification) == "" || na.EnteredBy == "" || na.EnteredAt == "" {
			return fmt.Errorf("row %s is not applicable without a justification, who and when", na.RowID)
		}
	}
	return nil
}
