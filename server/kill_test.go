package server_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/modelkeep/modelkeep/internal/testenv"
)

// TestChunkedPutKilled: a server killed with SIGKILL in the middle of a
// chunked PUT (no Content-Length) on S3 leaves its multipart upload with the
// parts sent so far in the bucket; after a restart, the upload sweep with a
// 1 s minimum age aborts it, and ListMultipartUploads shows none. The
// server is a real process (go build ./cmd/modelkeep), so nothing of its
// own clean-up runs.
func TestChunkedPutKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server")
	}
	t.Parallel()
	srv := testenv.S3(t) // skips without an S3 server: on disk a chunked PUT makes no multipart upload
	database, blobs := testenv.MySQLDatabase(t), testenv.S3Bucket(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "modelkeep")
	// -trimpath, as the test command compiles: the packages compiled for the
	// tests serve this build too, in any clone. -ldflags=-w: no debugging
	// tables, as the test command links (a quarter less CPU to link).
	build := exec.Command("go", "build", "-trimpath", "-ldflags=-w", "-o", bin, "./cmd/modelkeep")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := append(os.Environ(), "MODELKEEP_LISTEN="+addr, "MODELKEEP_DATA_DIR="+filepath.Join(dir, "data"),
		"MODELKEEP_DATABASE="+database, "MODELKEEP_BLOBS="+blobs, "MODELKEEP_ORPHAN_SWEEP_INTERVAL=0")
	tok := exec.Command(bin, "token", "create", "--subject", "killed", "--role", "admin")
	tok.Env = env
	out, err := tok.Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	token := strings.TrimSpace(string(out))
	watch.secret(token)
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve")
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	base := "http://" + addr
	call := func(method, path, body string) int {
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	deadline := time.Now().Add(time.Minute)
	for call("GET", "/readyz", "") != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("server not ready:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if s := call("POST", "/api/v1/models", `{"name":"m"}`); s != http.StatusCreated {
		t.Fatalf("create model: %d", s)
	}
	if s := call("POST", "/api/v1/models/m/versions", `{}`); s != http.StatusCreated {
		t.Fatalf("create version: %d", s)
	}

	// A chunked PUT: 96 MiB go out, then the server is killed.
	pr, pw := io.Pipe()
	req, _ := http.NewRequest("PUT", base+"/api/v1/models/m/versions/1/files/big.bin", pr)
	req.ContentLength = -1
	req.Header.Set("Authorization", "Bearer "+token)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	if _, err := io.Copy(pw, patternAt(1, 0, 96<<20)); err != nil {
		t.Fatalf("send: %v", err)
	}
	client := srv.Client()
	bucket := strings.TrimPrefix(blobs, "s3://")
	bucket = bucket[:strings.Index(bucket, "?")]
	// Wait until parts have reached the bucket (the server buffers a few).
	for {
		ups, err := client.ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &bucket})
		if err != nil {
			t.Fatal(err)
		}
		if len(ups.Uploads) == 1 {
			parts, err := client.ListParts(context.Background(), &s3.ListPartsInput{Bucket: &bucket, Key: ups.Uploads[0].Key, UploadId: ups.Uploads[0].UploadId})
			if err == nil && len(parts.Parts) >= 4 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no multipart upload with parts appeared:\n%s", logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	pw.CloseWithError(io.ErrClosedPipe)
	<-done
	left := openUploads(t, blobs)
	t.Logf("after SIGKILL: multipart uploads %v", left)
	if len(left) != 1 {
		t.Fatalf("after SIGKILL: %d multipart uploads, want the killed PUT's", len(left))
	}

	// Restart (in process, on the same stores) and sweep with a 1 s
	// minimum age, as of two seconds from now.
	e := startEnv(t, database, blobs)
	res, err := e.srv.SweepUploads(context.Background(), time.Now().Add(2*time.Second), time.Second)
	if err != nil || res.Aborted != 1 {
		t.Fatalf("sweep: %+v, %v", res, err)
	}
	assertNoMultipart(t, blobs)
}
