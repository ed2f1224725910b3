package server_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/api"
)

// TestBadInput: every kind of bad input is a clear 4xx with the error body,
// never a 500, and never leaves a partial write behind.
func TestBadInput(t *testing.T) {
	forEachBackendFlags(t, []string{"--max-upload-size", "1MiB"}, func(t *testing.T, e *env) {
		e.mustCreateModel("m")
		n := e.mustCreateVersion("m")
		files := fmt.Sprintf("/api/v1/models/m/versions/%d/files/", n)

		jsonCases := []struct {
			name, method, path string
			body               any
			want               string // part of the message
		}{
			{"name with upper case", "POST", "/api/v1/models", map[string]any{"name": "Fraud"}, "name"},
			{"name with space", "POST", "/api/v1/models", map[string]any{"name": "a b"}, "name"},
			{"name starting with dash", "POST", "/api/v1/models", map[string]any{"name": "-a"}, "name"},
			{"name too long", "POST", "/api/v1/models", map[string]any{"name": strings.Repeat("a", 129)}, "name"},
			{"missing name", "POST", "/api/v1/models", map[string]any{"description": "x"}, "name"},
			{"unknown field", "POST", "/api/v1/models", map[string]any{"name": "ok", "owner": "me"}, "owner"},
			{"name of wrong type", "POST", "/api/v1/models", map[string]any{"name": 5}, "name"},
			{"tag value of wrong type", "POST", "/api/v1/models", map[string]any{"name": "ok", "tags": map[string]any{"a": 1}}, "tags"},
			{"tag key with colon", "POST", "/api/v1/models", map[string]any{"name": "ok", "tags": map[string]string{"a:b": "c"}}, "a:b"},
			// MySQL would take "a " for "a" (PAD SPACE): refused on both.
			{"tag key with trailing space", "POST", "/api/v1/models/m/versions", map[string]any{"tags": map[string]string{"a": "x", "a ": "y"}}, "whitespace"},
			{"param key with leading space", "POST", "/api/v1/models/m/versions", map[string]any{"params": map[string]string{" lr": "0.1"}}, "whitespace"},
			{"malformed json", "POST", "/api/v1/models", `{"name": "ok"`, "body"},
			{"json array", "POST", "/api/v1/models", `[]`, "body"},
			{"empty patch", "PATCH", "/api/v1/models/m", map[string]any{}, "body"},
			{"version unknown field", "POST", "/api/v1/models/m/versions", map[string]any{"stage": "production"}, "stage"},
			{"param of wrong type", "POST", "/api/v1/models/m/versions", map[string]any{"params": map[string]any{"lr": 0.1}}, "params"},
			{"bad dataset role", "POST", "/api/v1/models/m/versions", map[string]any{"datasets": []map[string]string{{"name": "d", "role": "guess"}}}, "role"},
			{"bad dataset sha", "POST", "/api/v1/models/m/versions", map[string]any{"datasets": []map[string]string{{"name": "d", "sha256": "xyz"}}}, "sha256"},
			{"missing parent", "POST", "/api/v1/models/m/versions", map[string]any{"parent": map[string]any{"model": "m", "version": 99}}, "parent"},
			{"bad model in path", "GET", "/api/v1/models/Bad", nil, "model"},
			{"bad version in path", "GET", "/api/v1/models/m/versions/abc", nil, "version"},
			// Validated as the handler reads it ("x%61", not "xa").
			{"escaped escape in path", "GET", "/api/v1/models/x%2561", nil, "model"},
			{"version zero", "GET", "/api/v1/models/m/versions/0", nil, "version"},
			{"page size zero", "GET", "/api/v1/models?page_size=0", nil, "page_size"},
			{"page size too big", "GET", "/api/v1/models?page_size=5000", nil, "page_size"},
			{"garbage page token", "GET", "/api/v1/models?page_token=%25%25", nil, "page_token"},
			{"tag filter without colon", "GET", "/api/v1/models?tag=team", nil, "tag"},
			{"bad stage filter", "GET", "/api/v1/models/m/versions?stage=prod", nil, "stage"},
			{"bad status filter", "GET", "/api/v1/models/m/versions?status=done", nil, "status"},
		}
		for _, tc := range jsonCases {
			t.Run(tc.name, func(t *testing.T) {
				e := e.on(t)
				e.expectError(e.do(tc.method, tc.path, tc.body), http.StatusBadRequest, "invalid_argument", tc.want)
			})
		}
		// A missing model is a 404 before anything its body names: with or
		// without a parent that does not exist either.
		t.Run("version of a missing model", func(t *testing.T) {
			e := e.on(t)
			for _, body := range []map[string]any{{}, {"parent": map[string]any{"model": "m", "version": 99}}} {
				e.expectError(e.do("POST", "/api/v1/models/no-such-model/versions", body), http.StatusNotFound, "not_found", "no-such-model")
			}
		})

		pathCases := []struct{ name, path string }{
			{"dot dot", "a/../b.bin"},
			{"leading dot dot", "../b.bin"},
			{"absolute", "/etc/passwd"},
			{"empty segment", "a//b.bin"},
			{"trailing slash", "a/"},
			{"dot segment", "./a.bin"},
			{"escaped dot dot", "a/%2e%2e/b.bin"},
			{"backslash", `a%5Cb.bin`},
			{"control character", "a%01b"},
		}
		for _, tc := range pathCases {
			t.Run("path "+tc.name, func(t *testing.T) {
				e := e.on(t)
				e.expectError(e.raw("PUT", files+tc.path, "x"), http.StatusBadRequest, "invalid_argument", "path")
				e.expectError(e.raw("GET", files+tc.path, ""), http.StatusBadRequest, "invalid_argument", "path")
			})
		}
		t.Run("empty path", func(t *testing.T) {
			e := e.on(t)
			e.expectError(e.raw("PUT", files, "x"), http.StatusBadRequest, "invalid_argument", "path")
		})
		t.Run("bad redirect flag", func(t *testing.T) {
			e := e.on(t)
			e.expect(e.do("PUT", files+"ok.bin", []byte("x")), http.StatusCreated, nil)
			e.expectError(e.do("GET", files+"ok.bin?redirect=maybe", nil), http.StatusBadRequest, "invalid_argument", "redirect")
		})
		t.Run("malformed checksum header", func(t *testing.T) {
			e := e.on(t)
			e.expectError(e.do("PUT", files+"c.bin", []byte("x"), "X-Checksum-Sha256", "xyz"), http.StatusBadRequest, "invalid_argument", "SHA-256")
		})
		t.Run("checksum mismatch leaves nothing", func(t *testing.T) {
			e := e.on(t)
			before := e.blobKeys()
			e.expectError(e.do("PUT", files+"bad.bin", []byte("payload"), "X-Checksum-Sha256", sha256Hex([]byte("other"))),
				http.StatusUnprocessableEntity, "digest_mismatch", "checksum")
			e.expectError(e.do("GET", files+"bad.bin", nil), http.StatusNotFound, "not_found", "")
			if after := e.blobKeys(); len(after) != len(before) {
				t.Fatalf("blobs before %v, after %v", before, after)
			}
		})
		t.Run("too large", func(t *testing.T) {
			e := e.on(t)
			before := e.blobKeys()
			body := make([]byte, 2<<20)
			e.expectError(e.do("PUT", files+"big.bin", body), http.StatusRequestEntityTooLarge, "too_large", "limit")
			// Without Content-Length the limit is found while streaming.
			e.expectError(e.do("PUT", files+"big.bin", io.MultiReader(strings.NewReader(string(body)))), http.StatusRequestEntityTooLarge, "too_large", "limit")
			e.expectError(e.do("GET", files+"big.bin", nil), http.StatusNotFound, "not_found", "")
			if after := e.blobKeys(); len(after) != len(before) {
				t.Fatalf("blobs before %v, after %v", before, after)
			}
		})
		t.Run("json body too large", func(t *testing.T) {
			e := e.on(t)
			body := []byte(`{"name":"big","description":"` + strings.Repeat("x", api.MaxJSONBody) + `"}`)
			e.expectError(e.do("POST", "/api/v1/models", body), http.StatusRequestEntityTooLarge, "too_large", "")
			// Without Content-Length the limit is found while reading.
			e.expectError(e.do("POST", "/api/v1/models", io.MultiReader(strings.NewReader(string(body)))), http.StatusRequestEntityTooLarge, "too_large", "")
			e.expectError(e.do("GET", "/api/v1/models/big", nil), http.StatusNotFound, "not_found", "")
		})
		t.Run("client disconnects mid-upload", func(t *testing.T) {
			e := e.on(t)
			before := e.blobKeys()
			conn, err := net.Dial("tcp", strings.TrimPrefix(e.http.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(conn, "PUT %scut.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: 900000\r\n\r\n", files, e.token)
			conn.Write(make([]byte, 300000))
			conn.Close()
			// The server notices the cut asynchronously: wait (bounded)
			// until no request is in flight any more.
			waitIdle(t, e)
			e.expectError(e.do("GET", files+"cut.bin", nil), http.StatusNotFound, "not_found", "")
			if after := e.blobKeys(); len(after) != len(before) {
				t.Fatalf("blobs before %v, after %v", before, after)
			}
		})
		t.Run("unknown route", func(t *testing.T) {
			e := e.on(t)
			resp := e.raw("GET", "/api/v1/nothing", "")
			if resp.StatusCode != http.StatusNotFound {
				t.Fatalf("status %d", resp.StatusCode)
			}
			resp.Body.Close()
		})
	})
}

// raw sends a request with the path exactly as given (no cleaning,
// no re-escaping) and without the contract check (some paths are outside
// any route on purpose).
func (e *env) raw(method, path, body string) *http.Response {
	t := e.t
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.http.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fmt.Fprintf(conn, "%s %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		method, path, e.token, len(body), body)
	req, _ := http.NewRequest(method, e.http.URL+"/", nil)
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// waitIdle waits until the server serves no request but the metrics scrape.
func waitIdle(t *testing.T, e *env) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(e.http.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if strings.Contains(string(body), "modelkeep_http_requests_in_flight 1\n") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("server did not become idle")
}
