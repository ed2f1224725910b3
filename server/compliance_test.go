package server_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/compliance"
)

type document struct {
	ID        string
	SHA256    string
	Kind      string
	Title     string
	Version   string
	MediaType string `json:"media_type"`
	Size      int64
	URI       string
	Signoffs  []signoff
}

type signoff struct {
	DocumentID string `json:"document_id"`
	SHA256     string
	Signer     string
	SignedAt   string `json:"signed_at"`
	Meaning    string
	KeyID      string `json:"key_id"`
	Signature  string
}

// uploadDocument stores body as a document and returns its record.
func (e *env) uploadDocument(kind, title, version string, body []byte) document {
	e.t.Helper()
	q := url.Values{"kind": {kind}, "title": {title}, "version": {version}}
	var d document
	e.expect(e.do("POST", "/api/v1/documents?"+q.Encode(), body, "Content-Type", "application/pdf",
		"X-Checksum-Sha256", sha256Hex(body)), http.StatusCreated, &d)
	return d
}

// serverPublicKey is the key that signs checkpoints, exports, sign-offs
// and evidence packs.
func (e *env) serverPublicKey() ed25519.PublicKey {
	e.t.Helper()
	var cps struct {
		PublicKey string `json:"public_key"`
	}
	e.expect(e.do("GET", "/api/v1/audit/checkpoints", nil), http.StatusOK, &cps)
	pub, err := audit.ParsePublicKeyPEM([]byte(cps.PublicKey))
	if err != nil {
		e.t.Fatal(err)
	}
	return pub
}

