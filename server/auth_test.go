package server_test

import (
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api"
)

// TestAuthStory is the fresh-install story: an admin issues a publisher
// token scoped to fraud-*; it can push fraud-detector, gets 403 on
// churn-model, and once revoked its next call is 401.
func TestAuthStory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, admin *env) {
		admin.mustCreateModel("churn-model")

		var issued struct {
			ID, Token, Subject string
			Roles, Models      []string
		}
		admin.expect(admin.do("POST", "/api/v1/tokens", map[string]any{
			"subject": "ci-fraud-training", "roles": []string{"publisher"}, "models": []string{"fraud-*"}, "expires_in": "720h",
		}), http.StatusCreated, &issued)
		if issued.Token == "" || issued.ID == "" || issued.Subject != "ci-fraud-training" || fmt.Sprint(issued.Models) != "[fraud-*]" {
			t.Fatalf("issued = %+v", issued)
		}

		pub := admin.as(issued.Token)
		pub.mustCreateModel("fraud-detector")
		n := pub.mustCreateVersion("fraud-detector")
		base := fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d", n)
		pub.expect(pub.do("PUT", base+"/files/model.bin", []byte("weights")), http.StatusCreated, nil)
		var v struct {
			Status    string
			CreatedBy string `json:"created_by"`
		}
		pub.expect(pub.do("POST", base+"/finalize", nil), http.StatusOK, &v)
		if v.Status != "ready" || v.CreatedBy != "ci-fraud-training" {
			t.Fatalf("finalized = %+v", v)
		}

		// The scope is judged on the model as the handlers see it,
		// whatever the escaping of the path.
		pub.expect(pub.do("GET", "/api/v1/models/fraud%2Ddetector", nil), http.StatusOK, nil)
		pub.expectError(pub.do("GET", "/api/v1/models/churn%2Dmodel", nil), http.StatusForbidden, "forbidden", "churn-model")
		pub.expectError(pub.do("POST", "/api/v1/models", map[string]any{"name": "churn-model-2"}), http.StatusForbidden, "forbidden", "churn-model-2")
		pub.expectError(pub.do("GET", "/api/v1/models/churn-model", nil), http.StatusForbidden, "forbidden", "churn-model")
		pub.expectError(pub.do("POST", "/api/v1/models/churn-model/versions", map[string]any{}), http.StatusForbidden, "forbidden", "churn-model")
		var l struct{ Models []struct{ Name string } }
		pub.expect(pub.do("GET", "/api/v1/models", nil), http.StatusOK, &l)
		if len(l.Models) != 1 || l.Models[0].Name != "fraud-detector" {
			t.Fatalf("the scoped token lists %+v", l.Models)
		}
		// A deployer downloads released versions only (ready, and in
		// staging or production: see TestPromotionStory).
		dep := admin.as(admin.issue("deploy-pipeline", []string{"deployer"}))
		pending := pub.mustCreateVersion("fraud-detector")
		pub.expect(pub.do("PUT", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/files/w.bin", pending), []byte("w")), http.StatusCreated, nil)
		dep.expectError(dep.do("GET", base+"/files/model.bin", nil), http.StatusForbidden, "forbidden", "stage")
		dep.expectError(dep.do("GET", fmt.Sprintf("/api/v1/models/fraud-detector/versions/%d/files/w.bin", pending), nil), http.StatusForbidden, "forbidden", "ready")
		dep.expectError(dep.do("PUT", base+"/files/x.bin", []byte("x")), http.StatusForbidden, "forbidden", "")

		// A publisher cannot issue tokens.
		pub.expectError(pub.do("GET", "/api/v1/tokens", nil), http.StatusForbidden, "forbidden", "")

		// Listing never shows secrets.
		var tl struct {
			Tokens []map[string]any
		}
		admin.expect(admin.do("GET", "/api/v1/tokens", nil), http.StatusOK, &tl)
		if len(tl.Tokens) != 3 {
			t.Fatalf("tokens listed: %v", tl.Tokens)
		}
		for _, tok := range tl.Tokens {
			if _, ok := tok["token"]; ok {
				t.Fatalf("listing shows a secret: %v", tok)
			}
		}

		admin.expect(admin.do("DELETE", "/api/v1/tokens/"+issued.ID, nil), http.StatusNoContent, nil)
		resp := pub.do("GET", "/api/v1/models/fraud-detector", nil)
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Error("401 without WWW-Authenticate")
		}
		pub.expectError(resp, http.StatusUnauthorized, "unauthenticated", "revoked")
		admin.expect(admin.do("DELETE", "/api/v1/tokens/"+issued.ID, nil), http.StatusNoContent, nil) // idempotent
		admin.expectError(admin.do("DELETE", "/api/v1/tokens/"+strings.Repeat("0", 32), nil), http.StatusNotFound, "not_found", "")
		admin.expect(admin.do("GET", "/api/v1/tokens", nil), http.StatusOK, &tl)
		if len(tl.Tokens) != 2 {
			t.Fatalf("revoked token still listed by default: %v", tl.Tokens)
		}
		admin.expect(admin.do("GET", "/api/v1/tokens?include_revoked=true&page_size=1", nil), http.StatusOK, &tl)
		if len(tl.Tokens) != 1 {
			t.Fatalf("page of 1: %v", tl.Tokens)
		}

		// Bad token requests are 400, not 500.
		for _, body := range []map[string]any{
			{"subject": "x", "roles": []string{"root"}},
			{"subject": "x", "roles": []string{}},
			{"subject": "", "roles": []string{"auditor"}},
			{"subject": "x", "roles": []string{"auditor"}, "expires_in": "forever"},
			{"subject": "x", "roles": []string{"auditor"}, "expires_in": "1000000h"},
			{"subject": "x", "roles": []string{"auditor"}, "models": []string{"Fraud/*"}},
		} {
			admin.expectError(admin.do("POST", "/api/v1/tokens", body), http.StatusBadRequest, "invalid_argument", "")
		}
	})
}

