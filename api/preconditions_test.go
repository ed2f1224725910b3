package api

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

// checkRange accepts exactly the Range headers that http.ServeContent
// answers with a single part (206); refuses (416) the valid ones it would
// answer 416 or as multipart/byteranges, and the few it serves against RFC
// 9110 (stricter); and has the invalid ones ignored (RFC 9110 §14.2: the
// whole file), which net/http would answer 416 in text/plain, or serve
// although they are not RFC 9110 ranges (stricter).
func TestCheckRangeAgreesWithServeContent(t *testing.T) {
	const content = "0123456789abcdef" // 16 bytes
	const (
		ok      = "ok"
		refused = "refused" // 416
		ignored = "ignored" // the whole file
	)
	for _, tc := range []struct {
		header string
		size   int64 // default len(content)
		want   string
		// stricter: refused or ignored here although net/http serves it
		// as one range: a sign (RFC 9110 ranges are digits only), or no
		// byte at all (which net/http answers with a Content-Range like
		// "bytes 16-15/16").
		stricter bool
	}{
		{header: "bytes=0-0", want: ok},
		{header: "bytes=0-15", want: ok},
		{header: "bytes=0-100", want: ok}, // the end is clipped
		{header: "bytes=15-", want: ok},
		{header: "bytes=4-", want: ok},
		{header: "bytes=-1", want: ok},
		{header: "bytes=-16", want: ok},
		{header: "bytes=-100", want: ok}, // the whole file
		{header: "bytes= 2-3 ", want: ok},
		{header: "bytes=2-3,", want: ok}, // empty elements are skipped
		{header: "bytes=16-", want: refused},
		{header: "bytes=16-20", want: refused},
		{header: "bytes=-0", want: refused, stricter: true},
		{header: "bytes=0-1,4-5", want: refused}, // several ranges
		{header: "bytes=0-1,0-1", want: refused},
		{header: "bytes=0-0", size: -1, want: refused}, // an empty file has no byte 0
		{header: "bytes=-1", size: -1, want: refused, stricter: true},
		{header: "bytes=5-4", want: ignored},
		{header: "bytes=", want: ignored},
		{header: "bytes=,", want: ignored},
		{header: "bytes=abc", want: ignored},
		{header: "bytes=1", want: ignored},
		{header: "bytes=-", want: ignored},
		{header: "bytes=--1", want: ignored},
		{header: "bytes=+1-2", want: ignored, stricter: true},
		{header: "bytes=1-+2", want: ignored, stricter: true},
		{header: "bytes=0-1,abc", want: ignored},
		{header: "bytes=0-99999999999999999999", want: ignored},
		{header: "items=0-1", want: ignored},
	} {
		t.Run(tc.header, func(t *testing.T) {
			body := content
			if tc.size < 0 {
				body = ""
			}
			err := checkRange(tc.header, int64(len(body)))
			var re *rangeError
			got := ok
			switch {
			case err == nil:
			case errors.As(err, &re):
				got = refused
				if re.size != int64(len(body)) {
					t.Errorf("rangeError size %d, want %d", re.size, len(body))
				}
			case errors.Is(err, errIgnoredRange):
				got = ignored
			default:
				t.Fatalf("checkRange = %v", err)
			}
			if got != tc.want {
				t.Fatalf("checkRange = %v (%s), want %s", err, got, tc.want)
			}
			req := httptest.NewRequest(http.MethodGet, "/f", nil)
			req.Header.Set("Range", tc.header)
			rec := httptest.NewRecorder()
			http.ServeContent(rec, req, "", time.Time{}, strings.NewReader(body))
			single := rec.Code == http.StatusPartialContent && !strings.HasPrefix(rec.Header().Get("Content-Type"), "multipart/")
			if tc.want == ok && !single {
				t.Errorf("accepted, but ServeContent answers %d %s", rec.Code, rec.Header().Get("Content-Type"))
			}
			if tc.want != ok && single != tc.stricter {
				t.Errorf("not accepted; ServeContent answers %d, Content-Range %q (stricter: %v)", rec.Code, rec.Header().Get("Content-Range"), tc.stricter)
			}
		})
	}
}

func TestCheckDownload(t *testing.T) {
	f := content{size: 16, sha256: strings.Repeat("ab", 32)}
	etag := `"` + f.sha256 + `"`
	for _, tc := range []struct {
		name    string
		headers map[string]string
		ranges  bool
		want    string // "", "not modified", "range", "precondition"
	}{
		{"plain", nil, true, ""},
		{"If-None-Match matches", map[string]string{"If-None-Match": etag}, true, "not modified"},
		{"If-None-Match weak matches", map[string]string{"If-None-Match": `"x", W/` + etag}, true, "not modified"},
		{"If-None-Match star", map[string]string{"If-None-Match": "*"}, true, "not modified"},
		{"If-None-Match other", map[string]string{"If-None-Match": `"other"`}, true, ""},
		{"If-Match matches", map[string]string{"If-Match": etag}, true, ""},
		{"If-Match weak never matches", map[string]string{"If-Match": "W/" + etag}, true, "precondition"},
		{"If-Match other", map[string]string{"If-Match": `"other"`}, true, "precondition"},
		{"If-Match before If-None-Match", map[string]string{"If-Match": `"other"`, "If-None-Match": etag}, true, "precondition"},
		{"bad range", map[string]string{"Range": "bytes=99-"}, true, "range"},
		{"bad range on a redirect", map[string]string{"Range": "bytes=99-"}, false, ""},
		{"bad range, If-Range of another file", map[string]string{"Range": "bytes=99-", "If-Range": `"other"`}, true, ""},
		{"bad range, If-Range of this file", map[string]string{"Range": "bytes=99-", "If-Range": etag}, true, "range"},
		{"not modified before the range", map[string]string{"Range": "bytes=99-", "If-None-Match": etag}, true, "not modified"},
		{"unit in capitals", map[string]string{"Range": "Bytes=99-"}, true, "range"},
		{"unknown unit", map[string]string{"Range": "lines=99-"}, true, ""},
		{"no unit", map[string]string{"Range": "99-100"}, true, ""},
		{"invalid range", map[string]string{"Range": "bytes=abc"}, true, ""},
		{"invalid range, last before first", map[string]string{"Range": "bytes=9-1"}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/f", nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			err := checkDownload(req, f, tc.ranges)
			var re *rangeError
			got := ""
			switch {
			case err == nil:
			case errors.Is(err, errNotModified):
				got = "not modified"
			case errors.As(err, &re):
				got = "range"
			case errors.Is(err, modelkeep.ErrPrecondition):
				got = "precondition"
			default:
				t.Fatalf("unexpected error %v", err)
			}
			if got != tc.want {
				t.Errorf("checkDownload = %q (%v), want %q", got, err, tc.want)
			}
			// What ServeContent is left with: a bytes range, or none.
			if r, sent := req.Header.Get("Range"), tc.headers["Range"]; sent != "" && tc.ranges && tc.headers["If-Range"] == "" &&
				tc.headers["If-None-Match"] == "" && r != "" && !strings.HasPrefix(r, "bytes=") {
				t.Errorf("Range %q left as %q", sent, r)
			}
			if strings.HasPrefix(tc.name, "unknown unit") || strings.HasPrefix(tc.name, "no unit") || strings.HasPrefix(tc.name, "invalid range") {
				if r := req.Header.Get("Range"); r != "" {
					t.Errorf("Range to ignore kept: %q", r)
				}
			}
		})
	}
}
