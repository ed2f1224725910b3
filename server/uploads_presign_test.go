package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

// partURL is one request of POST .../part-urls.
type partURL struct {
	Number  int               `json:"number"`
	Size    int64             `json:"size"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

// presignParts asks for the requests of the given parts of the pattern
// (each with its right CRC32C, or the one in sums when set).
func (e *env) presignParts(base string, u uploadSession, seed byte, parts []int, sums map[int]string) *http.Response {
	e.t.Helper()
	var list []map[string]any
	for _, n := range parts {
		sum := sums[n]
		if sum == "" {
			off, size := u.partRange(n)
			sum = patternCRC32C(seed, off, size)
		}
		list = append(list, map[string]any{"number": n, "crc32c": sum})
	}
	return e.do("POST", base+"/uploads/"+u.ID+"/part-urls", map[string]any{"parts": list})
}

// patternCRC32C is the hex CRC32C (Castagnoli, big-endian) of a pattern
// range, as S3 checks and keeps a part's.
func patternCRC32C(seed byte, off, n int64) string {
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	_, _ = io.Copy(h, patternAt(seed, off, n))
	return hex.EncodeToString(h.Sum(nil))
}

// sendPresigned sends part p of the pattern (with its first byte flipped
// when corrupt) to its presigned URL as a client does: plain net/http, the
// headers given, no Authorization. It returns the blob store's status.
func sendPresigned(t *testing.T, u uploadSession, seed byte, p partURL, corrupt bool) int {
	t.Helper()
	off, size := u.partRange(p.Number)
	data, _ := io.ReadAll(patternAt(seed, off, size))
	if corrupt {
		data[0] ^= 0xff
	}
	req, err := http.NewRequest(p.Method, p.URL, strings.NewReader(string(data)))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range p.Headers {
		if http.CanonicalHeaderKey(k) != "Content-Length" {
			req.Header.Set(k, v)
		}
	}
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("send part %d to its presigned URL: %v", p.Number, err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode
}

// TestUploadPresignedParts: on S3 a session's parts go straight to the
// bucket with presigned requests (the server never sees their bytes), mixed
// with a part sent through the server; the bucket refuses a part whose
// bytes differ from the SHA-256 it was presigned with; the session lists
// the parts the bucket holds, for a resume; completion reads the file back
// and keeps it only when its whole SHA-256 and size match (422 and nothing
// kept otherwise). Asking for URLs follows the roles and model scopes of a
// part's PUT and is not audited part by part. On disk the session says it
// takes no presigned parts and the route answers 409.
func TestUploadPresignedParts(t *testing.T) {
	const seed = 5
	const size = 2*(5<<20) + 1<<20 + 77 // three parts
	forEachBackendFlags(t, []string{"--upload-part-size", "5MiB"}, func(t *testing.T, e *env) {
		onS3 := strings.HasPrefix(e.blobs, "s3://")
		e.mustCreateModel("m")
		n := e.mustCreateVersion("m")
		base := fmt.Sprintf("/api/v1/models/m/versions/%d", n)
		digest := patternSHA(seed, 0, size)
		var u struct {
			uploadSession
			PresignedParts bool `json:"presigned_parts"`
		}
		e.expect(e.do("POST", base+"/uploads", map[string]any{"path": "w.bin", "size": size, "sha256": digest}), http.StatusCreated, &u)
		if u.PresignedParts != onS3 || u.PartCount != 3 || (u.PartChecksum == "crc32c") != onS3 {
			t.Fatalf("session %+v: presigned_parts %v on %s", u.uploadSession, u.PresignedParts, e.blobs)
		}
		if !onS3 {
			e.expectError(e.presignParts(base, u.uploadSession, seed, []int{1}, nil), http.StatusConflict, "conflict", "PUT .../parts/")
			return
		}

		var urls struct {
			Parts     []partURL `json:"parts"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		before := time.Now()
		e.expect(e.presignParts(base, u.uploadSession, seed, []int{2, 1}, nil), http.StatusOK, &urls)
		if len(urls.Parts) != 2 || urls.Parts[0].Number != 2 || urls.Parts[1].Number != 1 ||
			urls.ExpiresAt.Before(before.Add(4*time.Minute)) || urls.ExpiresAt.After(time.Now().Add(6*time.Minute)) {
			t.Fatalf("part URLs %+v, expiring at %v", urls.Parts, urls.ExpiresAt)
		}
		for _, p := range urls.Parts {
			if p.Method != http.MethodPut || p.Size != 5<<20 || p.Headers["X-Amz-Checksum-Crc32c"] == "" {
				t.Fatalf("part URL %+v", p)
			}
			if strings.Contains(e.logs.String(), p.URL) {
				t.Errorf("the server logged the presigned URL of part %d", p.Number)
			}
		}
		// Corrupted on the way: the bucket refuses it; the session has no part 2.
		if code := sendPresigned(t, u.uploadSession, seed, urls.Parts[0], true); code != http.StatusBadRequest {
			t.Fatalf("a corrupted part sent to its presigned URL: status %d, want 400", code)
		}
		var got uploadSession
		e.expect(e.do("GET", base+"/uploads/"+u.ID, nil), http.StatusOK, &got)
		if len(got.Parts) != 0 {
			t.Fatalf("parts after a refused one: %+v", got.Parts)
		}
		for _, p := range urls.Parts {
			if code := sendPresigned(t, u.uploadSession, seed, p, false); code != http.StatusOK {
				t.Fatalf("part %d sent to its presigned URL: status %d", p.Number, code)
			}
		}
		// Through the server with a SHA-256 its bytes do not have: the bucket
		// checks no SHA-256 for this session's parts, the server does, and
		// holds the part's last bytes back, so the bucket keeps nothing.
		off3, size3 := u.partRange(3)
		e.expectError(e.putPart(base, u.uploadSession, seed, 3, patternSHA(seed+1, off3, size3)), http.StatusUnprocessableEntity, "digest_mismatch", "part 3")
		e.expect(e.do("GET", base+"/uploads/"+u.ID, nil), http.StatusOK, &got)
		if len(got.Parts) != 2 {
			t.Fatalf("parts after a refused part 3: %+v", got.Parts)
		}
		e.expect(e.putPart(base, u.uploadSession, seed, 3, ""), http.StatusOK, nil) // through the server
		e.expect(e.do("GET", base+"/uploads/"+u.ID, nil), http.StatusOK, &got)
		if len(got.Parts) != 3 || got.ReceivedBytes != size {
			t.Fatalf("parts %+v, %d bytes received", got.Parts, got.ReceivedBytes)
		}
		// Each part with the CRC32C the bucket keeps; the one that passed
		// through the server with its SHA-256 too (the server hashed it).
		for _, p := range got.Parts {
			off, n := u.partRange(p.Number)
			if p.CRC32C != patternCRC32C(seed, off, n) || p.Size != n {
				t.Errorf("part %+v is listed with another CRC32C or size", p)
			}
			if want := map[bool]string{true: patternSHA(seed, off, n)}[p.Number == 3]; p.SHA256 != want {
				t.Errorf("part %d is listed with SHA-256 %q, want %q", p.Number, p.SHA256, want)
			}
		}
		var f struct {
			SHA256 string
			Size   int64
		}
		e.expect(e.do("POST", base+"/uploads/"+u.ID+"/complete", nil), http.StatusCreated, &f)
		if f.SHA256 != digest || f.Size != size {
			t.Fatalf("file %+v, want %d bytes with sha256 %s", f, size, digest)
		}
		resp := e.do("GET", base+"/files/w.bin", nil)
		h := sha256.New()
		_, _ = io.Copy(h, resp.Body)
		resp.Body.Close()
		if hex.EncodeToString(h.Sum(nil)) != digest {
			t.Fatal("the downloaded file differs")
		}
		e.expectError(e.presignParts(base, u.uploadSession, seed, []int{1}, nil), http.StatusConflict, "conflict", "completed")

		// Requests the validator or the service refuses.
		var v uploadSession
		e.expect(e.do("POST", base+"/uploads", map[string]any{"path": "v.bin", "size": size}), http.StatusCreated, &v)
		e.expectError(e.presignParts(base, v, seed, []int{4}, nil), http.StatusBadRequest, "invalid_argument", "parts 1 to 3")
		e.expectError(e.presignParts(base, v, seed, []int{1, 1}, nil), http.StatusBadRequest, "invalid_argument", "named twice")
		e.expectError(e.do("POST", base+"/uploads/"+v.ID+"/part-urls", map[string]any{"parts": []any{}}), http.StatusBadRequest, "invalid_argument", "")
		e.expectError(e.presignParts(base, v, seed, []int{1}, map[int]string{1: "xyz"}), http.StatusBadRequest, "invalid_argument", "")
		// A CRC32C session's parts are signed with their CRC32C: asked with a
		// SHA-256 alone (a client from before CRC32C), the answer is 409,
		// which such a client takes as "send the part through the server".
		e.expectError(e.do("POST", base+"/uploads/"+v.ID+"/part-urls",
			map[string]any{"parts": []any{map[string]any{"number": 1, "sha256": digest}}}), http.StatusConflict, "conflict", "give crc32c")
		e.expectError(e.do("POST", base+"/uploads/ffffffffffffffffffffffffffffffff/part-urls",
			map[string]any{"parts": []any{map[string]any{"number": 1, "sha256": digest}}}), http.StatusNotFound, "not_found", "")
		deployer := e.issue("dep", []string{modelkeep.RoleDeployer})
		e.as(deployer).expectError(e.as(deployer).presignParts(base, v, seed, []int{1}, nil), http.StatusForbidden, "forbidden", "")
		other := e.issue("pub-other", []string{modelkeep.RolePublisher}, "other-*")
		e.as(other).expectError(e.as(other).presignParts(base, v, seed, []int{1}, nil), http.StatusForbidden, "forbidden", "not valid for model")
		e.expect(e.do("DELETE", base+"/uploads/"+v.ID, nil), http.StatusNoContent, nil)
		e.expectError(e.presignParts(base, v, seed, []int{1}, nil), http.StatusConflict, "conflict", "aborted")

		// Every part straight to the bucket, but the whole file is not the
		// one announced: completion reads it back, refuses it, keeps nothing.
		var bad uploadSession
		e.expect(e.do("POST", base+"/uploads", map[string]any{"path": "bad.bin", "size": size, "sha256": patternSHA(seed+1, 0, size)}), http.StatusCreated, &bad)
		e.expect(e.presignParts(base, bad, seed, []int{1, 2, 3}, nil), http.StatusOK, &urls)
		for _, p := range urls.Parts {
			if code := sendPresigned(t, bad, seed, p, false); code != http.StatusOK {
				t.Fatalf("part %d: status %d", p.Number, code)
			}
		}
		e.expectError(e.do("POST", base+"/uploads/"+bad.ID+"/complete", nil), http.StatusUnprocessableEntity, "digest_mismatch", "nothing was kept")
		e.expect(e.do("GET", base+"/uploads/"+bad.ID, nil), http.StatusOK, &got)
		if got.Status != "failed" {
			t.Errorf("status after a mismatch %q, want failed", got.Status)
		}
		e.expectError(e.do("GET", base+"/files/bad.bin", nil), http.StatusNotFound, "not_found", "bad.bin")

		// The session's start, end and abort are audited; parts and their
		// URLs are not.
		for action, want := range map[string]int{"upload.start": 3, "upload.complete": 1, "upload.abort": 1, "upload.complete.refused": 1} {
			if got := len(e.auditEvents("action=" + action)); got != want {
				t.Errorf("%d %s events, want %d", got, action, want)
			}
		}
		for _, ev := range e.auditEvents("resource=" + modelkeep.VersionResource("m", n)) {
			if strings.Contains(ev.Action, "part") || strings.Contains(ev.Action, "presign") {
				t.Errorf("audit event %s: parts are not audited one by one", ev.Action)
			}
		}
		assertNoMultipart(t, e.blobs)
		if keys := e.blobKeys(); len(keys) != 1 {
			t.Errorf("blobs %v, want the one file", keys)
		}
	})
}

