package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/api"
)

// refusedToken is the whole message of a 400 for a page token that is not
// the listing's own.
const refusedToken = "page_token belongs to another listing or was not made by this server; leave it out to start from the first page"

// pagedOperation is an operation of openapi.yaml with a page_token
// parameter.
type pagedOperation struct {
	id, method, path string
	params           []string // "query:name" and "path:name", page_size and page_token excepted
}

// pagedOperations reads the list operations from openapi.yaml: every
// operation with a page_token parameter, so that a new list is tested
// without anyone remembering to.
func pagedOperations(t *testing.T) []pagedOperation {
	t.Helper()
	doc, err := api.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	var ops []pagedOperation
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			paged := false
			var params []string
			for _, p := range slices.Concat(item.Parameters, op.Parameters) {
				switch name := p.Value.Name; {
				case name == "page_token":
					paged = true
				case name != "page_size":
					params = append(params, p.Value.In+":"+name)
				}
			}
			if paged {
				sort.Strings(params)
				ops = append(ops, pagedOperation{id: op.OperationID, method: method, path: path, params: params})
			}
		}
	}
	slices.SortFunc(ops, func(a, b pagedOperation) int { return strings.Compare(a.id, b.id) })
	return ops
}

// listingRequest is a GET of one listing: its path (path parameters
// filled) and query (page_size and page_token are added).
type listingRequest struct {
	path  string
	query url.Values
}

func (r listingRequest) url(pageSize int, token string) string {
	q := url.Values{}
	maps.Copy(q, r.query)
	if pageSize > 0 {
		q.Set("page_size", fmt.Sprint(pageSize))
	}
	if token != "" {
		q.Set("page_token", token)
	}
	if len(q) == 0 {
		return r.path
	}
	return r.path + "?" + q.Encode()
}

// with is r with query parameter k set to v.
func (r listingRequest) with(k, v string) listingRequest {
	q := url.Values{}
	maps.Copy(q, r.query)
	q.Set(k, v)
	return listingRequest{path: r.path, query: q}
}

// listingCase is how the test exercises one list operation.
type listingCase struct {
	// base is a listing of at least two items (after the seeding).
	base listingRequest
	// others holds, for every parameter of the operation ("query:name",
	// "path:name"), another listing of the operation that differs from
	// base in that parameter: base's token is refused there.
	others map[string]listingRequest
	// ignored holds the parameters that select nothing (they only add to
	// each item), with the reason: base's token is accepted there.
	ignored map[string]string
	// same are other spellings of base's listing: its token is accepted.
	same []listingRequest
}

func req(path string, kv ...string) listingRequest {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return listingRequest{path: path, query: q}
}

