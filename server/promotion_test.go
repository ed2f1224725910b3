package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

type transition struct {
	ID                string
	Status            string
	From, To          string
	RequiredApprovals int `json:"required_approvals"`
	Approvals         []struct {
		Approver string
		Gates    []struct {
			Gate   string
			Passed bool
		}
	}
}

// readyVersion creates a version with one file and finalizes it.
func (e *env) readyVersion(model string, body map[string]any) int {
	e.t.Helper()
	var v struct{ Version int }
	e.expect(e.do("POST", "/api/v1/models/"+model+"/versions", body), http.StatusCreated, &v)
	base := fmt.Sprintf("/api/v1/models/%s/versions/%d", model, v.Version)
	e.expect(e.do("PUT", base+"/files/model.bin", []byte(fmt.Sprintf("weights of %d", v.Version))), http.StatusCreated, nil)
	e.expect(e.do("POST", base+"/finalize", nil), http.StatusOK, nil)
	return v.Version
}

func (e *env) requestTransition(model string, version int, to string) transition {
	e.t.Helper()
	var t transition
	e.expect(e.do("POST", fmt.Sprintf("/api/v1/models/%s/versions/%d/transitions", model, version),
		map[string]any{"to": to, "comment": "please"}), http.StatusCreated, &t)
	return t
}

func (e *env) stageOf(model string, version int) string {
	e.t.Helper()
	var v struct{ Stage string }
	e.expect(e.do("GET", fmt.Sprintf("/api/v1/models/%s/versions/%d", model, version), nil), http.StatusOK, &v)
	return v.Stage
}