// TestUploadPresignedReadsBack: a session whose parts all passed through
// the server, in order, completes from the hash it kept as they arrived and
// reads nothing back; once a session has handed out a presigned URL, a part
// recorded by the server may have been replaced in the bucket by bytes of
// the same ETag, so its completion reads the whole file back (S3 only).
func TestUploadPresignedReadsBack(t *testing.T) {
	const seed = 7
	const size = 2*(5<<20) + 1000
	forEachBackendFlags(t, []string{"--upload-part-size", "5MiB"}, func(t *testing.T, e *env) {
		if !strings.HasPrefix(e.blobs, "s3://") {
			t.Skip("presigned parts are S3's")
		}
		e.mustCreateModel("m")
		n := e.mustCreateVersion("m")
		base := fmt.Sprintf("/api/v1/models/m/versions/%d", n)
		digest := patternSHA(seed, 0, size)
		complete := func(path string, presign bool) string {
			var u uploadSession
			e.expect(e.do("POST", base+"/uploads", map[string]any{"path": path, "size": size, "sha256": digest}), http.StatusCreated, &u)
			for p := 1; p <= u.PartCount; p++ {
				e.expect(e.putPart(base, u, seed, p, ""), http.StatusOK, nil)
			}
			if presign {
				e.expect(e.presignParts(base, u, seed, []int{2}, nil), http.StatusOK, nil) // asked, never used
			}
			var f struct{ SHA256 string }
			e.expect(e.do("POST", base+"/uploads/"+u.ID+"/complete", nil), http.StatusCreated, &f)
			if f.SHA256 != digest {
				t.Fatalf("%s: sha256 %s, want %s", path, f.SHA256, digest)
			}
			return u.ID
		}
		inOrder := complete("in-order.bin", false)
		presigned := complete("presigned.bin", true)
		logs := e.logs.String()
		if strings.Contains(logs, `msg="upload verified" upload_id=`+inOrder) {
			t.Errorf("the session hashed in order was read back:\n%s", grepLines(logs, inOrder))
		}
		if want := fmt.Sprintf(`msg="upload verified" upload_id=%s hashed_in_order=0 read_back=%d`, presigned, size); !strings.Contains(logs, want) {
			t.Errorf("the session that handed out a presigned URL was not read back whole: want %q in\n%s", want, grepLines(logs, presigned))
		}
	})
}