// listingCases are the cases of every list operation; TestPageTokensBound
// fails for an operation of openapi.yaml that has none, or a parameter a
// case does not cover.
func listingCases() map[string]listingCase {
	models := req("/api/v1/models")
	versions := req("/api/v1/models/alpha/versions")
	transitions := req("/api/v1/transitions")
	metrics := req("/api/v1/models/alpha/versions/1/metrics")
	runs := req("/api/v1/runs", "model", "alpha", "version", "1")
	compare := req("/api/v1/models/alpha/metrics", "key", "auc")
	audit := req("/api/v1/audit")
	return map[string]listingCase{
		"listModels": {base: models, others: map[string]listingRequest{
			"query:q":        models.with("q", "a"),
			"query:tag":      models.with("tag", "team:risk"),
			"query:filter":   models.with("filter", `name != "zz"`),
			"query:order_by": models.with("order_by", "created_at"),
		}, same: []listingRequest{models.with("order_by", "name"), models.with("order_by", "name ASC")}},
		"listVersions": {base: versions, others: map[string]listingRequest{
			"path:model":     req("/api/v1/models/beta/versions"),
			"query:stage":    versions.with("stage", "staging"),
			"query:status":   versions.with("status", "ready"),
			"query:filter":   versions.with("filter", "version >= 1"),
			"query:order_by": versions.with("order_by", "created_at DESC"),
		}, same: []listingRequest{versions.with("order_by", "version DESC"), versions.with("order_by", "version desc")}},
		"listTokens": {base: req("/api/v1/tokens"), others: map[string]listingRequest{
			"query:include_revoked": req("/api/v1/tokens", "include_revoked", "true"),
		}, same: []listingRequest{req("/api/v1/tokens", "include_revoked", "false")}},
		"listTransitions": {base: transitions, others: map[string]listingRequest{
			"query:model":  transitions.with("model", "alpha"),
			"query:status": transitions.with("status", "approved"),
		}, ignored: map[string]string{
			"query:review": "it adds each pending transition's review",
		}, same: []listingRequest{transitions.with("review", "true")}},
		"listDeployments": {base: req("/api/v1/deployments"), others: map[string]listingRequest{
			"query:environment": req("/api/v1/deployments", "environment", "prod-eu"),
			"query:model":       req("/api/v1/deployments", "model", "alpha"),
			"query:at":          req("/api/v1/deployments", "at", time.Now().UTC().Add(time.Hour).Format(time.RFC3339)),
		}},
		"listMetrics": {base: metrics, others: map[string]listingRequest{
			"path:model":   req("/api/v1/models/beta/versions/1/metrics"),
			"path:version": req("/api/v1/models/alpha/versions/2/metrics"),
			"query:key":    metrics.with("key", "auc"),
		}},
		"listDatasets": {base: req("/api/v1/datasets"), others: map[string]listingRequest{
			"query:name": req("/api/v1/datasets", "name", "tx"),
		}},
		"getDataset": {base: req("/api/v1/datasets/tx/versions/1"), others: map[string]listingRequest{
			"path:name":    req("/api/v1/datasets/other/versions/1"),
			"path:version": req("/api/v1/datasets/tx/versions/2"),
		}},
		"listRuns": {base: runs, others: map[string]listingRequest{
			"query:kind":    runs.with("kind", "evaluation"),
			"query:model":   runs.with("model", "beta"),
			"query:version": runs.with("version", "2"),
		}},
		"compareMetrics": {base: compare, others: map[string]listingRequest{
			"path:model":      req("/api/v1/models/beta/metrics", "key", "auc"),
			"query:key":       compare.with("key", "loss"),
			"query:dataset":   compare.with("dataset", "holdout"),
			"query:split":     compare.with("split", "test"),
			"query:aggregate": compare.with("aggregate", "max"),
		}, same: []listingRequest{compare.with("aggregate", "last")}},
		"listAuditEvents": {base: audit, others: map[string]listingRequest{
			"query:actor":    audit.with("actor", "test-admin"),
			"query:action":   audit.with("action", "model.create"),
			"query:resource": audit.with("resource", "models/alpha"),
			"query:outcome":  audit.with("outcome", "success"),
			"query:since":    audit.with("since", "2020-01-01T00:00:00Z"),
			"query:until":    audit.with("until", "2100-01-01T00:00:00Z"),
			"query:order":    audit.with("order", "asc"),
		}, same: []listingRequest{audit.with("order", "desc")}},
		"listAuditCheckpoints": {base: req("/api/v1/audit/checkpoints")},
		"listUploads": {base: req("/api/v1/models/alpha/versions/3/uploads"), others: map[string]listingRequest{
			"path:model":   req("/api/v1/models/beta/versions/2/uploads"),
			"path:version": req("/api/v1/models/alpha/versions/4/uploads"),
			"query:status": req("/api/v1/models/alpha/versions/3/uploads", "status", "open"),
		}},
		"listDocuments": {base: req("/api/v1/documents"), others: map[string]listingRequest{
			"query:kind": req("/api/v1/documents", "kind", "test_report"),
		}},
	}
}

