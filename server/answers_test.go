package server_test

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api"
)

// The answers every operation may give besides its own, as openapi.yaml's
// info says: each operation must declare them, with the shared response.
var universalAnswers = []struct {
	status string
	ref    string
	// applies says which operations give it (nil: all).
	applies func(path string, op *openapi3.Operation) bool
}{
	{"500", "#/components/responses/InternalError", nil},
	{"503", "#/components/responses/Unavailable", nil},
	{"401", "#/components/responses/Unauthorized", secured},
	{"403", "#/components/responses/Forbidden", secured},
	{"400", "#/components/responses/BadRequest", takesInput},
	{"429", "#/components/responses/TooManyRequests", budgeted},
}

// budgeted: the operation's requests spend a budget (ratelimit.go): all but
// the service endpoints monitoring calls.
func budgeted(path string, _ *openapi3.Operation) bool {
	return !slices.Contains([]string{"/healthz", "/readyz", "/metrics"}, path)
}

// secured: the operation needs a token (or session).
func secured(_ string, op *openapi3.Operation) bool {
	return op.Security == nil || len(*op.Security) > 0
}

// takesInput: the operation reads parameters or a body, which can be
// invalid.
func takesInput(path string, op *openapi3.Operation) bool {
	return len(op.Parameters) > 0 || op.RequestBody != nil || strings.Contains(path, "{")
}

// TestEveryOperationDeclaresTheUniversalAnswers walks openapi.yaml: every
// operation declares the answers any operation may give (500, 503; 401 and
// 403 when it needs a token; 400 when it reads input), with the shared
// responses, so that clients and generated code know them all.
func TestEveryOperationDeclaresTheUniversalAnswers(t *testing.T) {
	doc, err := api.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"InternalError", "Unavailable", "MethodNotAllowed", "TooManyRequests"} {
		r := doc.Components.Responses[name]
		if r == nil || r.Value.Content.Get("application/json") == nil {
			t.Errorf("components.responses.%s: missing, or without the JSON error body", name)
		}
	}
	if r := doc.Components.Responses["MethodNotAllowed"]; r != nil && r.Value.Headers["Allow"] == nil {
		t.Errorf("components.responses.MethodNotAllowed does not declare Allow")
	}
	if r := doc.Components.Responses["TooManyRequests"]; r != nil {
		for _, h := range []string{"Retry-After", "RateLimit", "RateLimit-Policy"} {
			if r.Value.Headers[h] == nil {
				t.Errorf("components.responses.TooManyRequests does not declare %s", h)
			}
		}
	}
	// The error codes the server answers are the contract's.
	codes := doc.Components.Schemas["Error"].Value.Properties["error"].Value.Properties["code"].Value.Enum
	for _, k := range modelkeep.ErrorKinds {
		if !slices.Contains(codes, any(k.Code)) {
			t.Errorf("error code %q (modelkeep.ErrorKinds) is not in the Error schema's enum", k.Code)
		}
	}
	n := 0
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			n++
			for _, u := range universalAnswers {
				if u.applies != nil && !u.applies(path, op) {
					continue
				}
				r := op.Responses.Value(u.status)
				switch {
				case r == nil:
					t.Errorf("%s %s (%s) does not declare %s", method, path, op.OperationID, u.status)
				case r.Ref != u.ref && u.status != "503":
					// 503 of /readyz has its own body (which check is down).
					t.Errorf("%s %s (%s): %s is %q, want the shared %s", method, path, op.OperationID, u.status, r.Ref, u.ref)
				}
			}
		}
	}
	if n == 0 {
		t.Fatal("no operations in openapi.yaml")
	}
}

// samplePath fills a path of openapi.yaml with values its parameters
// accept (the resources need not exist: routing does not look).
func samplePath(path string) string {
	r := strings.NewReplacer(
		"{model}", "m", "{version}", "1", "{path}", "dir/file.bin", "{id}", strings.Repeat("0", 32),
		"{alias}", "prod", "{stage}", "production", "{row_id}", "A9-1", "{seq}", "1", "{name}", "d", "{run_id}", "r",
	)
	return r.Replace(path)
}

// TestMethodNotAllowed: every path of openapi.yaml answers a method it does
// not list with 405, the error body and Allow naming its methods; OPTIONS
// with 204 and the same Allow; HEAD with 405 where no operation lists it. (The contract check of every
// test validates these answers against the MethodNotAllowed response.)
func TestMethodNotAllowed(t *testing.T) {
	doc, err := api.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	// Requests the router refuses spend the address's budget (ratelimit.go):
	// this test sends more of them than it holds.
	forEachBackendFlags(t, []string{"--rate-limit-per-address", "0"}, func(t *testing.T, e *env) {
		paths := doc.Paths.InMatchingOrder()
		sort.Strings(paths)
		for _, path := range paths {
			item := doc.Paths.Value(path)
			listed := []string{http.MethodOptions}
			for method := range item.Operations() {
				listed = append(listed, method)
			}
			sort.Strings(listed)
			other := ""
			for _, m := range []string{http.MethodDelete, http.MethodPatch, http.MethodPut, http.MethodPost, http.MethodGet} {
				if !slices.Contains(listed, m) {
					other = m
					break
				}
			}
			target := samplePath(path)
			for _, method := range []string{other, http.MethodHead, http.MethodOptions} {
				if slices.Contains(listed, method) {
					continue // HEAD of a file: an operation (TestLifecycle)
				}
				resp := e.do(method, target, nil)
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				want := http.StatusMethodNotAllowed
				if method == http.MethodOptions {
					want = http.StatusNoContent
				}
				if resp.StatusCode != want {
					t.Errorf("%s %s: %d, want %d; body %s", method, target, resp.StatusCode, want, body)
					continue
				}
				var got []string
				for m := range strings.SplitSeq(resp.Header.Get("Allow"), ",") {
					got = append(got, strings.TrimSpace(m))
				}
				sort.Strings(got)
				if !slices.Equal(got, listed) {
					t.Errorf("%s %s: Allow %q, want %v", method, target, resp.Header.Get("Allow"), listed)
				}
				if method != http.MethodOptions && method != http.MethodHead && !strings.Contains(string(body), `"code":"method_not_allowed"`) {
					t.Errorf("%s %s: body %s, want the error body with code method_not_allowed", method, target, body)
				}
			}
		}
		// A path outside the contract: 404, the error body.
		e.expectError(e.do("GET", "/api/v1/no-such-thing", nil), http.StatusNotFound, "not_found", "")
	})
}

