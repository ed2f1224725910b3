package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/cli"
	"github.com/modelkeep/modelkeep/client"
	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/server"
)

// pushTestSize is the large file of TestPushResume: 256 MiB by default
// (the whole suite has a few minutes), MODELKEEP_TEST_CLI_PUSH_SIZE=1GiB
// for the figure.
func pushTestSize(t *testing.T) int64 {
	if v := os.Getenv("MODELKEEP_TEST_CLI_PUSH_SIZE"); v != "" {
		n, err := server.ParseSize(v)
		if err != nil || n < 128<<20 {
			t.Fatalf("MODELKEEP_TEST_CLI_PUSH_SIZE=%q: want a size of at least 128MiB", v)
		}
		return n
	}
	return 256 << 20
}

type pushJSON struct {
	Model          string        `json:"model"`
	Version        int           `json:"version"`
	ManifestDigest string        `json:"manifest_digest"`
	Status         string        `json:"status"`
	Files          []client.File `json:"files"`
	Uploaded       []string      `json:"uploaded"`
	Skipped        []string      `json:"skipped"`
	BytesSent      int64         `json:"bytes_sent"`
}

func decode[T any](t *testing.T, s string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("--output json: %v\n%s", err, s)
	}
	return v
}

// TestPushResume: `modelkeep push` of a directory with a large file is
// interrupted at about half of its bytes (its context cancelled, as
// Ctrl-C does), exits 130 telling how to resume, and `push --resume`
// finishes the same version sending less than a tenth of the directory
// again (bytes counted on the wire, below the client). The finalized
// version's manifest digest equals that of a clean push of the same
// directory, and no upload session is left open.
func TestPushResume(t *testing.T) {
	size := pushTestSize(t)
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			ts := startServer(t, database, blobs)
			u := newUser(t, ts, modelkeep.RolePublisher)
			files := map[string]int64{"weights.bin": size, "config.json": 1234, "tokenizer/vocab.txt": 300_000, "empty": 0}
			var total int64
			for _, n := range files {
				total += n
			}
			dir := writeTree(t, 1, files)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			u.meter.set(func(m *meter) {
				m.onSent = func(n int64) {
					if n >= total/2 {
						cancel()
					}
				}
			})
			start := time.Now()
			r := u.run(ctx, "", "push", "--create-model", "big", dir)
			if r.code != cli.ExitInterrupted || !strings.Contains(r.stderr, "push --resume big") {
				t.Fatalf("interrupted push: exit %d, want %d with a hint to resume\n%s", r.code, cli.ExitInterrupted, r.stderr)
			}
			first := u.meter.sent.Load()
			u.meter.set(func(m *meter) { m.onSent = nil })
			t.Logf("interrupted after %s: %d of %d bytes sent", time.Since(start).Round(time.Millisecond), first, total)

			start = time.Now()
			out := decode[pushJSON](t, u.must("push", "--resume", "big", dir, "--finalize", "--output", "json"))
			second := u.meter.sent.Load() - first
			resent := first + second - total
			t.Logf("resumed in %s: %d bytes sent, %d sent twice (%.2f%% of %d)", time.Since(start).Round(time.Millisecond),
				second, resent, 100*float64(resent)/float64(total), total)
			if out.Version != 1 || out.Status != "ready" {
				t.Fatalf("resumed push: %+v, want version 1 ready", out)
			}
			if resent*10 >= total {
				t.Errorf("the resumed push sent %d bytes again, not less than a tenth of %d", resent, total)
			}
			if second >= total-first+total/10 {
				t.Errorf("the resumed push sent %d bytes; %d were left", second, total-first)
			}

			clean := decode[pushJSON](t, u.must("push", "big", dir, "--finalize", "--output", "json"))
			if clean.Version != 2 || clean.ManifestDigest != out.ManifestDigest {
				t.Errorf("clean push: version %d digest %s; resumed: %s", clean.Version, clean.ManifestDigest, out.ManifestDigest)
			}
			c := client.New(ts.url, ts.tokens[modelkeep.RoleAdmin], nil)
			for _, n := range []int{1, 2} {
				v, err := c.GetVersion(context.Background(), "big", n)
				if err != nil || v.ManifestDigest != out.ManifestDigest || v.Status != "ready" {
					t.Errorf("version %d on the server: %+v, %v; want digest %s", n, v, err, out.ManifestDigest)
				}
				if ups, err := c.ListOpenUploads(context.Background(), "big", n); err != nil || len(ups) != 0 {
					t.Errorf("version %d: open upload sessions %+v, %v", n, ups, err)
				}
			}
			// Pushing the same directory into the ready version's model
			// again with --resume finds nothing to resume.
			if r := u.run(context.Background(), "", "push", "--resume", "big", dir); r.code == 0 {
				t.Errorf("push --resume after a finished push: exit 0, want an error")
			}
		})
	}
}