// seedListings gives every base listing of listingCases two items or more.
func seedListings(t *testing.T, e *env) {
	t.Helper()
	e.expect(e.do("POST", "/api/v1/models", map[string]any{"name": "alpha", "tags": map[string]string{"team": "risk"}}), http.StatusCreated, nil)
	e.mustCreateModel("beta")
	e.expect(e.do("POST", "/api/v1/audit/checkpoints", nil), http.StatusCreated, nil)
	uses := map[string]any{"datasets": []map[string]any{{"name": "tx", "version": "1", "role": "training"}}}
	for range 2 {
		e.readyVersion("alpha", uses)
	}
	e.readyVersion("beta", uses)
	e.expect(e.do("POST", "/api/v1/datasets", map[string]any{"name": "tx", "version": "2"}), http.StatusCreated, nil)
	e.expect(e.do("POST", "/api/v1/datasets", map[string]any{"name": "other", "version": "1"}), http.StatusCreated, nil)
	for _, v := range []string{"alpha/versions/1", "alpha/versions/2", "beta/versions/1"} {
		var points []map[string]any
		for step, key := range []string{"auc", "auc", "loss"} {
			points = append(points, map[string]any{"key": key, "value": 0.5, "step": step, "dataset": "holdout", "split": "test"})
		}
		e.expect(e.do("POST", "/api/v1/models/"+v+"/metrics", map[string]any{"metrics": points}), http.StatusCreated, nil)
	}
	for v := range 2 {
		e.requestTransition("alpha", v+1, "staging") // direct for an admin
	}
	for _, env := range []string{"prod-eu", "prod-us"} {
		e.expect(e.do("POST", "/api/v1/models/alpha/versions/1/deployments",
			map[string]any{"environment": env, "strategy": "direct"}), http.StatusCreated, nil)
	}
	for i := range 2 {
		e.expect(e.do("POST", "/api/v1/runs", map[string]any{"run_id": fmt.Sprint("eval-", i), "kind": "evaluation",
			"subject": map[string]any{"model": "alpha", "version": 1}}), http.StatusCreated, nil)
	}
	for i := range 2 {
		e.uploadDocument("test_report", fmt.Sprint("Report ", i), "1", []byte(fmt.Sprint("report ", i)))
	}
	// Pending versions with upload sessions: alpha 3 and 4, beta 2.
	for _, model := range []string{"alpha", "alpha", "beta"} {
		v := e.mustCreateVersion(model)
		for _, path := range []string{"a.bin", "b.bin", "c.bin"} {
			e.expect(e.do("POST", fmt.Sprintf("/api/v1/models/%s/versions/%d/uploads", model, v), map[string]any{"path": path, "size": 10}),
				http.StatusCreated, nil)
		}
	}
	e.issue("reader", []string{"auditor"})
	e.expect(e.do("POST", "/api/v1/audit/checkpoints", nil), http.StatusCreated, nil)
}

// get reads a listing and returns its body and next_page_token.
func (e *env) getPage(url string) ([]byte, string) {
	e.t.Helper()
	resp := e.do("GET", url, nil)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("GET %s: status %d; body %s", url, resp.StatusCode, body)
	}
	var page struct {
		Next *string `json:"next_page_token"`
	}
	if err := json.Unmarshal(body, &page); err != nil || page.Next == nil {
		e.t.Fatalf("GET %s: no next_page_token in %s (%v)", url, body, err)
	}
	return body, *page.Next
}

// expectRefusedToken checks that a request was answered 400
// invalid_argument with the page token message, and nothing else.
func (e *env) expectRefusedToken(url string) {
	e.t.Helper()
	resp := e.do("GET", url, nil)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	if resp.StatusCode != http.StatusBadRequest {
		e.t.Errorf("GET %s: status %d, want 400; body %s", url, resp.StatusCode, body)
		return
	}
	var answer map[string]json.RawMessage
	var msg struct{ Code, Message string }
	if json.Unmarshal(body, &answer) != nil || len(answer) != 1 || json.Unmarshal(answer["error"], &msg) != nil ||
		msg.Code != "invalid_argument" || msg.Message != refusedToken {
		e.t.Errorf("GET %s: body %s, want only the error invalid_argument %q", url, body, refusedToken)
	}
}