// TestRoleMatrix walks every operation of openapi.yaml: each role its
// x-roles allow gets past authorisation, every other role gets 403, and a
// request without a token gets 401.
func TestRoleMatrix(t *testing.T) {
	// Each operation is also called without a token: more requests than
	// the address's budget holds (ratelimit.go; TestRateLimits tests it).
	forEachBackendFlags(t, []string{"--rate-limit-per-address", "0"}, func(t *testing.T, admin *env) {
		admin.mustCreateModel("m")
		n := admin.mustCreateVersion("m")
		admin.expect(admin.do("PUT", fmt.Sprintf("/api/v1/models/m/versions/%d/files/f.bin", n), []byte("x")), http.StatusCreated, nil)
		admin.expect(admin.do("POST", fmt.Sprintf("/api/v1/models/m/versions/%d/finalize", n), nil), http.StatusOK, nil)
		// Released to staging, so that deployers may pull it.
		admin.requestTransition("m", n, "staging")
		admin.expect(admin.do("PUT", "/api/v1/models/m/aliases/champion", map[string]any{"version": n}), http.StatusOK, nil)
		fixturePub := admin.as(admin.issue("fixture-publisher", []string{"publisher"}))
		// pendingTransition makes a transition into production that any
		// approver other than its requester may decide.
		pendingTransition := func() string {
			v := admin.readyVersion("m", map[string]any{})
			return fixturePub.requestTransition("m", v, "production").ID
		}
		tokens := map[string]string{}
		for _, r := range modelkeep.Roles {
			tokens[r] = admin.issue("matrix-"+r, []string{r})
		}

		doc, err := api.LoadSpec()
		if err != nil {
			t.Fatal(err)
		}
		type op struct{ id, method, path string }
		var ops []op
		allowed := map[string][]string{}
		public := map[string]bool{}
		for path, item := range doc.Paths.Map() {
			for method, o := range item.Operations() {
				ops = append(ops, op{o.OperationID, method, path})
				if o.Security != nil && len(*o.Security) == 0 {
					public[o.OperationID] = true
					continue
				}
				for _, r := range o.Extensions["x-roles"].([]any) {
					allowed[o.OperationID] = append(allowed[o.OperationID], r.(string))
				}
			}
		}
		sort.Slice(ops, func(i, j int) bool { return ops[i].id < ops[j].id })

		// request builds a request for an operation; destructive ones get
		// a fixture of their own each time.
		seq := 0
		request := func(o op) (string, any) {
			seq++
			path := strings.NewReplacer("{model}", "m", "{version}", "1", "{path}", "f.bin",
				"{stage}", "staging", "{alias}", "champion").Replace(o.path)
			var body any
			switch o.id {
			case "requestTransition":
				body = map[string]any{"to": "production"}
			case "approveTransition", "rejectTransition":
				path = strings.Replace(path, "{id}", pendingTransition(), 1)
				body = map[string]any{"comment": "decided by the matrix"}
			case "getTransition":
				path = strings.Replace(path, "{id}", pendingTransition(), 1)
			case "putPolicy":
				body = map[string]any{"required_approvals": 1}
			case "setAlias":
				body = map[string]any{"version": 1}
			case "deleteAlias":
				name := fmt.Sprintf("del-%d", seq)
				admin.expect(admin.do("PUT", "/api/v1/models/m/aliases/"+name, map[string]any{"version": 1}), http.StatusOK, nil)
				path = strings.Replace(path, "/champion", "/"+name, 1)
			case "recordDeployment":
				body = map[string]any{"environment": "prod-eu", "strategy": "direct"}
			case "logMetrics":
				body = map[string]any{"metrics": []map[string]any{{"key": "auc", "value": 0.9}}}
			case "createModel":
				body = map[string]any{"name": fmt.Sprintf("new-%d", seq)}
			case "updateModel":
				body = map[string]any{"description": "changed"}
			case "deleteModel":
				name := fmt.Sprintf("del-%d", seq)
				admin.mustCreateModel(name)
				path = "/api/v1/models/" + name
			case "createVersion":
				body = map[string]any{}
			case "finalizeVersion", "uploadFile":
				v := admin.mustCreateVersion("m")
				path = strings.Replace(path, "/versions/1", fmt.Sprintf("/versions/%d", v), 1)
				if o.id == "finalizeVersion" {
					admin.expect(admin.do("PUT", path[:strings.LastIndex(path, "/")]+"/files/g.bin", []byte("x")), http.StatusCreated, nil)
				} else {
					body = []byte("payload")
				}
			case "createToken":
				body = map[string]any{"subject": "made-by-matrix", "roles": []string{"auditor"}}
			case "revokeToken":
				id, _ := admin.issueWithID("to-revoke", []string{"auditor"})
				path = "/api/v1/tokens/" + id
			case "createDataset":
				body = map[string]any{"name": fmt.Sprintf("ds-%d", seq), "version": "1"}
			case "getDataset":
				admin.do("POST", "/api/v1/datasets", map[string]any{"name": "matrix-ds", "version": "1"}).Body.Close()
				path = strings.Replace(path, "{name}", "matrix-ds", 1)
			case "getRun":
				admin.expect(admin.do("POST", "/api/v1/models/m/versions", map[string]any{"source": map[string]any{"run_id": "matrix-run"}}), http.StatusCreated, nil)
				path = strings.Replace(path, "{run_id}", "matrix-run", 1)
			case "compareMetrics":
				path += "?key=auc"
			}
			return path, body
		}

		sessionOnly := map[string]bool{"getSession": true, "deleteSession": true}
		for _, o := range ops {
			t.Run(o.id, func(t *testing.T) {
				for _, role := range modelkeep.Roles {
					path, body := request(o)
					var resp *http.Response
					if sessionOnly[o.id] {
						// They act on the session of the cookie: a bearer
						// request has none (401), so each role signs in.
						resp = admin.login(tokens[role]).change(o.method, path, body)
					} else {
						resp = admin.as(tokens[role]).do(o.method, path, body)
					}
					resp.Body.Close()
					ok := public[o.id] || slices.Contains(allowed[o.id], role)
					switch {
					case ok && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden):
						t.Errorf("%s as %s: %d, want it allowed", o.id, role, resp.StatusCode)
					case ok && resp.StatusCode >= 500:
						t.Errorf("%s as %s: %d", o.id, role, resp.StatusCode)
					case !ok && resp.StatusCode != http.StatusForbidden:
						t.Errorf("%s as %s: %d, want 403", o.id, role, resp.StatusCode)
					}
				}
				path, body := request(o)
				resp := admin.as("").do(o.method, path, body)
				resp.Body.Close()
				if public[o.id] && resp.StatusCode == http.StatusUnauthorized {
					t.Errorf("public %s without a token: 401", o.id)
				}
				if !public[o.id] && resp.StatusCode != http.StatusUnauthorized {
					t.Errorf("%s without a token: %d, want 401", o.id, resp.StatusCode)
				}
			})
		}
		if !slices.Contains(allowed["createModel"], "publisher") || slices.Contains(allowed["createToken"], "publisher") {
			t.Fatal("the matrix did not read x-roles")
		}
	})
}