// TestPushPartChecksumRetry: the first part of a resumable upload and the
// first single-request file arrive with a byte changed (below the
// client): the server refuses both with 422 and the client sends them
// again, so the push succeeds with the directory's bytes.
func TestPushPartChecksumRetry(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			ts := startServer(t, database, blobs)
			u := newUser(t, ts, modelkeep.RolePublisher)
			dir := writeTree(t, 2, map[string]int64{"w.bin": 12 << 20, "small.txt": 100})
			var partDone, fileDone atomic.Bool
			u.meter.set(func(m *meter) {
				m.corrupt = func(req *http.Request) bool {
					if req.Method != http.MethodPut {
						return false
					}
					if strings.Contains(req.URL.Path, "/parts/") {
						return partDone.CompareAndSwap(false, true)
					}
					if strings.Contains(req.URL.Path, "/files/") {
						return fileDone.CompareAndSwap(false, true)
					}
					return false
				}
			})
			out := decode[pushJSON](t, u.must("push", "--create-model", "m", dir, "--finalize", "--output", "json"))
			if got := u.meter.sawStatus(http.StatusUnprocessableEntity); got != 2 {
				t.Errorf("the server refused %d requests with 422, want 2 (the corrupted part and file)", got)
			}
			want := treeSums(t, dir)
			v := decode[client.Version](t, u.must("versions", "show", "m@1", "--output", "json"))
			if len(v.Files) != 2 || v.ManifestDigest != out.ManifestDigest {
				t.Fatalf("version: %+v; push said %s", v, out.ManifestDigest)
			}
			for _, f := range v.Files {
				if want[f.Path] != f.SHA256 {
					t.Errorf("%s: the server recorded %s, the file is %s", f.Path, f.SHA256, want[f.Path])
				}
			}
		})
	}
}

// TestPullInterrupted: a pull cancelled at about half of its bytes exits
// 130 and leaves neither DIR nor its hidden temporary directory; run
// again it places the version, byte for byte.
func TestPullInterrupted(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			ts := startServer(t, database, blobs)
			pub := newUser(t, ts, modelkeep.RolePublisher)
			src := writeTree(t, 3, map[string]int64{"model.bin": 48 << 20, "a/config.json": 2000, "b/c/d.txt": 10, "empty": 0})
			pub.must("push", "--create-model", "m", src, "--finalize")

			u := newUser(t, ts, modelkeep.RolePublisher)
			parent := t.TempDir()
			dest := filepath.Join(parent, "out")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			u.meter.set(func(m *meter) {
				m.onReceived = func(n int64) {
					if n >= 24<<20 {
						cancel()
					}
				}
			})
			r := u.run(ctx, "", "pull", "m@1", dest, "--chunk-size", "8388608")
			if r.code != cli.ExitInterrupted {
				t.Fatalf("interrupted pull: exit %d, want %d\n%s", r.code, cli.ExitInterrupted, r.stderr)
			}
			if left, _ := os.ReadDir(parent); len(left) != 0 {
				t.Fatalf("the interrupted pull left %v in %s", names(left), parent)
			}
			t.Logf("interrupted after %d bytes received", u.meter.received.Load())
			u.meter.set(func(m *meter) { m.onReceived = nil })

			out := u.must("pull", "m@1", dest, "--chunk-size", "8388608")
			digest := strings.TrimSpace(out)
			if got, want := treeSums(t, dest), treeSums(t, src); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("pulled files %v, want %v", got, want)
			}
			if !strings.HasPrefix(digest, "sha256:") {
				t.Errorf("pull printed %q, want the manifest digest", out)
			}
			if left, _ := os.ReadDir(parent); len(left) != 1 {
				t.Errorf("after the pull %s holds %v, want only out", parent, names(left))
			}
			// DIR is not empty now: a second pull refuses without --force.
			if r := u.run(context.Background(), "", "pull", "m@1", dest); r.code == 0 || !strings.Contains(r.stderr, "--force") {
				t.Errorf("pull into a full directory: exit %d, %s", r.code, r.stderr)
			}
			u.must("pull", "m@1", dest, "--force", "--quiet")
		})
	}
}