// TestPageTokensBound: on every list operation of openapi.yaml, a page
// token continues only the listing that made it. A real token works; a
// forged one (the unsigned JSON tokens of old, or any made-up one), a token
// with one byte changed, the token of any other list operation and the
// operation's own token with another value of any parameter are all 400
// invalid_argument, and nothing else is answered. Other spellings of the
// same listing, another page size and parameters that select nothing keep
// the token.
func TestPageTokensBound(t *testing.T) {
	ops := pagedOperations(t)
	cases := listingCases()
	for _, op := range ops {
		c, ok := cases[op.id]
		if !ok {
			t.Errorf("%s %s (%s) has a page_token and no case in listingCases: add one", op.method, op.path, op.id)
			continue
		}
		covered := slices.Sorted(func(yield func(string) bool) {
			for k := range c.others {
				yield(k)
			}
			for k := range c.ignored {
				yield(k)
			}
		})
		if !slices.Equal(covered, op.params) {
			t.Errorf("%s: parameters %v, its case covers %v: every parameter needs another listing (others) or a reason (ignored)", op.id, op.params, covered)
		}
		if op.method != http.MethodGet {
			t.Errorf("%s is %s, the test reads lists with GET", op.id, op.method)
		}
	}
	for id := range cases {
		if !slices.ContainsFunc(ops, func(op pagedOperation) bool { return op.id == id }) {
			t.Errorf("listingCases has %s, which is no list operation of openapi.yaml", id)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	forEachBackend(t, func(t *testing.T, e *env) {
		seedListings(t, e)
		tokens := map[string]string{} // operationId -> a real next token of its base listing
		for _, op := range ops {
			c := cases[op.id]
			first, next := e.on(t).getPage(c.base.url(1, ""))
			if next == "" {
				t.Fatalf("%s: no next page of %s with page_size 1: seed more", op.id, c.base.url(1, ""))
			}
			tokens[op.id] = next
			second, _ := e.on(t).getPage(c.base.url(1, next))
			if bytes.Equal(first, second) {
				t.Errorf("%s: the second page is the first: %s", op.id, first)
			}
		}

		for _, op := range ops {
			t.Run(op.id, func(t *testing.T) {
				e := e.on(t)
				c := cases[op.id]
				tok := tokens[op.id]
				raw, err := base64.RawURLEncoding.DecodeString(tok)
				if err != nil || len(raw) < 18 {
					t.Fatalf("token %q: %v", tok, err)
				}
				b64 := base64.RawURLEncoding.EncodeToString

				// The same listing: another page size, another spelling,
				// parameters that select nothing.
				e.getPage(c.base.url(0, tok))
				e.getPage(c.base.url(7, tok))
				for _, same := range c.same {
					e.getPage(same.url(1, tok))
				}

				t.Run("forged", func(t *testing.T) {
					e := e.on(t)
					for _, forged := range []string{
						b64([]byte(`{"v":999}`)),
						b64([]byte(`{}`)),
						b64(raw[1 : len(raw)-16]), // the cursor, unsigned, as tokens were
						b64(raw[:len(raw)-16]),    // without the tag
						"bm90IGEgdG9rZW4",
						"%25%25",
					} {
						e.expectRefusedToken(c.base.url(1, forged))
					}
				})
				t.Run("one byte changed", func(t *testing.T) {
					e := e.on(t)
					for _, i := range []int{0, 1, len(raw) / 2, len(raw) - 17, len(raw) - 16, len(raw) - 1} {
						changed := bytes.Clone(raw)
						changed[i] ^= 0x01
						e.expectRefusedToken(c.base.url(1, b64(changed)))
					}
				})
				t.Run("token of another operation", func(t *testing.T) {
					e := e.on(t)
					for _, other := range ops {
						if other.id != op.id {
							e.expectRefusedToken(c.base.url(1, tokens[other.id]))
						}
					}
				})
				t.Run("another listing of the operation", func(t *testing.T) {
					for _, param := range slices.Sorted(maps.Keys(c.others)) {
						t.Run(param, func(t *testing.T) {
							e := e.on(t)
							other := c.others[param]
							e.getPage(other.url(1, "")) // a listing of its own, without the token
							e.expectRefusedToken(other.url(1, tok))
						})
					}
				})
			})
		}
	})
}

// TestPageTokensAcrossReplicas: servers on one database share the page
// token key (made by the first to start), so each continues the other's
// pages; a server on another database refuses them.
func TestPageTokensAcrossReplicas(t *testing.T) {
	forEachBackendStores(t, func(t *testing.T, database, blobs string) {
		a := startEnv(t, database, blobs)
		b := startEnv(t, database, blobs)
		for _, m := range []string{"m1", "m2", "m3"} {
			a.mustCreateModel(m)
		}
		_, next := a.getPage("/api/v1/models?page_size=1")
		body, _ := b.getPage("/api/v1/models?page_size=1&page_token=" + url.QueryEscape(next))
		if !strings.Contains(string(body), `"m2"`) {
			t.Errorf("replica b's page after replica a's token: %s", body)
		}
		_, next = b.getPage("/api/v1/models?page_size=1&page_token=" + url.QueryEscape(next))
		body, _ = a.getPage("/api/v1/models?page_size=1&page_token=" + url.QueryEscape(next))
		if !strings.Contains(string(body), `"m3"`) {
			t.Errorf("replica a's page after replica b's token: %s", body)
		}

		otherDB, otherBlobs := t.TempDir(), t.TempDir()
		c := startEnv(t, "sqlite:"+otherDB+"/modelkeep.db", "file:"+otherBlobs)
		c.expectRefusedToken("/api/v1/models?page_size=1&page_token=" + url.QueryEscape(next))
	})
}