// TestPromotionStory walks the governance story: a publisher's versions go
// to production through four-eyes approvals, the previous production version
// is archived, a deploy pipeline pulls and records a canary, and the ledger
// answers what ran when.
func TestPromotionStory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		pub := admin.as(admin.issue("publisher", []string{"publisher"}))
		appr := admin.as(admin.issue("approver-1", []string{"approver"}))
		appr2 := admin.as(admin.issue("approver-2", []string{"approver"}))
		both := admin.as(admin.issue("lead", []string{"publisher", "approver"}))
		dep := admin.as(admin.issue("deploy-pipeline", []string{"deployer"}))

		pub.mustCreateModel("fraud-detector")
		v1 := pub.readyVersion("fraud-detector", map[string]any{})
		v2 := pub.readyVersion("fraud-detector", map[string]any{})

		// v1 to production: the publisher cannot approve, the approver can.
		t1 := pub.requestTransition("fraud-detector", v1, "production")
		if t1.Status != "pending" || t1.From != "none" || t1.RequiredApprovals != 1 {
			t.Fatalf("requested = %+v", t1)
		}
		pub.expectError(pub.do("POST", "/api/v1/transitions/"+t1.ID+"/approve", map[string]any{"comment": "mine"}), http.StatusForbidden, "forbidden", "")
		// The comment is optional ({} approves: TestDecisionWithoutComment), but bounded.
		appr.expectError(appr.do("POST", "/api/v1/transitions/"+t1.ID+"/approve", map[string]any{"comment": strings.Repeat("x", 16385)}), http.StatusBadRequest, "invalid_argument", "comment")
		var done transition
		appr.expect(appr.do("POST", "/api/v1/transitions/"+t1.ID+"/approve", map[string]any{"comment": "validated on holdout"}), http.StatusOK, &done)
		if done.Status != "approved" || len(done.Approvals) != 1 || done.Approvals[0].Approver != "approver-1" {
			t.Fatalf("approved = %+v", done)
		}
		appr.expectError(appr.do("POST", "/api/v1/transitions/"+t1.ID+"/approve", map[string]any{"comment": "again"}), http.StatusConflict, "conflict", "")
		var staged struct {
			Version        int
			Stage          string
			ManifestDigest string `json:"manifest_digest"`
			Files          []struct{ Path string }
		}
		dep.expect(dep.do("GET", "/api/v1/models/fraud-detector/stages/production", nil), http.StatusOK, &staged)
		if staged.Version != v1 || staged.Stage != "production" || len(staged.Files) != 1 || staged.ManifestDigest == "" {
			t.Fatalf("production = %+v", staged)
		}
		var m struct {
			ProductionVersion int `json:"production_version"`
		}
		dep.expect(dep.do("GET", "/api/v1/models/fraud-detector", nil), http.StatusOK, &m)
		var ml struct {
			Models []struct {
				ProductionVersion int `json:"production_version"`
			}
		}
		dep.expect(dep.do("GET", "/api/v1/models?q=fraud-detector", nil), http.StatusOK, &ml)
		if m.ProductionVersion != v1 || len(ml.Models) != 1 || ml.Models[0].ProductionVersion != v1 {
			t.Fatalf("the model says production is %d, the list %+v; want %d", m.ProductionVersion, ml, v1)
		}
		var d struct {
			ID             string
			Version        int
			TrafficPercent int `json:"traffic_percent"`
		}
		dep.expect(dep.do("POST", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/deployments", v1),
			map[string]any{"environment": "prod-eu", "strategy": "direct"}), http.StatusCreated, &d)
		if d.TrafficPercent != 100 {
			t.Fatalf("deployment = %+v", d)
		}
		between := time.Now().UTC()

		// Four eyes: whoever requested cannot approve, even as an approver.
		t2 := both.requestTransition("fraud-detector", v2, "production")
		// The inbox's review says so before anyone tries.
		review := func(e *env) (blocked string, creator string) {
			var inbox struct {
				Transitions []struct {
					ID     string
					Review *struct {
						VersionCreatedBy string `json:"version_created_by"`
						ApproveBlocked   string `json:"approve_blocked"`
					}
				}
			}
			e.expect(e.do("GET", "/api/v1/transitions?status=pending&review=true", nil), http.StatusOK, &inbox)
			for _, tr := range inbox.Transitions {
				if tr.ID == t2.ID && tr.Review != nil {
					return tr.Review.ApproveBlocked, tr.Review.VersionCreatedBy
				}
			}
			t.Fatalf("no review of %s in %+v", t2.ID, inbox)
			return "", ""
		}
		if blocked, creator := review(both); !strings.Contains(blocked, "four eyes") || creator != "publisher" {
			t.Errorf("the requester's review: blocked %q, creator %q", blocked, creator)
		}
		if blocked, _ := review(appr); blocked != "" {
			t.Errorf("another approver's review is blocked: %q", blocked)
		}
		both.expectError(both.do("POST", "/api/v1/transitions/"+t2.ID+"/approve", map[string]any{"comment": "lgtm"}), http.StatusForbidden, "forbidden", "four eyes")
		// Nor the version's creator.
		pub.expectError(admin.as(admin.issue("publisher", []string{"approver"})).do("POST", "/api/v1/transitions/"+t2.ID+"/approve", map[string]any{"comment": "lgtm"}),
			http.StatusForbidden, "forbidden", "four eyes")
		appr.expect(appr.do("POST", "/api/v1/transitions/"+t2.ID+"/approve", map[string]any{"comment": "better recall"}), http.StatusOK, &done)
		if got := appr.stageOf("fraud-detector", v1); got != "archived" {
			t.Fatalf("v1 is %s after v2's promotion", got)
		}
		dep.expect(dep.do("GET", "/api/v1/models/fraud-detector/stages/production", nil), http.StatusOK, &staged)
		if staged.Version != v2 {
			t.Fatalf("production = %d, want %d", staged.Version, v2)
		}
		dep.expect(dep.do("GET", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/files/model.bin", v2), nil), http.StatusOK, nil)
		dep.expect(dep.do("POST", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/deployments", v2),
			map[string]any{"environment": "prod-eu", "strategy": "canary", "traffic_percent": 10, "replaces": v1}), http.StatusCreated, nil)

		type ledger struct {
			Deployments []struct {
				Version        int
				Strategy       string
				TrafficPercent int `json:"traffic_percent"`
			}
		}
		var l ledger
		dep.expect(dep.do("GET", "/api/v1/deployments?environment=prod-eu&at="+url.QueryEscape(between.Format(time.RFC3339Nano)), nil), http.StatusOK, &l)
		if len(l.Deployments) != 1 || l.Deployments[0].Version != v1 {
			t.Fatalf("running in prod-eu between the promotions: %+v", l)
		}
		dep.expect(dep.do("GET", "/api/v1/deployments?environment=prod-eu&model=fraud-detector&at="+url.QueryEscape(time.Now().UTC().Format(time.RFC3339Nano)), nil), http.StatusOK, &l)
		if len(l.Deployments) != 2 || l.Deployments[0].Version != v2 || l.Deployments[0].TrafficPercent != 10 || l.Deployments[1].Version != v1 {
			t.Fatalf("running in prod-eu now: %+v", l)
		}
		dep.expect(dep.do("GET", "/api/v1/deployments?page_size=1", nil), http.StatusOK, &l)
		if len(l.Deployments) != 1 {
			t.Fatalf("page: %+v", l)
		}

		// Deployers pull released versions only; v1 was in production.
		dep.expect(dep.do("GET", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/files/model.bin", v1), nil), http.StatusOK, nil)
		v3 := pub.readyVersion("fraud-detector", map[string]any{})
		dep.expectError(dep.do("GET", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/files/model.bin", v3), nil), http.StatusForbidden, "forbidden", "stage")
		dep.expectError(dep.do("POST", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/deployments", v3),
			map[string]any{"environment": "prod-eu", "strategy": "direct"}), http.StatusConflict, "conflict", "staging or production")

		// Staging is direct for approvers, a request for publishers.
		var st transition
		appr.expect(appr.do("POST", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/transitions", v3), map[string]any{"to": "staging"}), http.StatusCreated, &st)
		if st.Status != "approved" || appr.stageOf("fraud-detector", v3) != "staging" {
			t.Fatalf("direct staging = %+v", st)
		}
		v4 := pub.readyVersion("fraud-detector", map[string]any{"tags": map[string]string{"risk_review": "passed"}})
		st = pub.requestTransition("fraud-detector", v4, "staging")
		if st.Status != "pending" {
			t.Fatalf("publisher's staging request = %+v", st)
		}
		appr.expectError(appr.do("POST", "/api/v1/transitions/"+st.ID+"/reject", map[string]any{"comment": strings.Repeat("x", 16385)}), http.StatusBadRequest, "invalid_argument", "comment")
		appr.expect(appr.do("POST", "/api/v1/transitions/"+st.ID+"/reject", map[string]any{"comment": "not yet"}), http.StatusOK, &st)
		if st.Status != "rejected" || pub.stageOf("fraud-detector", v4) != "none" {
			t.Fatalf("rejected = %+v", st)
		}
		appr.expectError(appr.do("POST", "/api/v1/transitions/"+st.ID+"/approve", map[string]any{"comment": "changed my mind"}), http.StatusConflict, "conflict", "rejected")

		// Promotion gates and two approvals.
		var policy struct {
			RequiredApprovals int `json:"required_approvals"`
		}
		pub.expectError(pub.do("PUT", "/api/v1/models/fraud-detector/policy", map[string]any{"required_approvals": 2}), http.StatusForbidden, "forbidden", "")
		appr.expect(appr.do("PUT", "/api/v1/models/fraud-detector/policy", map[string]any{
			"required_approvals": 2,
			"required_tags":      map[string]string{"risk_review": "passed"},
			"metric_gates":       []map[string]any{{"key": "auc", "op": ">=", "threshold": 0.9, "dataset": "holdout"}},
			"protected_aliases":  []string{"champion"},
		}), http.StatusOK, &policy)
		dep.expect(dep.do("GET", "/api/v1/models/fraud-detector/policy", nil), http.StatusOK, &policy)
		if policy.RequiredApprovals != 2 {
			t.Fatalf("policy = %+v", policy)
		}
		t4 := pub.requestTransition("fraud-detector", v4, "production")
		var gateErr struct {
			Error struct {
				Code        string
				FailedGates []struct{ Gate, Detail string } `json:"failed_gates"`
			}
		}
		appr.expect(appr.do("POST", "/api/v1/transitions/"+t4.ID+"/approve", map[string]any{"comment": "ok"}), http.StatusPreconditionFailed, &gateErr)
		if gateErr.Error.Code != "precondition_failed" || len(gateErr.Error.FailedGates) != 1 || !strings.Contains(gateErr.Error.FailedGates[0].Gate, "auc") {
			t.Fatalf("gate refusal = %+v", gateErr)
		}
		pub.expect(pub.do("POST", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/metrics", v4), map[string]any{"metrics": []map[string]any{
			{"key": "auc", "value": 0.87, "step": 1, "dataset": "holdout", "split": "test"},
			{"key": "auc", "value": 0.93, "step": 2, "dataset": "holdout", "split": "test"},
			{"key": "loss", "value": 0.1, "step": 2},
		}}), http.StatusCreated, nil)
		var ms struct{ Metrics []struct{ Value float64 } }
		dep.expect(dep.do("GET", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/metrics?key=auc", v4), nil), http.StatusOK, &ms)
		if len(ms.Metrics) != 2 || ms.Metrics[1].Value != 0.93 {
			t.Fatalf("metrics = %+v", ms)
		}
		appr.expect(appr.do("POST", "/api/v1/transitions/"+t4.ID+"/approve", map[string]any{"comment": "gates pass"}), http.StatusOK, &done)
		if done.Status != "pending" || len(done.Approvals) != 1 || len(done.Approvals[0].Gates) != 2 || !done.Approvals[0].Gates[1].Passed {
			t.Fatalf("first of two approvals = %+v", done)
		}
		appr2.expect(appr2.do("POST", "/api/v1/transitions/"+t4.ID+"/approve", map[string]any{"comment": "second pair of eyes"}), http.StatusOK, &done)
		if done.Status != "approved" || pub.stageOf("fraud-detector", v4) != "production" || pub.stageOf("fraud-detector", v2) != "archived" {
			t.Fatalf("second approval = %+v", done)
		}
		var tl struct{ Transitions []transition }
		dep.expect(dep.do("GET", "/api/v1/transitions?model=fraud-detector&status=approved", nil), http.StatusOK, &tl)
		if len(tl.Transitions) != 4 || tl.Transitions[0].ID != t4.ID {
			t.Fatalf("approved transitions: %+v", tl)
		}
		dep.expect(dep.do("GET", "/api/v1/transitions/"+t4.ID, nil), http.StatusOK, &done)

		// Aliases: protected ones move by approvers only.
		pub.expectError(pub.do("PUT", "/api/v1/models/fraud-detector/aliases/champion", map[string]any{"version": v4}), http.StatusForbidden, "forbidden", "protected")
		var alias struct {
			Version         int
			PreviousVersion *int `json:"previous_version"`
		}
		appr.expect(appr.do("PUT", "/api/v1/models/fraud-detector/aliases/champion", map[string]any{"version": v2}), http.StatusOK, &alias)
		appr.expect(appr.do("PUT", "/api/v1/models/fraud-detector/aliases/champion", map[string]any{"version": v4}), http.StatusOK, &alias)
		if alias.Version != v4 || alias.PreviousVersion == nil || *alias.PreviousVersion != v2 {
			t.Fatalf("moved alias = %+v", alias)
		}
		pub.expect(pub.do("PUT", "/api/v1/models/fraud-detector/aliases/challenger", map[string]any{"version": v3}), http.StatusOK, nil)
		var resolved struct {
			Version int
			Aliases []string
		}
		dep.expect(dep.do("GET", "/api/v1/models/fraud-detector/aliases/champion", nil), http.StatusOK, &resolved)
		if resolved.Version != v4 || len(resolved.Aliases) != 1 || resolved.Aliases[0] != "champion" {
			t.Fatalf("champion = %+v", resolved)
		}
		pub.expectError(pub.do("DELETE", "/api/v1/models/fraud-detector/aliases/champion", nil), http.StatusForbidden, "forbidden", "protected")
		pub.expect(pub.do("DELETE", "/api/v1/models/fraud-detector/aliases/challenger", nil), http.StatusNoContent, nil)
		dep.expectError(dep.do("GET", "/api/v1/models/fraud-detector/aliases/challenger", nil), http.StatusNotFound, "not_found", "challenger")
		pending := pub.mustCreateVersion("fraud-detector")
		appr.expectError(appr.do("PUT", "/api/v1/models/fraud-detector/aliases/next", map[string]any{"version": pending}), http.StatusConflict, "conflict", "pending")
		pub.expectError(pub.do("POST", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/transitions", pending), map[string]any{"to": "production"}), http.StatusConflict, "conflict", "pending")

		// A model with production history is kept (EU AI Act Art. 18).
		admin.expectError(admin.do("DELETE", "/api/v1/models/fraud-detector", nil), http.StatusConflict, "conflict", "")
	})
}

// TestConcurrentPromotions: 20 approvals of different versions of one model,
// fired in parallel, leave exactly one production version.
func TestConcurrentPromotions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		pub := admin.as(admin.issue("publisher", []string{"publisher"}))
		appr := admin.as(admin.issue("approver", []string{"approver"}))
		pub.mustCreateModel("m")
		const n = 20
		ids := make([]string, n)
		for i := range n {
			v := pub.readyVersion("m", map[string]any{})
			ids[i] = pub.requestTransition("m", v, "production").ID
		}
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s, err := appr.status("POST", "/api/v1/transitions/"+ids[i]+"/approve", []byte(`{"comment":"go"}`))
				if err != nil {
					t.Error(err)
				}
				statuses[i] = s
			}()
		}
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusOK {
				t.Errorf("approval %d: %d", i, s)
			}
		}
		var prod, archived struct{ Versions []struct{ Version int } }
		appr.expect(appr.do("GET", "/api/v1/models/m/versions?stage=production", nil), http.StatusOK, &prod)
		appr.expect(appr.do("GET", "/api/v1/models/m/versions?stage=archived", nil), http.StatusOK, &archived)
		if len(prod.Versions) != 1 || len(archived.Versions) != n-1 {
			t.Fatalf("%d production and %d archived versions, want 1 and %d", len(prod.Versions), len(archived.Versions), n-1)
		}
		// The audit trail agrees: an intact chain with every approval and
		// every stage change (20 into production, 19 out of it).
		if v := admin.verifyAudit(); !v.OK {
			t.Fatalf("audit chain: %+v", v)
		}
		if got := len(admin.auditEvents("action=transition.approve&page_size=100")); got != n {
			t.Fatalf("%d approval events, want %d", got, n)
		}
		if got := len(admin.auditEvents("action=version.stage&page_size=100")); got != 2*n-1 {
			t.Fatalf("%d stage events, want %d", got, 2*n-1)
		}
	})
}