// TestFilePathsWithSlashes: a file path with '/' may be sent with literal
// slashes or percent-encoded (%2F) as one segment, as generic tools that
// read {path} as one segment send it; both name the same file, on upload
// and download alike, and the rules on paths hold in both forms.
func TestFilePathsWithSlashes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.mustCreateModel("paths")
		n := e.mustCreateVersion("paths")
		base := fmt.Sprintf("/api/v1/models/paths/versions/%d/files/", n)
		for _, tc := range []struct {
			upload, download, path string
		}{
			{"weights/model.bin", "weights%2Fmodel.bin", "weights/model.bin"},
			{"tok%2Fvocab%2Fen.json", "tok/vocab/en.json", "tok/vocab/en.json"},
			{"a%2Fb/c.txt", "a/b%2Fc.txt", "a/b/c.txt"},
			{"my%20dir%2Fread%20me.md", "my%20dir/read%20me.md", "my dir/read me.md"},
			{"lit%252Fslash.txt", "lit%252Fslash.txt", "lit%2Fslash.txt"},
		} {
			body := []byte("content of " + tc.path)
			var f struct {
				Path   string
				SHA256 string
			}
			e.expect(e.do("PUT", base+tc.upload, body), http.StatusCreated, &f)
			if f.Path != tc.path || f.SHA256 != sha256Hex(body) {
				t.Errorf("PUT %s: stored %+v, want path %q", tc.upload, f, tc.path)
			}
			for _, form := range []string{tc.upload, tc.download} {
				resp := e.do("GET", base+form, nil)
				got, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || string(got) != string(body) {
					t.Errorf("GET %s: status %d, body %q", form, resp.StatusCode, got)
				}
				last := tc.path[strings.LastIndex(tc.path, "/")+1:]
				if cd := resp.Header.Get("Content-Disposition"); !strings.Contains(cd, fmt.Sprintf("%q", last)) {
					t.Errorf("GET %s: Content-Disposition %q, want the file name %q", form, cd, last)
				}
			}
		}
		var list struct {
			Files []struct{ Path string }
		}
		e.expect(e.do("GET", fmt.Sprintf("/api/v1/models/paths/versions/%d/files", n), nil), http.StatusOK, &list)
		var paths []string
		for _, f := range list.Files {
			paths = append(paths, f.Path)
		}
		if want := []string{"a/b/c.txt", "lit%2Fslash.txt", "my dir/read me.md", "tok/vocab/en.json", "weights/model.bin"}; !slices.Equal(paths, want) {
			t.Errorf("files %v, want %v", paths, want)
		}
		// The rules on paths hold whichever form hides them.
		for _, bad := range []struct{ path, says string }{
			{"a%2F%2Fb", "empty segment"},
			{"a//b", "empty segment"},
			{"%2E%2E%2Fescape", `".." segment`},
			{"x%2F..%2Fy", `".." segment`},
			{"%2Fabsolute", "absolute"},
			{"back%5Cslash", "backslash"},
		} {
			e.expectError(e.do("PUT", base+bad.path, []byte("x")), http.StatusBadRequest, "invalid_argument", bad.says)
		}
		e.expectError(e.do("GET", base+"weights%2Fnone.bin", nil), http.StatusNotFound, "not_found", "")
	})
}

// TestReferencedResourceNotFound: a body that names another resource that
// does not exist is a 400, as openapi.yaml says; 404 is for the path's own
// resource.
func TestReferencedResourceNotFound(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.mustCreateModel("child")
		e.expectError(e.do("POST", "/api/v1/models/nope/versions", map[string]any{}), http.StatusNotFound, "not_found", `"nope"`)
		e.expectError(e.do("POST", "/api/v1/models/child/versions", map[string]any{"parent": map[string]any{"model": "nope", "version": 1}}),
			http.StatusBadRequest, "invalid_argument", "parent version nope/1 does not exist")
		e.expectError(e.do("POST", "/api/v1/models/child/versions", map[string]any{"parent": map[string]any{"model": "child", "version": 7}}),
			http.StatusBadRequest, "invalid_argument", "parent version child/7 does not exist")
		// Not the version being created (child has none yet: this is 1).
		e.expectError(e.do("POST", "/api/v1/models/child/versions", map[string]any{"parent": map[string]any{"model": "child", "version": 1}}),
			http.StatusBadRequest, "invalid_argument", "parent version child/1 does not exist")
		e.expectError(e.do("POST", "/api/v1/runs", map[string]any{"run_id": "eval-1", "kind": "evaluation", "subject": map[string]any{"model": "child", "version": 9}}),
			http.StatusBadRequest, "invalid_argument", "subject: version child/9 does not exist")
		e.expectError(e.do("POST", "/api/v1/runs", map[string]any{"run_id": "mon-1", "kind": "monitoring", "deployment_id": strings.Repeat("0", 32)}),
			http.StatusBadRequest, "invalid_argument", "does not exist")
	})
}
