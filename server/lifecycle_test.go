package server_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"testing"

	"github.com/modelkeep/modelkeep"
)

// details decodes an audit event's details.
func details(t *testing.T, ev auditEvent) map[string]any {
	t.Helper()
	var d map[string]any
	if err := json.Unmarshal(ev.Details, &d); err != nil {
		t.Fatalf("details %s: %v", ev.Details, err)
	}
	return d
}

// TestLifecycle: deleting a pending version or one file of it, and HEAD of
// a file (issue 15), each in a subtest, on one server per backend (with the
// smallest part size of resumable uploads, 5 MiB).
func TestLifecycle(t *testing.T) {
	forEachBackendFlags(t, []string{"--upload-part-size", "5MiB"}, func(t *testing.T, e *env) {
		for _, c := range []struct {
			name string
			fn   func(*testing.T, *env)
		}{
			{"delete version", deleteVersion},
			{"delete file", deleteFile},
			{"head file", headFile},
		} {
			t.Run(c.name, func(t *testing.T) { c.fn(t, e.on(t)) })
		}
	})
}

// deleteVersion: a pending version that will never be finalized is
// deleted with its files' blobs and its open upload session (the multipart
// upload aborted), audited; a ready version is refused (409) and keeps its
// files; the number is not handed out again; a deployer may not delete.
func deleteVersion(t *testing.T, e *env) {
	e.mustCreateModel("lc")
	kept := e.mustCreateVersion("lc")
	e.expect(e.do("PUT", fmt.Sprintf("/api/v1/models/lc/versions/%d/files/model.bin", kept), []byte("kept")), http.StatusCreated, nil)
	e.expect(e.do("POST", fmt.Sprintf("/api/v1/models/lc/versions/%d/finalize", kept), nil), http.StatusOK, nil)
	keptBlobs := e.blobKeys()

	n := e.mustCreateVersion("lc")
	base := fmt.Sprintf("/api/v1/models/lc/versions/%d", n)
	for _, p := range []string{"weights/a.bin", "b.txt"} {
		e.expect(e.do("PUT", base+"/files/"+p, []byte("bytes of "+p)), http.StatusCreated, nil)
	}
	e.expect(e.do("POST", base+"/metrics", map[string]any{"metrics": []map[string]any{{"key": "auc", "value": 0.5}}}), http.StatusCreated, nil)
	// An open resumable upload with one part received (of two).
	part := make([]byte, modelkeep.MinPartSize)
	var u uploadSession
	e.expect(e.do("POST", base+"/uploads", map[string]any{"path": "big.bin", "size": len(part) + 10}), http.StatusCreated, &u)
	e.expect(e.do("PUT", base+"/uploads/"+u.ID+"/parts/1", part, "X-Checksum-Sha256", sha256Hex(part)), http.StatusOK, nil)
	if open := openUploads(t, e.blobs); len(open) != 1 {
		t.Fatalf("multipart uploads before the delete: %v", open)
	}
	if got := len(e.blobKeys()); got < len(keptBlobs)+2 {
		t.Fatalf("%d blobs before the delete, want at least %d", got, len(keptBlobs)+2)
	}

	deployer := e.as(e.issue("dep", []string{modelkeep.RoleDeployer}))
	deployer.expectError(deployer.do("DELETE", base, nil), http.StatusForbidden, "forbidden", "deleteVersion")
	e.expectError(e.do("DELETE", fmt.Sprintf("/api/v1/models/lc/versions/%d", kept), nil), http.StatusConflict, "conflict", "only a pending version")
	publisher := e.as(e.issue("pub", []string{modelkeep.RolePublisher}, "lc"))
	publisher.expect(publisher.do("DELETE", base, nil), http.StatusNoContent, nil)

	e.expectError(e.do("GET", base, nil), http.StatusNotFound, "not_found", strconv.Itoa(n))
	e.expectError(e.do("DELETE", base, nil), http.StatusNotFound, "not_found", strconv.Itoa(n))
	if got := e.blobKeys(); !slices.Equal(got, keptBlobs) {
		t.Errorf("blobs after the delete %v, want only the ready version's %v", got, keptBlobs)
	}
	assertNoMultipart(t, e.blobs)
	// The ready version is untouched.
	resp := e.do("GET", fmt.Sprintf("/api/v1/models/lc/versions/%d/files/model.bin", kept), nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "kept" {
		t.Errorf("the ready version's file: %d %q", resp.StatusCode, body)
	}
	if next := e.mustCreateVersion("lc"); next != n+1 {
		t.Errorf("the version after the deleted %d is %d: numbers are never reused", n, next)
	}
	events := e.auditEvents("action=version.delete")
	if len(events) != 1 || events[0].Resource != fmt.Sprintf("models/lc/versions/%d", n) ||
		details(t, events[0])["files"] != float64(2) || details(t, events[0])["open_uploads"] != float64(1) {
		t.Errorf("version.delete events %+v", events)
	}
}

// deleteFile: one file of a pending version goes, with its blob,
// audited; the others stay; 404 for a file that is not there, 409 once the
// version is ready.
func deleteFile(t *testing.T, e *env) {
	e.mustCreateModel("df")
	n := e.mustCreateVersion("df")
	base := fmt.Sprintf("/api/v1/models/df/versions/%d", n)
	for _, p := range []string{"dir/wrong.bin", "right.bin"} {
		e.expect(e.do("PUT", base+"/files/"+p, []byte("bytes of "+p)), http.StatusCreated, nil)
	}
	before := e.blobKeys()
	// The percent-encoded form names the same file.
	e.expect(e.do("DELETE", base+"/files/dir%2Fwrong.bin", nil), http.StatusNoContent, nil)
	e.expectError(e.do("GET", base+"/files/dir/wrong.bin", nil), http.StatusNotFound, "not_found", "dir/wrong.bin")
	e.expectError(e.do("DELETE", base+"/files/dir/wrong.bin", nil), http.StatusNotFound, "not_found", "dir/wrong.bin")
	e.expectError(e.do("DELETE", base+"/files/a/../b", nil), http.StatusBadRequest, "invalid_argument", "")
	if after := e.blobKeys(); len(after) != len(before)-1 {
		t.Errorf("blobs %v after deleting one of %v", after, before)
	}
	var list struct {
		Files []struct{ Path string }
	}
	e.expect(e.do("GET", base+"/files", nil), http.StatusOK, &list)
	if len(list.Files) != 1 || list.Files[0].Path != "right.bin" {
		t.Errorf("files after the delete: %+v", list.Files)
	}
	events := e.auditEvents("action=file.delete")
	if len(events) != 1 || events[0].Resource != fmt.Sprintf("models/df/versions/%d", n) ||
		details(t, events[0])["path"] != "dir/wrong.bin" || details(t, events[0])["sha256"] != sha256Hex([]byte("bytes of dir/wrong.bin")) {
		t.Errorf("file.delete events %+v", events)
	}
	e.expect(e.do("POST", base+"/finalize", nil), http.StatusOK, nil)
	e.expectError(e.do("DELETE", base+"/files/right.bin", nil), http.StatusConflict, "conflict", "not pending")
	deployer := e.as(e.issue("dep", []string{modelkeep.RoleDeployer}))
	deployer.expectError(deployer.do("DELETE", base+"/files/right.bin", nil), http.StatusForbidden, "forbidden", "deleteFile")
}

// headFile: HEAD of a file answers the download's headers without a
// body (200, 206 for a range, 304, 416) and records no download; GET
// records one.
func headFile(t *testing.T, e *env) {
	e.mustCreateModel("hf")
	n := e.mustCreateVersion("hf")
	path := fmt.Sprintf("/api/v1/models/hf/versions/%d/files/w/model.bin", n)
	content := []byte("0123456789abcdef")
	sum := sha256Hex(content)
	e.expect(e.do("PUT", path, content), http.StatusCreated, nil)

	// A deployer reads released versions only, by HEAD as by GET.
	deployer := e.as(e.issue("dep", []string{modelkeep.RoleDeployer}))
	if resp := deployer.do("HEAD", path, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("deployer's HEAD of a pending version: %d, want 403", resp.StatusCode)
	}
	e.expect(e.do("POST", fmt.Sprintf("/api/v1/models/hf/versions/%d/finalize", n), nil), http.StatusOK, nil)

	downloads := len(e.auditEvents("action=file.download"))
	get := e.do("GET", path, nil)
	_, _ = io.Copy(io.Discard, get.Body)
	get.Body.Close()
	for _, tc := range []struct {
		name    string
		headers []string
		status  int
		length  string
		crange  string
	}{
		{"whole", nil, http.StatusOK, "16", ""},
		{"range", []string{"Range", "bytes=2-5"}, http.StatusPartialContent, "4", "bytes 2-5/16"},
		{"not modified", []string{"If-None-Match", strconv.Quote(sum)}, http.StatusNotModified, "", ""},
		{"unsatisfiable", []string{"Range", "bytes=99-"}, http.StatusRequestedRangeNotSatisfiable, "", "bytes */16"},
		{"redirect ignored", nil, http.StatusOK, "16", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := path
			if tc.name == "redirect ignored" {
				p += "?redirect=true"
			}
			resp := e.on(t).do("HEAD", p, nil, tc.headers...)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			h := resp.Header
			if resp.StatusCode != tc.status || len(body) != 0 {
				t.Fatalf("HEAD: %d with %d bytes of body, want %d and none", resp.StatusCode, len(body), tc.status)
			}
			if tc.length != "" && h.Get("Content-Length") != tc.length {
				t.Errorf("Content-Length %q, want %q", h.Get("Content-Length"), tc.length)
			}
			if h.Get("Content-Range") != tc.crange {
				t.Errorf("Content-Range %q, want %q", h.Get("Content-Range"), tc.crange)
			}
			if tc.status >= 300 {
				return
			}
			for _, k := range []string{"ETag", "X-Checksum-Sha256", "Content-Type", "Accept-Ranges", "Content-Disposition"} {
				if h.Get(k) != get.Header.Get(k) || h.Get(k) == "" {
					t.Errorf("%s: HEAD %q, GET %q", k, h.Get(k), get.Header.Get(k))
				}
			}
		})
	}
	e.expectError(e.do("GET", path+"x", nil), http.StatusNotFound, "not_found", "")
	if resp := e.do("HEAD", path+"x", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("HEAD of a missing file: %d", resp.StatusCode)
	}
	if got := len(e.auditEvents("action=file.download")) - downloads; got != 1 {
		t.Errorf("%d file.download events after one GET and five HEADs, want 1", got)
	}
}
