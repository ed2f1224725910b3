package server_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/store/blob"
)

// putPart sends part n of the pattern with the given checksum ("" for the
// right one) and returns the response.
func (e *env) putPart(base string, u uploadSession, seed byte, n int, sum string) *http.Response {
	e.t.Helper()
	off, size := u.partRange(n)
	if sum == "" {
		sum = patternSHA(seed, off, size)
	}
	return e.do("PUT", fmt.Sprintf("%s/uploads/%s/parts/%d", base, u.ID, n), patternAt(seed, off, size), "X-Checksum-Sha256", sum)
}

// TestUploadChecksums: a part with a wrong checksum is refused (422) and not
// received, then sent again; parts must have their size and a checksum;
// completion waits for every part (409 naming the missing ones) and keeps
// nothing when the whole file does not match (422); one open session per
// path; aborting; roles and model scopes; every start, completion and
// abort audited.
func TestUploadChecksums(t *testing.T) {
	const seed = 3
	const size = 2*(5<<20) + 2<<20 + 100 // three parts of 5 MiB, 5 MiB and the rest
	forEachBackendFlags(t, []string{"--upload-part-size", "5MiB"}, func(t *testing.T, e *env) {
		e.mustCreateModel("m")
		n := e.mustCreateVersion("m")
		base := fmt.Sprintf("/api/v1/models/m/versions/%d", n)
		digest := patternSHA(seed, 0, size)
		var u uploadSession
		e.expect(e.do("POST", base+"/uploads", map[string]any{"path": "w/model.bin", "size": size, "sha256": digest}), http.StatusCreated, &u)
		if u.PartCount != 3 || u.PartSize != 5<<20 || u.SHA256 != digest {
			t.Fatalf("session %+v", u)
		}

		// A wrong checksum: refused, not received; then sent right.
		e.expectError(e.putPart(base, u, seed, 2, strings.Repeat("0", 64)), http.StatusUnprocessableEntity, "digest_mismatch", "part 2")
		var got uploadSession
		e.expect(e.do("GET", base+"/uploads/"+u.ID, nil), http.StatusOK, &got)
		if len(got.Parts) != 0 {
			t.Fatalf("parts after a refused one: %+v", got.Parts)
		}
		e.expect(e.putPart(base, u, seed, 2, ""), http.StatusOK, nil)
		e.expect(e.putPart(base, u, seed, 2, ""), http.StatusOK, nil) // again: replaces it
		e.expectError(e.do("PUT", base+"/uploads/"+u.ID+"/parts/3", []byte("short")), http.StatusBadRequest, "invalid_argument", "X-Checksum-Sha256")
		e.expectError(e.do("PUT", base+"/uploads/"+u.ID+"/parts/3", []byte("short"), "X-Checksum-Sha256", sha256Hex([]byte("short"))),
			http.StatusBadRequest, "invalid_argument", "must have")
		e.expectError(e.do("PUT", base+"/uploads/"+u.ID+"/parts/4", []byte("x"), "X-Checksum-Sha256", sha256Hex([]byte("x"))),
			http.StatusBadRequest, "invalid_argument", "parts 1 to 3")
		e.expect(e.putPart(base, u, seed, 3, ""), http.StatusOK, nil)
		e.expectError(e.do("POST", base+"/uploads/"+u.ID+"/complete", nil), http.StatusConflict, "conflict", "missing parts 1 ")
		e.expect(e.putPart(base, u, seed, 1, ""), http.StatusOK, nil)
		e.expect(e.do("GET", base+"/uploads/"+u.ID, nil), http.StatusOK, &got)
		if len(got.Parts) != 3 || got.ReceivedBytes != size {
			t.Fatalf("parts %+v, %d bytes", got.Parts, got.ReceivedBytes)
		}
		var f struct {
			SHA256 string
			Size   int64
		}
		e.expect(e.do("POST", base+"/uploads/"+u.ID+"/complete", nil), http.StatusCreated, &f)
		if f.SHA256 != digest || f.Size != size {
			t.Fatalf("file %+v", f)
		}
		resp := e.do("GET", base+"/files/w/model.bin", nil)
		h := sha256.New()
		io.Copy(h, resp.Body)
		resp.Body.Close()
		if hex.EncodeToString(h.Sum(nil)) != digest {
			t.Fatal("downloaded file differs")
		}
		e.expectError(e.putPart(base, u, seed, 1, ""), http.StatusConflict, "conflict", "completed")

		// One open session per path; abort.
		var a uploadSession
		e.expect(e.do("POST", base+"/uploads", map[string]any{"path": "other.bin", "size": 10}), http.StatusCreated, &a)
		e.expectError(e.do("POST", base+"/uploads", map[string]any{"path": "other.bin", "size": 10}), http.StatusConflict, "conflict", "open already")
		var open struct{ Uploads []uploadSession }
		e.expect(e.do("GET", base+"/uploads?status=open", nil), http.StatusOK, &open)
		if len(open.Uploads) != 1 || open.Uploads[0].ID != a.ID {
			t.Fatalf("open sessions %+v", open.Uploads)
		}
		e.expect(e.do("DELETE", base+"/uploads/"+a.ID, nil), http.StatusNoContent, nil)
		e.expect(e.do("DELETE", base+"/uploads/"+a.ID, nil), http.StatusNoContent, nil)
		e.expectError(e.do("PUT", base+"/uploads/"+a.ID+"/parts/1", []byte("0123456789"), "X-Checksum-Sha256", sha256Hex([]byte("0123456789"))),
			http.StatusConflict, "conflict", "aborted")
		e.expect(e.do("POST", base+"/uploads", map[string]any{"path": "other.bin", "size": 10}), http.StatusCreated, &a)
		e.expect(e.do("DELETE", base+"/uploads/"+a.ID, nil), http.StatusNoContent, nil)

		// The whole file does not match what the session announced.
		var bad uploadSession
		e.expect(e.do("POST", base+"/uploads", map[string]any{"path": "bad.bin", "size": size, "sha256": patternSHA(seed+1, 0, size)}), http.StatusCreated, &bad)
		for i := 3; i >= 1; i-- { // backwards: nothing is hashed in order, all is read back
			e.expect(e.putPart(base, bad, seed, i, ""), http.StatusOK, nil)
		}
		e.expectError(e.do("POST", base+"/uploads/"+bad.ID+"/complete", nil), http.StatusUnprocessableEntity, "digest_mismatch", "nothing was kept")
		e.expect(e.do("GET", base+"/uploads/"+bad.ID, nil), http.StatusOK, &got)
		if got.Status != "failed" {
			t.Errorf("status after a mismatch %q, want failed", got.Status)
		}
		e.expectError(e.do("GET", base+"/files/bad.bin", nil), http.StatusNotFound, "not_found", "bad.bin")

		// Roles and model scopes, as for PUT.
		deployer := e.issue("dep", []string{modelkeep.RoleDeployer})
		e.as(deployer).expectError(e.as(deployer).do("POST", base+"/uploads", map[string]any{"path": "x", "size": 1}), http.StatusForbidden, "forbidden", "")
		other := e.issue("pub-other", []string{modelkeep.RolePublisher}, "other-*")
		e.as(other).expectError(e.as(other).do("POST", base+"/uploads", map[string]any{"path": "x", "size": 1}), http.StatusForbidden, "forbidden", "not valid for model")
		e.as(other).expectError(e.as(other).do("PUT", base+"/uploads/"+u.ID+"/parts/1", []byte("x"), "X-Checksum-Sha256", sha256Hex([]byte("x"))),
			http.StatusForbidden, "forbidden", "not valid for model")

		for action, want := range map[string]int{"upload.start": 4, "upload.complete": 1, "upload.abort": 2, "upload.complete.refused": 1} {
			if got := len(e.auditEvents("action=" + action)); got != want {
				t.Errorf("%d %s events, want %d", got, action, want)
			}
		}

		// A ready version takes no new session.
		e.expect(e.do("POST", base+"/finalize", nil), http.StatusOK, nil)
		e.expectError(e.do("POST", base+"/uploads", map[string]any{"path": "late.bin", "size": 1}), http.StatusConflict, "conflict", "immutable")
		assertNoMultipart(t, e.blobs)
		if keys := e.blobKeys(); len(keys) != 1 {
			t.Errorf("blobs %v, want the one file", keys)
		}
	})
}

