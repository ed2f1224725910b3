package server_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/modelkeep/modelkeep/api"
)

// specOperation is one operation of openapi.yaml.
type specOperation struct {
	id, method, path string
	op               *openapi3.Operation
	item             *openapi3.PathItem
}

// jsonBody reports whether the operation takes a JSON request body.
func (o specOperation) jsonBody() bool {
	return o.op.RequestBody != nil && o.op.RequestBody.Value.Content["application/json"] != nil
}

// specOperations lists the /api/v1 operations of openapi.yaml, sorted by id.
func specOperations(t *testing.T) []specOperation {
	t.Helper()
	doc, err := api.LoadSpec()
	if err != nil {
		t.Fatal(err)
	}
	var ops []specOperation
	for path, item := range doc.Paths.Map() {
		if !strings.HasPrefix(path, "/api/v1/") {
			continue
		}
		for method, op := range item.Operations() {
			ops = append(ops, specOperation{id: op.OperationID, method: method, path: path, op: op, item: item})
		}
	}
	slices.SortFunc(ops, func(a, b specOperation) int { return strings.Compare(a.id, b.id) })
	return ops
}

// strictFixture is what the strictness tests address: a model with a
// ready version, a pending transition, a document, and a valid body for
// every JSON operation.
type strictFixture struct {
	version    int
	transition string
	document   string
	// bodies holds a valid body per JSON operation, as its members in
	// order (raw JSON values), so that the cases can rewrite it.
	bodies map[string][][2]string
}

func newStrictFixture(t *testing.T, e *env) strictFixture {
	t.Helper()
	e.mustCreateModel("m")
	fx := strictFixture{version: e.readyVersion("m", map[string]any{})}
	fx.transition = e.requestTransition("m", fx.version, "production").ID
	fx.document = e.uploadDocument("test_report", "Robustness report", "1.0", []byte("report")).ID
	fx.bodies = map[string][][2]string{
		"approveTransition":   {{"comment", `"ok"`}},
		"createDataset":       {{"name", `"transactions"`}, {"version", `"2026-11"`}},
		"createModel":         {{"name", `"n2"`}, {"description", `"a model"`}},
		"createSession":       {{"token", strconv.Quote(e.token)}},
		"createToken":         {{"subject", `"ci"`}, {"roles", `["auditor"]`}, {"expires_in", `"1h"`}},
		"createUpload":        {{"path", `"weights.bin"`}, {"size", `10`}},
		"createVersion":       {{"description", `"v"`}, {"tags", `{"team":"risk"}`}},
		"logMetrics":          {{"metrics", `[{"key":"acc","value":0.9,"step":1}]`}},
		"presignFiles":        {{"paths", `["model.bin"]`}},
		"presignUploadParts":  {{"parts", `[{"number":1,"sha256":"` + strings.Repeat("ab", 32) + `"}]`}},
		"putModelCard":        {{"system", `{"name":"fraud"}`}},
		"putModelExemption":   {{"justification", `"not applicable to this model"`}},
		"putPolicy":           {{"required_approvals", `1`}},
		"putVersionCard":      {{"system", `{"name":"fraud"}`}},
		"putVersionExemption": {{"justification", `"not applicable to this version"`}},
		"recordDeployment":    {{"environment", `"staging"`}, {"strategy", `"direct"`}},
		"registerRun":         {{"run_id", `"train-1"`}, {"kind", `"training"`}},
		"rejectTransition":    {{"comment", `"no"`}},
		"requestTransition":   {{"to", `"staging"`}, {"comment", `"please"`}},
		"setAlias":            {{"version", strconv.Itoa(fx.version)}},
		"signOffDocument":     {{"meaning", `"approved"`}, {"comment", `"read"`}},
		"updateModel":         {{"description", `"changed"`}},
	}
	return fx
}

// url fills an operation's path parameters with the fixture's values.
func (fx strictFixture) url(t *testing.T, o specOperation, override map[string]string) string {
	t.Helper()
	values := map[string]string{
		"model": "m", "version": strconv.Itoa(fx.version), "alias": "prod", "row_id": "A17-2", "path": "model.bin", "name": "transactions",
		// No such session: the refusals come before any look-up.
		"upload_id": "0123456789abcdef0123456789abcdef", "part_number": "1",
	}
	switch {
	case strings.HasPrefix(o.path, "/api/v1/transitions/"):
		values["id"] = fx.transition
	case strings.HasPrefix(o.path, "/api/v1/documents/"):
		values["id"] = fx.document
	}
	for k, v := range override {
		values[k] = v
	}
	out := regexp.MustCompile(`\{([a-z_]+)\}`).ReplaceAllStringFunc(o.path, func(m string) string {
		v, ok := values[m[1:len(m)-1]]
		if !ok {
			t.Fatalf("%s %s: no value for %s: add one to strictFixture.url", o.method, o.path, m)
		}
		return v
	})
	return out
}

