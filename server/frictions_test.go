package server_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/modelkeep/modelkeep"
)

// TestFirstHourFrictions: the small API frictions of issue 15, each in a
// subtest, on one server per backend (a server start per check would cost
// more than the checks).
func TestFirstHourFrictions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		for _, c := range []struct {
			name string
			fn   func(*testing.T, *env)
		}{
			{"decision without comment", decisionWithoutComment},
			{"equality spellings", equalitySpellings},
			{"bad timestamp says RFC 3339", badTimestampSaysRFC3339},
			{"bad signature says so", badSignatureSaysSo},
		} {
			t.Run(c.name, func(t *testing.T) { c.fn(t, e.on(t)) })
		}
	})
}

// decisionWithoutComment: `{}` approves and rejects; the comment is
// optional (issue 15: it was a 400 "comment is required").
func decisionWithoutComment(t *testing.T, e *env) {
	e.mustCreateModel("dc")
	approver := e.as(e.issue("alice", []string{modelkeep.RoleApprover}))
	v1 := e.readyVersion("dc", map[string]any{})
	tr := e.requestTransition("dc", v1, "production")
	var got transition
	approver.expect(approver.do("POST", "/api/v1/transitions/"+tr.ID+"/approve", "{}"), http.StatusOK, &got)
	if got.Status != "approved" || len(got.Approvals) != 1 {
		t.Errorf("approved with {}: %+v", got)
	}
	v2 := e.readyVersion("dc", map[string]any{})
	tr = e.requestTransition("dc", v2, "production")
	approver.expect(approver.do("POST", "/api/v1/transitions/"+tr.ID+"/reject", "{}"), http.StatusOK, &got)
	if got.Status != "rejected" {
		t.Errorf("rejected with {}: %+v", got)
	}
	var stage struct{ Version int }
	e.expect(e.do("GET", "/api/v1/models/dc/stages/production", nil), http.StatusOK, &stage)
	if stage.Version != v1 {
		t.Errorf("production holds %d, want %d", stage.Version, v1)
	}
}

// equalitySpellings: the filter and the promotion gates both take "="
// and "==" (the filter refused "==", the gates "=").
func equalitySpellings(t *testing.T, e *env) {
	e.expect(e.do("POST", "/api/v1/models", map[string]any{"name": "eq", "tags": map[string]string{"team": "risk"}}), http.StatusCreated, nil)
	for _, f := range []string{`tags.team = "risk"`, `tags.team == "risk"`} {
		var list struct{ Models []struct{ Name string } }
		e.expect(e.do("GET", "/api/v1/models?filter="+url.QueryEscape(f), nil), http.StatusOK, &list)
		if len(list.Models) != 1 || list.Models[0].Name != "eq" {
			t.Errorf("filter %s: %+v", f, list.Models)
		}
	}
	for _, op := range []string{"=", "=="} {
		var p struct {
			MetricGates []struct{ Op string } `json:"metric_gates"`
		}
		e.expect(e.do("PUT", "/api/v1/models/eq/policy", map[string]any{
			"metric_gates": []map[string]any{{"key": "latency_ms", "op": op, "threshold": 60}},
		}), http.StatusOK, &p)
		if len(p.MetricGates) != 1 || p.MetricGates[0].Op != op {
			t.Errorf("gate op %q stored as %+v", op, p.MetricGates)
		}
	}
}

// badTimestampSaysRFC3339: a time that is not RFC 3339, in a query
// parameter or a body field, is a 400 that shows the expected form, not the
// validator's regular expression.
func badTimestampSaysRFC3339(t *testing.T, e *env) {
	const want = "expected RFC 3339, e.g. 2026-11-01T12:00:00Z"
	for _, resp := range []*http.Response{
		e.do("GET", "/api/v1/audit?since=yesterday", nil),
		e.do("GET", "/api/v1/deployments?at=2026-11-01", nil),
		e.do("POST", "/api/v1/runs", map[string]any{"run_id": "r1", "started_at": "2026-11-01 12:00"}),
	} {
		msg := expectBadRequest(t, e, resp, want)
		if strings.Contains(msg, "regular expression") || strings.Contains(msg, "^") {
			t.Errorf("the message shows the pattern: %s", msg)
		}
	}
}

// badSignatureSaysSo: a token whose signature was edited or cut is
// refused as "invalid signature" (strict base64url made it "malformed
// token").
func badSignatureSaysSo(t *testing.T, e *env) {
	token := e.issue("sig", []string{modelkeep.RoleAuditor})
	parts := strings.Split(token, ".")
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	sig[0] ^= 1
	for _, bad := range []string{
		parts[0] + "." + parts[1] + "." + parts[2][:len(parts[2])-1],
		parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig),
	} {
		resp := e.as(bad).do("GET", "/api/v1/models", nil)
		e.on(t).expectError(resp, http.StatusUnauthorized, "unauthenticated", "invalid signature")
	}
}
