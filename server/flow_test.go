package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/modelkeep/modelkeep"
)

// newPattern yields n deterministic pseudo-random bytes without holding
// them: the test can stream 100 MiB and know its digest.
func newPattern(seed byte, n int64) *blockPattern { return patternAt(seed, 0, n) }

// patternDigest is the SHA-256 of newPattern(seed, n).
func patternDigest(seed byte, n int64) string { return patternSHA(seed, 0, n) }

func listFiles(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

// TestFlow walks the whole life of a version on each backend: create model,
// open a version, upload three files (one of 100 MiB), finalize, list,
// download with a matching digest, read a range, follow a presigned URL.
func TestFlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		testFlow(t, e)
	})
}

func testFlow(t *testing.T, e *env) {
	var m struct {
		Name          string
		Tags          map[string]string
		LatestVersion int `json:"latest_version"`
	}
	e.expect(e.do("POST", "/api/v1/models", map[string]any{
		"name": "fraud-detector", "description": "Card fraud scoring", "tags": map[string]string{"team": "risk"},
	}), http.StatusCreated, &m)
	if m.Name != "fraud-detector" || m.Tags["team"] != "risk" {
		t.Fatalf("created model = %+v", m)
	}
	e.expectError(e.do("POST", "/api/v1/models", map[string]any{"name": "fraud-detector"}), http.StatusConflict, "conflict", "fraud-detector")

	var v struct {
		Version int
		Status  string
		Stage   string
	}
	e.expect(e.do("POST", "/api/v1/models/fraud-detector/versions", map[string]any{
		"description": "gradient boosting, Nov data",
		"params":      map[string]string{"learning_rate": "0.05"},
		"source":      map[string]string{"run_id": "run-42", "git_commit": "abc123"},
		"datasets":    []map[string]string{{"name": "transactions", "version": "2026-11", "role": "training"}},
	}), http.StatusCreated, &v)
	if v.Version != 1 || v.Status != "pending" || v.Stage != "none" {
		t.Fatalf("created version = %+v", v)
	}
	base := "/api/v1/models/fraud-detector/versions/1"

	const bigSize = 100 << 20
	bigDigest := patternDigest(7, bigSize)
	small := []byte(`{"threshold": 0.7}`)
	readme := []byte("# fraud-detector\n")
	var f struct {
		Path   string
		Size   int64
		Sha256 string
	}
	// A known length with a checksum, a streamed 100 MiB with a checksum,
	// and a chunked body of unknown length without one.
	e.expect(e.do("PUT", base+"/files/config.json", small, "X-Checksum-Sha256", sha256Hex(small)), http.StatusCreated, &f)
	if f.Path != "config.json" || f.Size != int64(len(small)) || f.Sha256 != sha256Hex(small) {
		t.Fatalf("uploaded = %+v", f)
	}
	req, _ := http.NewRequest("PUT", e.http.URL+base+"/files/weights/model.bin", newPattern(7, bigSize))
	req.ContentLength = bigSize
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("X-Checksum-Sha256", strings.ToUpper(bigDigest)) // case does not matter
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	e.expect(resp, http.StatusCreated, &f)
	if f.Size != bigSize || f.Sha256 != bigDigest {
		t.Fatalf("uploaded big = %+v", f)
	}
	e.expect(e.do("PUT", base+"/files/docs/README.md", io.MultiReader(strings.NewReader(string(readme)))), http.StatusCreated, &f)
	if f.Size != int64(len(readme)) {
		t.Fatalf("chunked upload = %+v", f)
	}

	var fin struct {
		Status         string
		ManifestDigest string `json:"manifest_digest"`
	}
	e.expect(e.do("POST", base+"/finalize", nil), http.StatusOK, &fin)
	want := modelkeep.ManifestDigest([]modelkeep.File{
		{Path: "config.json", Size: int64(len(small)), SHA256: sha256Hex(small)},
		{Path: "weights/model.bin", Size: bigSize, SHA256: bigDigest},
		{Path: "docs/README.md", Size: int64(len(readme)), SHA256: sha256Hex(readme)},
	})
	if fin.Status != "ready" || fin.ManifestDigest != want {
		t.Fatalf("finalized = %+v, want digest %s", fin, want)
	}
	// The digest is exactly API.md's: sha256 of "<sha256>  <size>  <path>\n" lines sorted by path.
	manifest := fmt.Sprintf("%s  %d  config.json\n%s  %d  docs/README.md\n%s  %d  weights/model.bin\n",
		sha256Hex(small), len(small), sha256Hex(readme), len(readme), bigDigest, bigSize)
	if got := "sha256:" + sha256Hex([]byte(manifest)); got != fin.ManifestDigest {
		t.Fatalf("manifest digest %s, by hand %s", fin.ManifestDigest, got)
	}

	var list struct {
		Files []struct {
			Path   string
			Size   int64
			Sha256 string
		}
		ManifestDigest string `json:"manifest_digest"`
	}
	e.expect(e.do("GET", base+"/files", nil), http.StatusOK, &list)
	var paths []string
	for _, f := range list.Files {
		paths = append(paths, f.Path)
	}
	if strings.Join(paths, ",") != "config.json,docs/README.md,weights/model.bin" || list.ManifestDigest != want {
		t.Fatalf("file list = %+v", list)
	}

	// Whole download: digest, ETag, checksum and length.
	resp = e.do("GET", base+"/files/weights/model.bin", nil)
	h := sha256.New()
	n, err := io.Copy(h, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || n != bigSize || hex.EncodeToString(h.Sum(nil)) != bigDigest {
		t.Fatalf("download: status %d, %d bytes, err %v", resp.StatusCode, n, err)
	}
	if resp.Header.Get("ETag") != `"`+bigDigest+`"` || resp.Header.Get("X-Checksum-Sha256") != bigDigest ||
		resp.Header.Get("Content-Length") != fmt.Sprint(bigSize) {
		t.Fatalf("download headers = %v", resp.Header)
	}

	// A range from the middle of the big file.
	expected := make([]byte, 1000)
	p := newPattern(7, bigSize)
	io.CopyN(io.Discard, p, 50<<20)
	io.ReadFull(p, expected)
	resp = e.do("GET", base+"/files/weights/model.bin", nil, "Range", fmt.Sprintf("bytes=%d-%d", 50<<20, 50<<20+999))
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(got) != string(expected) ||
		resp.Header.Get("Content-Range") != fmt.Sprintf("bytes %d-%d/%d", 50<<20, 50<<20+999, bigSize) {
		t.Fatalf("range: status %d, %d bytes, Content-Range %q", resp.StatusCode, len(got), resp.Header.Get("Content-Range"))
	}
	// Conditional request with the ETag.
	e.expect(e.do("GET", base+"/files/config.json", nil, "If-None-Match", `"`+sha256Hex(small)+`"`), http.StatusNotModified, nil)

	// Answers that send no bytes are not downloads: the audit log does not
	// grow; ranges the contract does not offer get a JSON 416 with the size.
	downloads := func() int { return len(e.auditEvents("action=file.download&page_size=1000")) }
	before := downloads()
	smallETag := `"` + sha256Hex(small) + `"`
	e.expect(e.do("GET", base+"/files/config.json", nil, "If-None-Match", smallETag), http.StatusNotModified, nil)
	e.expectError(e.do("GET", base+"/files/config.json", nil, "If-Match", `"other"`), http.StatusPreconditionFailed, "precondition_failed", "ETag")
	for _, r := range []struct{ header, says string }{
		{fmt.Sprintf("bytes=%d-", len(small)), "past the end"},
		{"bytes=0-1,4-5", "one range per request"},
		{"Bytes=99-", "past the end"},
	} {
		resp := e.do("GET", base+"/files/config.json", nil, "Range", r.header)
		if cr := resp.Header.Get("Content-Range"); cr != fmt.Sprintf("bytes */%d", len(small)) {
			t.Errorf("Range %q: Content-Range %q", r.header, cr)
		}
		e.expectError(resp, http.StatusRequestedRangeNotSatisfiable, "range_not_satisfiable", r.says)
	}
	if after := downloads(); after != before {
		t.Fatalf("answers without bytes recorded %d downloads", after-before)
	}
	// A range in a unit the server does not know is ignored: the whole
	// file (RFC 9110 §14.2), recorded.
	resp = e.do("GET", base+"/files/config.json", nil, "Range", "lines=1-2")
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(got) != string(small) || downloads() != before+1 {
		t.Fatalf("unknown range unit: status %d, body %q, %d downloads recorded", resp.StatusCode, got, downloads()-before)
	}
	before++
	resp = e.do("GET", base+"/files/config.json", nil, "Range", "bytes=0-0", "If-Match", smallETag)
	got, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(got) != string(small[:1]) || downloads() != before+1 {
		t.Fatalf("one-byte range: status %d, body %q, %d downloads recorded", resp.StatusCode, got, downloads()-before)
	}
	// Version numbers beyond the contract's are bad input on the byte
	// routes too.
	e.expectError(e.do("GET", "/api/v1/models/fraud-detector/versions/2147483648/files/config.json", nil), http.StatusBadRequest, "invalid_argument", "version")

	// Presigned redirect on S3; the file store streams instead.
	resp = e.do("GET", base+"/files/config.json?redirect=true", nil)
	if strings.HasPrefix(e.blobs, "s3://") {
		loc := resp.Header.Get("Location")
		resp.Body.Close()
		if resp.StatusCode != http.StatusTemporaryRedirect || loc == "" {
			t.Fatalf("redirect: status %d, Location %q", resp.StatusCode, loc)
		}
		direct, err := http.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(direct.Body)
		direct.Body.Close()
		if direct.StatusCode != http.StatusOK || string(body) != string(small) {
			t.Fatalf("presigned GET: status %d, body %q", direct.StatusCode, body)
		}
	} else {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != string(small) {
			t.Fatalf("redirect on the file store: status %d, body %q", resp.StatusCode, body)
		}
	}

	// Ready is immutable.
	e.expectError(e.do("PUT", base+"/files/config.json", []byte("x")), http.StatusConflict, "conflict", "ready")
	e.expectError(e.do("POST", base+"/finalize", nil), http.StatusConflict, "conflict", "ready")

	// Lists and filters.
	e.mustCreateVersion("fraud-detector")
	var vl struct {
		Versions []struct {
			Version int
			Status  string
		}
		NextPageToken string `json:"next_page_token"`
	}
	e.expect(e.do("GET", "/api/v1/models/fraud-detector/versions", nil), http.StatusOK, &vl)
	if len(vl.Versions) != 2 || vl.Versions[0].Version != 2 || vl.NextPageToken != "" {
		t.Fatalf("versions = %+v", vl)
	}
	e.expect(e.do("GET", "/api/v1/models/fraud-detector/versions?status=ready&stage=none", nil), http.StatusOK, &vl)
	if len(vl.Versions) != 1 || vl.Versions[0].Version != 1 {
		t.Fatalf("ready versions = %+v", vl)
	}
	e.expect(e.do("GET", "/api/v1/models/fraud-detector/versions?page_size=1", nil), http.StatusOK, &vl)
	if len(vl.Versions) != 1 || vl.Versions[0].Version != 2 || vl.NextPageToken == "" {
		t.Fatalf("page 1 = %+v", vl)
	}
	e.expect(e.do("GET", "/api/v1/models/fraud-detector/versions?page_size=1&page_token="+vl.NextPageToken, nil), http.StatusOK, &vl)
	if len(vl.Versions) != 1 || vl.Versions[0].Version != 1 || vl.NextPageToken != "" {
		t.Fatalf("page 2 = %+v", vl)
	}
	var got1 struct {
		Version        int
		Status         string
		ManifestDigest string `json:"manifest_digest"`
		CreatedBy      string `json:"created_by"`
		Aliases        []string
	}
	e.expect(e.do("GET", base, nil), http.StatusOK, &got1)
	if got1.Status != "ready" || got1.ManifestDigest != want || got1.CreatedBy == "" || got1.Aliases == nil {
		t.Fatalf("version = %+v", got1)
	}

	// Deleting the model removes its files from the blob store too.
	e.expect(e.do("DELETE", "/api/v1/models/fraud-detector", nil), http.StatusNoContent, nil)
	e.expectError(e.do("GET", "/api/v1/models/fraud-detector", nil), http.StatusNotFound, "not_found", "fraud-detector")
	if keys := e.blobKeys(); len(keys) != 0 {
		t.Fatalf("blobs left after delete: %v", keys)
	}
}

// TestModels covers listing, filtering, paging and patching models.
func TestModels(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		for _, m := range []map[string]any{
			{"name": "alpha", "description": "first 100% model", "tags": map[string]string{"team": "risk"}},
			{"name": "beta", "description": "second", "tags": map[string]string{"team": "growth"}},
			{"name": "gamma", "description": "third", "tags": map[string]string{"team": "risk", "tier": "1"}},
			{"name": "delta_x", "description": "fourth"},
		} {
			e.expect(e.do("POST", "/api/v1/models", m), http.StatusCreated, nil)
		}
		names := func(query string) string {
			var out []string
			token := ""
			for page := 0; page < 10; page++ {
				var l struct {
					Models        []struct{ Name string }
					NextPageToken string `json:"next_page_token"`
				}
				e.expect(e.do("GET", "/api/v1/models?page_size=2&"+query+"&page_token="+token, nil), http.StatusOK, &l)
				for _, m := range l.Models {
					out = append(out, m.Name)
				}
				if token = l.NextPageToken; token == "" {
					break
				}
			}
			return strings.Join(out, ",")
		}
		for _, tc := range []struct{ query, want string }{
			{"", "alpha,beta,delta_x,gamma"},
			{"q=ALPH", "alpha"},
			{"q=second", "beta"},
			{"q=100%25", "alpha"}, // % is matched literally
			{"q=a_x", "delta_x"},  // _ too
			{"q=nothing", ""},
			{"tag=team:risk", "alpha,gamma"},
			{"tag=tier:1", "gamma"},
			{"tag=team:risk&q=gam", "gamma"},
		} {
			if got := names(tc.query); got != tc.want {
				t.Errorf("list %q = %q, want %q", tc.query, got, tc.want)
			}
		}
		var m struct {
			Description string
			Tags        map[string]string
		}
		e.expect(e.do("PATCH", "/api/v1/models/beta", map[string]any{"description": "changed"}), http.StatusOK, &m)
		if m.Description != "changed" || m.Tags["team"] != "growth" {
			t.Fatalf("patched = %+v", m)
		}
		e.expect(e.do("PATCH", "/api/v1/models/beta", map[string]any{"tags": map[string]string{"team": "risk"}}), http.StatusOK, &m)
		if m.Description != "changed" || len(m.Tags) != 1 || m.Tags["team"] != "risk" {
			t.Fatalf("patched tags = %+v", m)
		}
		if got := names("tag=team:risk"); got != "alpha,beta,gamma" {
			t.Errorf("after patch: %q", got)
		}
		e.expectError(e.do("PATCH", "/api/v1/models/nope", map[string]any{"description": "x"}), http.StatusNotFound, "not_found", "nope")
		e.expectError(e.do("DELETE", "/api/v1/models/nope", nil), http.StatusNotFound, "not_found", "nope")
		e.expectError(e.do("POST", "/api/v1/models/nope/versions", map[string]any{}), http.StatusNotFound, "not_found", "nope")
		e.expectError(e.do("GET", "/api/v1/models/alpha/versions/9", nil), http.StatusNotFound, "not_found", "")
		e.expectError(e.do("GET", "/api/v1/models/alpha/versions/9/files", nil), http.StatusNotFound, "not_found", "")
		e.expectError(e.do("GET", "/api/v1/models/nope/versions", nil), http.StatusNotFound, "not_found", "nope")
		e.expectError(e.do("POST", "/api/v1/models/alpha/versions/9/finalize", nil), http.StatusNotFound, "not_found", "")
		e.expectError(e.do("GET", "/api/v1/models/alpha/versions/9/files/a.bin", nil), http.StatusNotFound, "not_found", "")
		e.expectError(e.do("PUT", "/api/v1/models/alpha/versions/9/files/a.bin", []byte("x")), http.StatusNotFound, "not_found", "")
		n := e.mustCreateVersion("alpha")
		e.expectError(e.do("POST", fmt.Sprintf("/api/v1/models/alpha/versions/%d/finalize", n), nil), http.StatusPreconditionFailed, "precondition_failed", "no files")
		e.expectError(e.do("GET", fmt.Sprintf("/api/v1/models/alpha/versions/%d/files/missing.bin", n), nil), http.StatusNotFound, "not_found", "")

		// Within a model, numbers only grow, one at a time.
		n2 := e.mustCreateVersion("alpha")
		if n2 != n+1 {
			t.Fatalf("second version = %d, want %d", n2, n+1)
		}
		var vs []int
		for range 3 {
			vs = append(vs, e.mustCreateVersion("beta"))
		}
		sort.Ints(vs)
		if fmt.Sprint(vs) != "[1 2 3]" {
			t.Fatalf("beta versions %v", vs)
		}
	})
}