func encodeMembers(members [][2]string) string {
	var parts []string
	for _, m := range members {
		parts = append(parts, strconv.Quote(m[0])+":"+m[1])
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// strictCase turns an operation's valid body into one the strict decoder
// refuses; want is part of the message.
type strictCase struct {
	name string
	body func(members [][2]string) string
	want string
}

var strictCases = []strictCase{
	{"data after the value", func(m [][2]string) string { return encodeMembers(m) + "xyz" }, "data after the JSON value"},
	{"two values", func(m [][2]string) string { return encodeMembers(m) + encodeMembers(m) }, "data after the JSON value"},
	{"duplicate key", func(m [][2]string) string {
		// The same member twice: read last-wins, the body would be valid.
		return encodeMembers(append(slices.Clone(m), m[0]))
	}, "appears twice"},
	{"invalid utf-8 in a key", func(m [][2]string) string {
		m = slices.Clone(m)
		m[0][0] += "\xff"
		return strings.Replace(encodeMembers(m), `\xff`, "\xff", 1)
	}, "not valid UTF-8"},
	{"invalid utf-8 in a string", func(m [][2]string) string {
		// In the first string value if there is one, else in the first key.
		body := encodeMembers(m)
		if i := strings.Index(body, `:"`); i >= 0 {
			end := i + 2 + strings.Index(body[i+2:], `"`)
			return body[:end] + "\xfe" + body[end:]
		}
		return `{"` + m[0][0] + "\xfe" + body[2:]
	}, "not valid UTF-8"},
	{"unpaired surrogate escape", func(m [][2]string) string {
		body := encodeMembers(m)
		if i := strings.Index(body, `:"`); i >= 0 {
			end := i + 2 + strings.Index(body[i+2:], `"`)
			return body[:end] + `\ud800` + body[end:]
		}
		return `{"` + m[0][0] + `\udc00` + body[2:]
	}, "is half of a UTF-16 surrogate pair"},
	{"number out of range", func(m [][2]string) string {
		m = slices.Clone(m)
		m[0][1] = "1e400"
		return encodeMembers(m)
	}, "out of range"},
	{"nesting too deep", func(m [][2]string) string {
		m = slices.Clone(m)
		m[0][1] = strings.Repeat("[", 101) + strings.Repeat("]", 101)
		return encodeMembers(m)
	}, "nested deeper than 100 levels"},
}

// goInternals are words of Go's errors that a message must never show.
var goInternals = regexp.MustCompile(`Unmarshal|offset=|strconv|json\.|Go (value|struct)|invalid syntax|interface \{\}`)

// writeState is what a refused request must leave as it was: the audit
// log's head, the blobs, and the lists of what the JSON operations create.
func (e *env) writeState() string {
	e.t.Helper()
	var b strings.Builder
	v := e.verifyAudit()
	fmt.Fprintf(&b, "audit: %d events, head %s\nblobs: %v\n", v.Events, v.Head, e.blobKeys())
	for _, p := range []string{
		"/api/v1/models?page_size=1000", "/api/v1/models/m", "/api/v1/models/m/versions?page_size=1000",
		"/api/v1/tokens?include_revoked=true&page_size=1000", "/api/v1/transitions?page_size=1000",
		"/api/v1/documents?page_size=1000", "/api/v1/runs?page_size=1000", "/api/v1/datasets?page_size=1000",
		"/api/v1/deployments?page_size=1000", "/api/v1/models/m/policy", "/api/v1/models/m/evidence/not-applicable",
		"/api/v1/models/m/card/revisions", "/api/v1/models/m/versions/1/metrics?page_size=1000",
	} {
		fmt.Fprintf(&b, "%s: %s\n", p, e.rawJSON(p))
	}
	return b.String()
}

// TestStrictBodies sends every JSON operation of openapi.yaml bodies that
// are not one strict JSON value (data after it, a second value, a key
// twice, invalid UTF-8, an unpaired surrogate escape, a number beyond
// float64, nesting beyond 100 levels) and a 1 MiB unknown key: each is a
// 400 that says why in words (no Go internals, a bounded message), and
// nothing is written. The valid bodies the cases start from are then sent
// as they are, and none is refused as invalid input.
func TestStrictBodies(t *testing.T) {
	ops := specOperations(t)
	forEachBackend(t, func(t *testing.T, e *env) {
		fx := newStrictFixture(t, e)
		var jsonOps []specOperation
		for _, o := range ops {
			if !o.jsonBody() {
				continue
			}
			if fx.bodies[o.id] == nil {
				t.Errorf("%s takes a JSON body: give it a valid body in newStrictFixture", o.id)
				continue
			}
			jsonOps = append(jsonOps, o)
		}
		longKey := strings.Repeat("k", 1<<20)
		before := e.writeState()
		n := 0
		for _, o := range jsonOps {
			url := fx.url(t, o, nil)
			cases := append(slices.Clone(strictCases), strictCase{"1 MiB unknown key", func(m [][2]string) string {
				return encodeMembers(append(slices.Clone(m), [2]string{longKey, `"x"`}))
			}, "is unsupported"})
			for _, c := range cases {
				t.Run(o.id+"/"+c.name, func(t *testing.T) {
					e := e.on(t)
					body := c.body(fx.bodies[o.id])
					resp := e.do(o.method, url, body)
					msg := expectBadRequest(t, e, resp, c.want)
					if strings.Contains(msg, strings.Repeat("k", 100)) {
						t.Errorf("the message quotes the long key: %.200s…", msg)
					}
				})
				n++
			}
		}
		t.Logf("%d JSON operations × %d cases = %d refused requests", len(jsonOps), len(strictCases)+1, n)
		if after := e.writeState(); after != before {
			t.Fatalf("refused requests wrote:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		// The bodies the cases start from are valid: sent as they are,
		// none is refused as invalid input.
		for _, o := range jsonOps {
			resp := e.do(o.method, fx.url(t, o, nil), encodeMembers(fx.bodies[o.id]))
			body := e.on(t).bodyOf(resp, resp.StatusCode)
			if resp.StatusCode == http.StatusBadRequest || resp.StatusCode >= 500 {
				t.Errorf("%s: the valid body is answered %d: %s", o.id, resp.StatusCode, body)
			}
		}
	})
}

// expectBadRequest checks a 400 invalid_argument whose message mentions
// want, is bounded and shows no Go internals; it returns the message.
func expectBadRequest(t *testing.T, e *env, resp *http.Response, want string) string {
	t.Helper()
	var body struct {
		Error struct{ Code, Message string }
	}
	e.expect(resp, http.StatusBadRequest, &body)
	msg := body.Error.Message
	if body.Error.Code != "invalid_argument" {
		t.Errorf("error code %q, want invalid_argument (message %q)", body.Error.Code, msg)
	}
	if !strings.Contains(msg, want) {
		t.Errorf("message %.300q does not mention %q", msg, want)
	}
	if len(msg) > 1024 {
		t.Errorf("a message of %d bytes: %.200s…", len(msg), msg)
	}
	if m := goInternals.FindString(msg); m != "" {
		t.Errorf("the message shows Go internals (%q): %s", m, msg)
	}
	return msg
}

// TestCanonicalNumbers sends every integer parameter of every operation of
// openapi.yaml (paths and queries, byte routes included) in a
// non-canonical spelling: each is a 400 naming the parameter, never the
// resource the canonical number names, and nothing is written. An empty
// X-Checksum-Sha256 on the uploads is a 400 too, not "no checksum".
func TestCanonicalNumbers(t *testing.T) {
	ops := specOperations(t)
	forEachBackend(t, func(t *testing.T, e *env) {
		fx := newStrictFixture(t, e)
		before := e.writeState()
		n := 0
		for _, o := range ops {
			for _, p := range slices.Concat(o.item.Parameters, o.op.Parameters) {
				prm := p.Value
				if prm.Schema == nil || !prm.Schema.Value.Type.Is("integer") {
					continue
				}
				for _, bad := range []string{"01", "+1", "1.0", "1e0", "0x1", "%201"} {
					t.Run(fmt.Sprintf("%s/%s=%s", o.id, prm.Name, bad), func(t *testing.T) {
						e := e.on(t)
						var url string
						switch prm.In {
						case "path":
							url = fx.url(t, o, map[string]string{prm.Name: bad})
						case "query":
							url = fx.url(t, o, nil) + "?" + prm.Name + "=" + bad
						default:
							t.Fatalf("an integer parameter in %s", prm.In)
						}
						var body any
						switch {
						case o.jsonBody():
							body = encodeMembers(fx.bodies[o.id])
						case o.op.RequestBody != nil:
							body = []byte("bytes")
						}
						resp := e.do(o.method, url, body)
						if o.method == http.MethodHead {
							// No body to name the parameter in.
							resp.Body.Close()
							if resp.StatusCode != http.StatusBadRequest {
								t.Errorf("HEAD %s: %d, want 400", url, resp.StatusCode)
							}
							return
						}
						expectBadRequest(t, e, resp, prm.Name)
					})
					n++
				}
			}
		}
		if n == 0 {
			t.Fatal("no integer parameters in openapi.yaml")
		}
		t.Logf("%d requests with non-canonical integers", n)
		if after := e.writeState(); after != before {
			t.Fatalf("refused requests wrote:\nbefore:\n%s\nafter:\n%s", before, after)
		}

		pending := e.mustCreateVersion("m")
		for _, up := range []struct{ name, method, url string }{
			{"uploadFile", "PUT", fmt.Sprintf("/api/v1/models/m/versions/%d/files/x.bin", pending)},
			{"uploadDocument", "POST", "/api/v1/documents?kind=test_report&title=T&version=2"},
		} {
			t.Run(up.name+"/empty checksum", func(t *testing.T) {
				e := e.on(t)
				before := e.writeState()
				for _, v := range []string{"", " "} {
					expectBadRequest(t, e, e.do(up.method, up.url, []byte("payload"), "X-Checksum-Sha256", v), "X-Checksum-Sha256")
				}
				if after := e.writeState(); after != before {
					t.Fatalf("an upload with an empty checksum wrote:\nbefore:\n%s\nafter:\n%s", before, after)
				}
			})
		}
	})
}