func names(ents []os.DirEntry) []string {
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// TestPullCorruptBlob: a file's bytes changed in the blob store behind the
// server's back (same size) make the pull fail with exit 6 naming the
// file, and nothing appears in DIR.
func TestPullCorruptBlob(t *testing.T) {
	const odd = 7_340_033 // a size no other blob has
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			ts := startServer(t, database, blobs)
			u := newUser(t, ts, modelkeep.RolePublisher)
			src := writeTree(t, 4, map[string]int64{"weights/model.safetensors": odd, "config.json": 777})
			u.must("push", "--create-model", "m", src, "--finalize")
			corruptBlob(t, blobs, odd)

			for _, chunk := range []string{"33554432", "1048576"} { // one range, several ranges
				dest := filepath.Join(t.TempDir(), "out")
				r := u.run(context.Background(), "", "pull", "m@1", dest, "--chunk-size", chunk)
				if r.code != cli.ExitVerify || !strings.Contains(r.stderr, "weights/model.safetensors") || !strings.Contains(r.stderr, "sha256 mismatch") {
					t.Errorf("pull of a corrupted blob (chunk %s): exit %d, want %d naming the file\n%s", chunk, r.code, cli.ExitVerify, r.stderr)
				}
				if left, _ := os.ReadDir(filepath.Dir(dest)); len(left) != 0 {
					t.Errorf("the failed pull left %v", names(left))
				}
			}
		})
	}
}

// corruptBlob flips a byte in the middle of the one blob of the given size.
func corruptBlob(t *testing.T, blobs string, size int64) {
	t.Helper()
	found := 0
	if dir, ok := strings.CutPrefix(blobs, "file:"); ok {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			info, err := d.Info()
			if err != nil || info.Size() != size {
				return err
			}
			f, err := os.OpenFile(p, os.O_RDWR, 0)
			if err != nil {
				return err
			}
			defer f.Close()
			var one [1]byte
			if _, err := f.ReadAt(one[:], size/2); err != nil {
				return err
			}
			one[0] ^= 0x01
			_, err = f.WriteAt(one[:], size/2)
			found++
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	} else {
		u, err := url.Parse(blobs)
		if err != nil {
			t.Fatal(err)
		}
		s3c, _ := testenv.S3Client(t)
		ctx := context.Background()
		list, err := s3c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(u.Host)})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range list.Contents {
			if aws.ToInt64(o.Size) != size {
				continue
			}
			obj, err := s3c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(u.Host), Key: o.Key})
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(obj.Body)
			obj.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			body[size/2] ^= 0x01
			if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(u.Host), Key: o.Key, Body: bytes.NewReader(body)}); err != nil {
				t.Fatal(err)
			}
			found++
		}
	}
	if found != 1 {
		t.Fatalf("found %d blobs of %d bytes, want 1", found, size)
	}
}