func TestDocuments(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		pub := admin.as(admin.issue("tess", []string{"publisher"}))
		appr := admin.as(admin.issue("anna", []string{"approver"}))
		dep := admin.as(admin.issue("dora", []string{"deployer"}))
		report := []byte("%PDF-1.7 robustness test report, 12 pages\n")

		d := pub.uploadDocument("test_report", "Robustness report", "1.0", report)
		if d.SHA256 != sha256Hex(report) || d.Size != int64(len(report)) || d.MediaType != "application/pdf" || d.URI != "/api/v1/documents/"+d.ID {
			t.Fatalf("document %+v", d)
		}

		t.Run("the same content again is the same document", func(t *testing.T) {
			q := url.Values{"kind": {"test_report"}, "title": {"Robustness report"}, "version": {"1.0"}}
			var again document
			pub.expect(pub.do("POST", "/api/v1/documents?"+q.Encode(), report), http.StatusOK, &again)
			if again.ID != d.ID {
				t.Errorf("a second document %s for the same content", again.ID)
			}
			q.Set("title", "Another title")
			pub.expectError(pub.do("POST", "/api/v1/documents?"+q.Encode(), report), http.StatusConflict, "conflict", d.ID)
		})
		t.Run("bad uploads keep nothing", func(t *testing.T) {
			before := len(pub.blobKeys())
			q := url.Values{"kind": {"test_log"}, "title": {"log"}, "version": {"1"}}
			pub.expectError(pub.do("POST", "/api/v1/documents?"+q.Encode(), []byte("log lines"), "X-Checksum-Sha256", strings.Repeat("0", 64)),
				http.StatusUnprocessableEntity, "digest_mismatch", "checksum")
			q.Set("kind", "novel")
			pub.expectError(pub.do("POST", "/api/v1/documents?"+q.Encode(), []byte("x")), http.StatusBadRequest, "invalid_argument", "kind")
			q.Set("kind", "test_log")
			q.Set("title", "TBD")
			pub.expectError(pub.do("POST", "/api/v1/documents?"+q.Encode(), []byte("x")), http.StatusBadRequest, "invalid_argument", "placeholder")
			if after := len(pub.blobKeys()); after != before {
				t.Errorf("%d blobs after refused uploads, %d before", after, before)
			}
		})
		t.Run("download", func(t *testing.T) {
			resp := appr.do("GET", "/api/v1/documents/"+d.ID+"/content", nil)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != string(report) || resp.Header.Get("ETag") != `"`+d.SHA256+`"` {
				t.Fatalf("status %d, etag %s, body %q", resp.StatusCode, resp.Header.Get("ETag"), body)
			}
			dep.expectError(dep.do("GET", "/api/v1/documents/"+d.ID+"/content", nil), http.StatusForbidden, "forbidden", "")
			if evs := admin.auditEvents("action=document.download"); len(evs) == 0 || evs[0].Actor != "anna" {
				t.Errorf("download events %+v", evs)
			}
		})
		t.Run("sign-off verifies offline", func(t *testing.T) {
			var so signoff
			appr.expect(appr.do("POST", "/api/v1/documents/"+d.ID+"/signoffs", map[string]any{"meaning": "approved"}), http.StatusCreated, &so)
			appr.expectError(appr.do("POST", "/api/v1/documents/"+d.ID+"/signoffs", map[string]any{}), http.StatusConflict, "conflict", "already")
			signedAt, err := audit.ParseTime(so.SignedAt)
			if err != nil {
				t.Fatal(err)
			}
			sig, err := base64.StdEncoding.DecodeString(so.Signature)
			if err != nil {
				t.Fatal(err)
			}
			pubKey := admin.serverPublicKey()
			if so.Signer != "anna" || so.SHA256 != d.SHA256 || so.KeyID != audit.KeyID(pubKey) ||
				!ed25519.Verify(pubKey, compliance.SignoffMessage(so.SHA256, so.Signer, signedAt), sig) {
				t.Fatalf("sign-off %+v does not verify", so)
			}
			if ed25519.Verify(pubKey, compliance.SignoffMessage(so.SHA256, "mallory", signedAt), sig) {
				t.Fatal("a sign-off verifies for another signer")
			}
			var got document
			admin.expect(admin.do("GET", "/api/v1/documents/"+d.ID, nil), http.StatusOK, &got)
			if len(got.Signoffs) != 1 || got.Signoffs[0].Signature != so.Signature {
				t.Errorf("document's sign-offs %+v", got.Signoffs)
			}
			if evs := admin.auditEvents("action=document.signoff"); len(evs) != 1 || evs[0].Actor != "anna" {
				t.Errorf("sign-off events %+v", evs)
			}
			dep.expectError(dep.do("POST", "/api/v1/documents/"+d.ID+"/signoffs", map[string]any{}), http.StatusForbidden, "forbidden", "")
		})
		t.Run("list", func(t *testing.T) {
			pub.uploadDocument("instructions_for_use", "IFU", "3", []byte("instructions"))
			var page struct {
				Documents     []document
				NextPageToken string `json:"next_page_token"`
			}
			admin.expect(admin.do("GET", "/api/v1/documents?kind=test_report", nil), http.StatusOK, &page)
			if len(page.Documents) != 1 || page.Documents[0].ID != d.ID || page.NextPageToken != "" {
				t.Errorf("test reports %+v", page)
			}
			admin.expect(admin.do("GET", "/api/v1/documents?page_size=1", nil), http.StatusOK, &page)
			if len(page.Documents) != 1 || page.Documents[0].Kind != "instructions_for_use" || page.NextPageToken == "" {
				t.Fatalf("first page %+v", page)
			}
			admin.expect(admin.do("GET", "/api/v1/documents?page_size=1&page_token="+page.NextPageToken, nil), http.StatusOK, &page)
			if len(page.Documents) != 1 || page.Documents[0].ID != d.ID {
				t.Errorf("second page %+v", page)
			}
		})
	})
}

type cardAnswer struct {
	Model         string
	Version       int
	Revision      int
	ModelRevision int    `json:"model_revision"`
	UpdatedBy     string `json:"updated_by"`
	Card          map[string]any
}

