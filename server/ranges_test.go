package server_test

import (
	"fmt"
	"io"
	"net/http"
	"testing"
)

// TestRanges: file and document downloads answer Range alike, as the
// contract says: a single satisfiable range is a 206; a header that is not
// a valid byte range (or of another unit) is ignored, the whole content
// sent with 200 and recorded as a download (RFC 9110 §14.2); a valid range
// that selects no byte, or several ranges, is a JSON 416 with the size in
// Content-Range, and not a download.
func TestRanges(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		body := []byte("0123456789abcdef") // 16 bytes
		e.mustCreateModel("ranges")
		n := e.mustCreateVersion("ranges")
		file := fmt.Sprintf("/api/v1/models/ranges/versions/%d/files/weights/w.bin", n)
		e.expect(e.do("PUT", file, body), http.StatusCreated, nil)
		doc := e.uploadDocument("test_log", "Range test log", "1", body)
		for _, target := range []struct {
			name, path, action string
		}{
			{"file", file, "file.download"},
			{"document", "/api/v1/documents/" + doc.ID + "/content", "document.download"},
		} {
			t.Run(target.name, func(t *testing.T) {
				e := e.on(t)
				downloads := func() int { return len(e.auditEvents("action=" + target.action + "&page_size=1000")) }
				get := func(headers ...string) (*http.Response, []byte) {
					t.Helper()
					resp := e.do("GET", target.path, nil, headers...)
					got, err := io.ReadAll(resp.Body)
					resp.Body.Close()
					if err != nil {
						t.Fatal(err)
					}
					return resp, got
				}
				t.Run("satisfiable", func(t *testing.T) {
					before := downloads()
					resp, got := get("Range", "bytes=2-5")
					if resp.StatusCode != http.StatusPartialContent || string(got) != "2345" || resp.Header.Get("Content-Range") != "bytes 2-5/16" {
						t.Fatalf("status %d, body %q, Content-Range %q", resp.StatusCode, got, resp.Header.Get("Content-Range"))
					}
					if downloads() != before+1 {
						t.Errorf("a 206 is a download: %d recorded", downloads()-before)
					}
				})
				t.Run("invalid ranges are ignored", func(t *testing.T) {
					for _, r := range []string{"bytes=abc", "bytes=5-4", "bytes=", "bytes=-", "bytes=+1-2", "bytes=0-99999999999999999999", "garbage", "lines=1-2"} {
						before := downloads()
						resp, got := get("Range", r)
						if resp.StatusCode != http.StatusOK || string(got) != string(body) || resp.Header.Get("Content-Range") != "" {
							t.Errorf("Range %q: status %d, body %q, Content-Range %q; want the whole content", r, resp.StatusCode, got, resp.Header.Get("Content-Range"))
						}
						if downloads() != before+1 {
							t.Errorf("Range %q: the whole content sent is a download: %d recorded", r, downloads()-before)
						}
					}
				})
				t.Run("unsatisfiable ranges are 416", func(t *testing.T) {
					before := downloads()
					for _, r := range []struct{ header, says string }{
						{"bytes=16-", "past the end"},
						{"bytes=100-200", "past the end"},
						{"bytes=-0", "no byte"},
						{"Bytes=99-", "past the end"},
						{"bytes=0-1,4-5", "one range per request"},
					} {
						resp := e.do("GET", target.path, nil, "Range", r.header)
						if cr := resp.Header.Get("Content-Range"); cr != "bytes */16" {
							t.Errorf("Range %q: Content-Range %q", r.header, cr)
						}
						e.expectError(resp, http.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable", r.says)
					}
					if downloads() != before {
						t.Errorf("416 sends no bytes, yet %d downloads were recorded", downloads()-before)
					}
				})
				t.Run("conditional", func(t *testing.T) {
					before := downloads()
					etag := `"` + sha256Hex(body) + `"`
					e.expect(e.do("GET", target.path, nil, "If-None-Match", etag), http.StatusNotModified, nil)
					e.expectError(e.do("GET", target.path, nil, "If-Match", `"other"`), http.StatusPreconditionFailed, "precondition_failed", "ETag")
					if downloads() != before {
						t.Errorf("304 and 412 send no bytes, yet %d downloads were recorded", downloads()-before)
					}
					// If-Range of another copy: the whole content.
					resp, got := get("Range", "bytes=0-0", "If-Range", `"other"`)
					if resp.StatusCode != http.StatusOK || string(got) != string(body) {
						t.Errorf("If-Range of another copy: status %d, body %q", resp.StatusCode, got)
					}
				})
			})
		}
	})
}