// TestUploadSweep: a session nobody completes expires with its parts
// (audited), a multipart upload that nobody owns (as a server killed during
// a chunked PUT leaves) is aborted once idle for the minimum age, and a live
// session's upload is left alone; final sessions are removed later.
func TestUploadSweep(t *testing.T) {
	const seed = 5
	forEachBackendFlags(t, []string{"--upload-part-size", "5MiB"}, func(t *testing.T, e *env) {
		e.mustCreateModel("m")
		n := e.mustCreateVersion("m")
		base := fmt.Sprintf("/api/v1/models/m/versions/%d", n)
		var abandoned, live uploadSession
		e.expect(e.do("POST", base+"/uploads", map[string]any{"path": "a.bin", "size": 12 << 20}), http.StatusCreated, &abandoned)
		e.expect(e.putPart(base, abandoned, seed, 1, ""), http.StatusOK, nil)
		e.expect(e.putPart(base, abandoned, seed, 2, ""), http.StatusOK, nil)

		// What a server killed in a chunked PUT leaves behind.
		store, err := blob.Open(context.Background(), e.blobs, t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		mp := store.(modelkeep.Multipart)
		killedKey := fmt.Sprintf("files/m/%d/killed-put", n)
		id, err := mp.CreateMultipart(context.Background(), killedKey)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := mp.PutPart(context.Background(), killedKey, id, 1, patternAt(seed, 0, 5<<20), 5<<20, ""); err != nil {
			t.Fatal(err)
		}
		e.expect(e.do("POST", base+"/uploads", map[string]any{"path": "b.bin", "size": 100}), http.StatusCreated, &live)
		if got := openUploads(t, e.blobs); len(got) != 3 {
			t.Fatalf("multipart uploads before the sweep: %v", got)
		}

		// A minute on: the orphan has been idle for the minimum age, the
		// sessions have not expired.
		res, err := e.srv.SweepUploads(context.Background(), time.Now().Add(time.Minute), time.Second)
		if err != nil || res.Aborted != 1 || res.Expired != 0 {
			t.Fatalf("sweep a minute on: %+v, %v", res, err)
		}
		if got := openUploads(t, e.blobs); len(got) != 2 || strings.Contains(strings.Join(got, " "), "killed-put") {
			t.Fatalf("multipart uploads after the first sweep: %v", got)
		}
		// The live session still works.
		e.expect(e.do("PUT", base+"/uploads/"+live.ID+"/parts/1", patternAt(seed, 0, 100), "X-Checksum-Sha256", patternSHA(seed, 0, 100)), http.StatusOK, nil)

		// A day and more on: both sessions expired; their parts are gone.
		res, err = e.srv.SweepUploads(context.Background(), time.Now().Add(25*time.Hour), time.Second)
		if err != nil || res.Expired != 2 {
			t.Fatalf("sweep a day on: %+v, %v", res, err)
		}
		assertNoMultipart(t, e.blobs)
		var got uploadSession
		e.expect(e.do("GET", base+"/uploads/"+abandoned.ID, nil), http.StatusOK, &got)
		if got.Status != "expired" {
			t.Errorf("status %q, want expired", got.Status)
		}
		e.expectError(e.putPart(base, abandoned, seed, 3, ""), http.StatusConflict, "conflict", "expired")
		if got := len(e.auditEvents("action=upload.expire")); got != 2 {
			t.Errorf("%d upload.expire events, want 2", got)
		}
		// Two days on: the final sessions are removed.
		res, err = e.srv.SweepUploads(context.Background(), time.Now().Add(49*time.Hour), time.Second)
		if err != nil || res.Removed != 2 {
			t.Fatalf("sweep two days on: %+v, %v", res, err)
		}
		e.expectError(e.do("GET", base+"/uploads/"+abandoned.ID, nil), http.StatusNotFound, "not_found", "")
		if keys := e.blobKeys(); len(keys) != 0 {
			t.Errorf("blobs left: %v", keys)
		}
	})
}

// TestUploadCompleteChecksum: a session that announced no SHA-256 can be
// completed with the whole file's in X-Checksum-Sha256; another file's is
// a 422, the session fails and nothing joins the version; the right one
// completes.
func TestUploadCompleteChecksum(t *testing.T) {
	const seed = 9
	const size = 5<<20 + 100 // two parts
	forEachBackendFlags(t, []string{"--upload-part-size", "5MiB"}, func(t *testing.T, e *env) {
		e.mustCreateModel("m")
		n := e.mustCreateVersion("m")
		base := fmt.Sprintf("/api/v1/models/m/versions/%d", n)
		digest := patternSHA(seed, 0, size)
		send := func(path string) uploadSession {
			var u uploadSession
			e.expect(e.do("POST", base+"/uploads", map[string]any{"path": path, "size": size}), http.StatusCreated, &u)
			for p := 1; p <= u.PartCount; p++ {
				e.expect(e.putPart(base, u, seed, p, ""), http.StatusOK, nil)
			}
			return u
		}
		bad := send("bad.bin")
		e.expectError(e.do("POST", base+"/uploads/"+bad.ID+"/complete", nil, "X-Checksum-Sha256", patternSHA(seed+1, 0, size)),
			http.StatusUnprocessableEntity, "digest_mismatch", "X-Checksum-Sha256")
		var got uploadSession
		e.expect(e.do("GET", base+"/uploads/"+bad.ID, nil), http.StatusOK, &got)
		if got.Status != "failed" {
			t.Errorf("status after a mismatch %q, want failed", got.Status)
		}
		e.expectError(e.do("GET", base+"/files/bad.bin", nil), http.StatusNotFound, "not_found", "bad.bin")

		good := send("good.bin")
		var f struct{ SHA256 string }
		e.expect(e.do("POST", base+"/uploads/"+good.ID+"/complete", nil, "X-Checksum-Sha256", digest), http.StatusCreated, &f)
		if f.SHA256 != digest {
			t.Fatalf("file sha256 %s, want %s", f.SHA256, digest)
		}

		// A header that contradicts the SHA-256 the session announced is
		// refused before anything is read, and the session stays open.
		var announced uploadSession
		e.expect(e.do("POST", base+"/uploads", map[string]any{"path": "announced.bin", "size": size, "sha256": digest}), http.StatusCreated, &announced)
		for p := 1; p <= announced.PartCount; p++ {
			e.expect(e.putPart(base, announced, seed, p, ""), http.StatusOK, nil)
		}
		e.expectError(e.do("POST", base+"/uploads/"+announced.ID+"/complete", nil, "X-Checksum-Sha256", patternSHA(seed+1, 0, size)),
			http.StatusUnprocessableEntity, "digest_mismatch", "announced sha256 "+digest)
		e.expect(e.do("GET", base+"/uploads/"+announced.ID, nil), http.StatusOK, &got)
		if got.Status != "open" {
			t.Errorf("status after a contradicting header %q, want open", got.Status)
		}
		e.expect(e.do("POST", base+"/uploads/"+announced.ID+"/complete", nil), http.StatusCreated, &f)
	})
}