func TestCards(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		admin.mustCreateModel("fraud")
		v := admin.mustCreateVersion("fraud")
		pub := admin.as(admin.issue("tess", []string{"publisher"}))
		dep := admin.as(admin.issue("dora", []string{"deployer"}))
		ifu := pub.uploadDocument("instructions_for_use", "Instructions for use", "2.1", []byte("how to use the fraud model"))
		modelCard := "/api/v1/models/fraud/card"
		versionCard := fmt.Sprintf("/api/v1/models/fraud/versions/%d/card", v)

		var empty cardAnswer
		dep.expect(dep.do("GET", versionCard, nil), http.StatusOK, &empty)
		if empty.Revision != 0 || len(empty.Card) != 0 {
			t.Fatalf("a version without a card: %+v", empty)
		}

		var m1 cardAnswer
		pub.expect(pub.do("PUT", modelCard, map[string]any{
			"provider": map[string]any{"name": "Acme Bank", "legal_address": "1 Main St, Amsterdam"},
			"system": map[string]any{"name": "fraud", "risk_class": "high-risk", "intended_purpose": "score card payments for fraud",
				"instructions_for_use": map[string]any{"sha256": ifu.SHA256}},
		}), http.StatusOK, &m1)
		system := m1.Card["system"].(map[string]any)
		doc := system["instructions_for_use"].(map[string]any)
		if m1.Revision != 1 || doc["uri"] != "/api/v1/documents/"+ifu.ID || doc["version"] != "2.1" || doc["title"] != "Instructions for use" {
			t.Fatalf("model card %+v", m1)
		}

		var v1 cardAnswer
		pub.expect(pub.do("PUT", versionCard, map[string]any{
			"system":  map[string]any{"intended_purpose": "score card payments of EU retail customers"},
			"version": map[string]any{"change_summary": "first release", "architecture": "gradient boosted trees"},
		}), http.StatusOK, &v1)
		vs := v1.Card["system"].(map[string]any)
		if v1.Revision != 1 || v1.ModelRevision != 1 || vs["name"] != "fraud" || vs["intended_purpose"] != "score card payments of EU retail customers" ||
			v1.Card["provider"].(map[string]any)["name"] != "Acme Bank" {
			t.Fatalf("merged version card %+v", v1)
		}

		t.Run("revisions are kept", func(t *testing.T) {
			time.Sleep(2 * time.Millisecond) // distinct revision times at microsecond precision
			var m2 cardAnswer
			pub.expect(pub.do("PUT", modelCard, map[string]any{"provider": map[string]any{"name": "Acme Bank N.V."}}), http.StatusOK, &m2)
			if m2.Revision != 2 {
				t.Fatalf("revision %d", m2.Revision)
			}
			var old cardAnswer
			dep.expect(dep.do("GET", modelCard+"?revision=1", nil), http.StatusOK, &old)
			if old.Revision != 1 || old.Card["provider"].(map[string]any)["name"] != "Acme Bank" {
				t.Errorf("revision 1: %+v", old)
			}
			// The version's revision 1 was made over the model's revision 1.
			var then cardAnswer
			dep.expect(dep.do("GET", versionCard+"?revision=1", nil), http.StatusOK, &then)
			if then.ModelRevision != 1 || then.Card["provider"].(map[string]any)["name"] != "Acme Bank" {
				t.Errorf("version revision 1 merged over %d: %+v", then.ModelRevision, then.Card["provider"])
			}
			var revs struct{ Revisions []struct{ Revision int } }
			dep.expect(dep.do("GET", modelCard+"/revisions", nil), http.StatusOK, &revs)
			if len(revs.Revisions) != 2 || revs.Revisions[0].Revision != 2 {
				t.Errorf("revisions %+v", revs)
			}
			pub.expectError(pub.do("GET", modelCard+"?revision=9", nil), http.StatusNotFound, "not_found", "revision 9")
			if evs := admin.auditEvents("action=card.update"); len(evs) != 3 {
				t.Errorf("%d card.update events, want 3", len(evs))
			}
		})
		t.Run("refused cards name the field", func(t *testing.T) {
			tests := []struct {
				name string
				body any
				want string
			}{
				{"placeholder", map[string]any{"system": map[string]any{"intended_purpose": "TBD"}}, "system.intended_purpose"},
				{"placeholder in a list", map[string]any{"system": map[string]any{"foreseeable_misuse": []string{"credit scoring", "n/a"}}}, "system.foreseeable_misuse[1]"},
				{"unknown field", map[string]any{"sytem": map[string]any{}}, "sytem"},
				{"unknown document", map[string]any{"risk_management": map[string]any{"rms_doc": map[string]any{"sha256": strings.Repeat("ab", 32)}}}, "risk_management.rms_doc.sha256"},
				{"unknown risk class", map[string]any{"system": map[string]any{"risk_class": "high"}}, "risk_class"},
				{"dangling risk id", map[string]any{"human_oversight": map[string]any{"measures": []any{map[string]any{"capability": "stop", "mitigates_risk_ids": []string{"R9"}}}}}, "mitigates_risk_ids"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					pub.on(t).expectError(pub.do("PUT", versionCard, tt.body), http.StatusBadRequest, "invalid_argument", tt.want)
				})
			}
		})
		t.Run("roles and scopes", func(t *testing.T) {
			dep.expectError(dep.do("PUT", versionCard, map[string]any{}), http.StatusForbidden, "forbidden", "")
			other := admin.as(admin.issue("scoped", []string{"publisher"}, "churn-*"))
			other.expectError(other.do("GET", versionCard, nil), http.StatusForbidden, "forbidden", "fraud")
			admin.expectError(admin.do("GET", "/api/v1/models/fraud/versions/99/card", nil), http.StatusNotFound, "not_found", "")
		})
	})
}

