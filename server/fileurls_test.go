package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

// TestPresignFiles: POST .../file-urls hands out presigned URLs of several
// files of a version at once on S3, each fetched straight from the bucket
// (ranges too) without credentials, and records one file.presign per file;
// the download rules apply (a deployer gets nothing of a version that is
// not released, and the refusal is recorded); bad lists are refused before
// anything is recorded; on disk the route answers 409, recording nothing.
func TestPresignFiles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		onS3 := strings.HasPrefix(e.blobs, "s3://")
		e.mustCreateModel("m")
		n := e.mustCreateVersion("m")
		base := fmt.Sprintf("/api/v1/models/m/versions/%d", n)
		files := map[string][]byte{"a.bin": []byte("first file"), "dir/b.json": []byte(`{"b":2}`), "empty": {}}
		for p, b := range files {
			e.expect(e.do("PUT", base+"/files/"+p, b), http.StatusCreated, nil)
		}
		e.expect(e.do("POST", base+"/finalize", nil), http.StatusOK, nil)
		ask := func(e *env, paths ...string) *http.Response {
			return e.do("POST", base+"/file-urls", map[string]any{"paths": paths})
		}
		presigns := func() int { return len(e.auditEvents("action=file.presign")) }

		if !onS3 {
			e.expectError(ask(e, "a.bin"), http.StatusConflict, "conflict", "GET .../files/{path}")
			if got := presigns(); got != 0 {
				t.Errorf("%d file.presign events on disk, want none", got)
			}
			return
		}

		var got struct {
			Files []struct {
				Path   string `json:"path"`
				Size   int64  `json:"size"`
				SHA256 string `json:"sha256"`
				URL    string `json:"url"`
			} `json:"files"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		e.expect(ask(e, "dir/b.json", "a.bin", "empty"), http.StatusOK, &got)
		if len(got.Files) != 3 || got.Files[0].Path != "dir/b.json" || got.Files[1].Path != "a.bin" || got.ExpiresAt.Before(time.Now()) {
			t.Fatalf("file URLs %+v, expiring at %v", got.Files, got.ExpiresAt)
		}
		for _, f := range got.Files {
			want := files[f.Path]
			if sum := sha256.Sum256(want); f.SHA256 != hex.EncodeToString(sum[:]) || f.Size != int64(len(want)) {
				t.Errorf("%s: %d bytes with sha256 %s, want %d bytes", f.Path, f.Size, f.SHA256, len(want))
			}
			if strings.Contains(e.logs.String(), f.URL) {
				t.Errorf("the server logged the presigned URL of %s", f.Path)
			}
			resp, err := http.Get(f.URL) // no credentials: the URL is one
			if err != nil {
				t.Fatalf("GET %s's presigned URL: %v", f.Path, err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || string(body) != string(want) {
				t.Errorf("%s from its presigned URL: %d, %q", f.Path, resp.StatusCode, body)
			}
		}
		req, _ := http.NewRequest("GET", got.Files[1].URL, nil)
		req.Header.Set("Range", "bytes=6-9")
		if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusPartialContent {
			t.Errorf("a range of a presigned URL: %v, %v", resp, err)
		} else {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if string(body) != "file" {
				t.Errorf("range: %q", body)
			}
		}
		if got := presigns(); got != 3 {
			t.Errorf("%d file.presign events, want one per file (3)", got)
		}

		// Refused before anything is recorded.
		e.expectError(ask(e, "a.bin", "missing.bin"), http.StatusNotFound, "not_found", "")
		e.expectError(ask(e, "a.bin", "a.bin"), http.StatusBadRequest, "invalid_argument", "named twice")
		e.expectError(ask(e, "../a.bin"), http.StatusBadRequest, "invalid_argument", "")
		e.expectError(e.do("POST", base+"/file-urls", map[string]any{"paths": []string{}}), http.StatusBadRequest, "invalid_argument", "")
		many := make([]string, modelkeep.MaxPresignFiles+1)
		for i := range many {
			many[i] = fmt.Sprintf("f%d", i)
		}
		e.expectError(e.do("POST", base+"/file-urls", map[string]any{"paths": many}), http.StatusBadRequest, "invalid_argument", "")
		if got := presigns(); got != 3 {
			t.Errorf("%d file.presign events after refused lists, want still 3", got)
		}

		// The download rules: a deployer gets released versions only.
		deployer := e.issue("dep", []string{modelkeep.RoleDeployer})
		d := e.as(deployer)
		d.expectError(ask(d, "a.bin"), http.StatusForbidden, "forbidden", "staging or production")
		if denied := e.auditEvents("action=access.denied"); len(denied) == 0 || !strings.Contains(string(denied[len(denied)-1].Details), "presignFiles") {
			t.Errorf("the deployer's refusal is not recorded: %+v", denied)
		}
		other := e.issue("pub-other", []string{modelkeep.RolePublisher}, "other-*")
		e.as(other).expectError(ask(e.as(other), "a.bin"), http.StatusForbidden, "forbidden", "not valid for model")
		if got := presigns(); got != 3 {
			t.Errorf("%d file.presign events after refusals, want still 3", got)
		}
	})
}