func TestExemptions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		admin.mustCreateModel("fraud")
		v := admin.mustCreateVersion("fraud")
		base := fmt.Sprintf("/api/v1/models/fraud/versions/%d/evidence/not-applicable", v)
		var e struct {
			RowID         string `json:"row_id"`
			Version       int
			EnteredBy     string `json:"entered_by"`
			AuditEventID  int64  `json:"audit_event_id"`
			Justification string
		}
		admin.expect(admin.do("PUT", base+"/A12-3a", map[string]any{"justification": "not a remote biometric identification system"}), http.StatusOK, &e)
		if e.RowID != "A12-3a" || e.Version != v || e.EnteredBy != "test-admin" || e.AuditEventID == 0 {
			t.Fatalf("exemption %+v", e)
		}
		admin.expect(admin.do("PUT", "/api/v1/models/fraud/evidence/not-applicable/A15-5:model_poisoning",
			map[string]any{"justification": "no pre-trained components"}), http.StatusOK, nil)
		var list struct {
			NotApplicable []struct {
				RowID   string `json:"row_id"`
				Version int
			} `json:"not_applicable"`
		}
		admin.expect(admin.do("GET", base, nil), http.StatusOK, &list)
		if len(list.NotApplicable) != 2 || list.NotApplicable[0].RowID != "A12-3a" || list.NotApplicable[1].Version != 0 {
			t.Errorf("exemptions %+v", list)
		}
		admin.expectError(admin.do("PUT", base+"/A99-1", map[string]any{"justification": "x y"}), http.StatusBadRequest, "invalid_argument", "catalogue")
		admin.expectError(admin.do("PUT", base+"/A12-3b", map[string]any{"justification": "n/a"}), http.StatusBadRequest, "invalid_argument", "justification")
		admin.expect(admin.do("DELETE", base+"/A12-3a", nil), http.StatusNoContent, nil)
		admin.expectError(admin.do("DELETE", base+"/A12-3a", nil), http.StatusNotFound, "not_found", "")
		if evs := admin.auditEvents("action=evidence.not_applicable"); len(evs) != 2 {
			t.Errorf("%d not_applicable events", len(evs))
		}
	})
}

type runAnswer struct {
	RunID   string `json:"run_id"`
	Kind    string
	Subject *struct {
		Model   string
		Version int
	}
	Inputs []struct{ Name, Version, Role string }
	Report string
}

func TestRuns(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		admin.mustCreateModel("fraud")
		v := admin.readyVersion("fraud", map[string]any{"source": map[string]any{"run_id": "train-1", "git_commit": "abc"}})
		report := admin.uploadDocument("test_report", "Evaluation", "1", []byte("evaluation report"))

		var r runAnswer
		admin.expect(admin.do("POST", "/api/v1/runs", map[string]any{
			"run_id": "eval-1", "kind": "evaluation", "started_at": "2026-11-01T10:00:00Z", "ended_at": "2026-11-01T11:00:00Z",
			"subject": map[string]any{"model": "fraud", "version": v}, "report": report.ID,
			"inputs": []any{map[string]any{"name": "holdout", "version": "2026-10", "role": "test"}},
		}), http.StatusCreated, &r)
		if r.Kind != "evaluation" || r.Subject == nil || r.Subject.Version != v || r.Report != report.ID || len(r.Inputs) != 1 {
			t.Fatalf("run %+v", r)
		}
		t.Run("the training run learns its times", func(t *testing.T) {
			var tr runAnswer
			admin.expect(admin.do("POST", "/api/v1/runs", map[string]any{"run_id": "train-1", "started_at": "2026-10-30T08:00:00Z"}), http.StatusOK, &tr)
			if tr.Kind != "training" {
				t.Errorf("training run %+v", tr)
			}
			admin.expectError(admin.do("POST", "/api/v1/runs", map[string]any{"run_id": "train-1", "kind": "evaluation",
				"subject": map[string]any{"model": "fraud", "version": v}}), http.StatusConflict, "conflict", "kind")
			admin.expectError(admin.do("POST", "/api/v1/runs", map[string]any{"run_id": "train-1", "code_ref": map[string]any{"commit": "def"}}),
				http.StatusConflict, "conflict", "git_commit")
		})
		t.Run("refused runs", func(t *testing.T) {
			tests := []struct {
				name string
				body map[string]any
				want string
			}{
				{"evaluation without subject", map[string]any{"run_id": "e2", "kind": "evaluation"}, "subject"},
				{"training with subject", map[string]any{"run_id": "t2", "subject": map[string]any{"model": "fraud", "version": v}}, "training run"},
				{"unknown version", map[string]any{"run_id": "e3", "kind": "fairness", "subject": map[string]any{"model": "fraud", "version": 99}}, "does not exist"},
				{"unknown report", map[string]any{"run_id": "e4", "kind": "fairness", "subject": map[string]any{"model": "fraud", "version": v},
					"report": strings.Repeat("a", 32)}, "report"},
				{"ended before started", map[string]any{"run_id": "e5", "kind": "fairness", "subject": map[string]any{"model": "fraud", "version": v},
					"started_at": "2026-11-02T00:00:00Z", "ended_at": "2026-11-01T00:00:00Z"}, "ended_at"},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					admin.on(t).expectError(admin.do("POST", "/api/v1/runs", tt.body), http.StatusBadRequest, "invalid_argument", tt.want)
				})
			}
		})
		t.Run("list and lineage", func(t *testing.T) {
			var list struct{ Runs []runAnswer }
			admin := admin.on(t)
			admin.expect(admin.do("GET", fmt.Sprintf("/api/v1/runs?model=fraud&version=%d", v), nil), http.StatusOK, &list)
			if len(list.Runs) != 1 || list.Runs[0].RunID != "eval-1" {
				t.Errorf("runs of the version %+v", list)
			}
			g := admin.on(t).lineage("fraud", v, "?direction=downstream")
			found := false
			for _, e := range g.Edges {
				if e.To == "run:eval-1" && e.Relation == "tested_in" {
					found = true
				}
			}
			if !found {
				t.Errorf("no tested_in edge to the evaluation run: %+v", g.Edges)
			}
		})
		t.Run("metrics name their run", func(t *testing.T) {
			path := fmt.Sprintf("/api/v1/models/fraud/versions/%d/metrics", v)
			admin.expect(admin.do("POST", path, map[string]any{"metrics": []any{map[string]any{
				"key": "auc", "value": 0.93, "dataset": "holdout", "dataset_version": "2026-10", "run_id": "eval-1"}}}), http.StatusCreated, nil)
			var page struct {
				Metrics []struct {
					RunID          string `json:"run_id"`
					DatasetVersion string `json:"dataset_version"`
				}
			}
			admin.expect(admin.do("GET", path, nil), http.StatusOK, &page)
			if len(page.Metrics) != 1 || page.Metrics[0].RunID != "eval-1" || page.Metrics[0].DatasetVersion != "2026-10" {
				t.Errorf("metrics %+v", page)
			}
			admin.expectError(admin.do("POST", path, map[string]any{"metrics": []any{map[string]any{"key": "auc", "value": 1, "run_id": "nope"}}}),
				http.StatusBadRequest, "invalid_argument", "nope")
		})
	})
}
