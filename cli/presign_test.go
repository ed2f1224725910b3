package cli_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/client"
	"github.com/modelkeep/modelkeep/internal/testenv"
)

// presignTree is the directory of the presigned transfer tests: a file of
// three parts (the test server's parts are 5 MiB; the CLI sends files of
// 8 MiB and more in parts), small ones, an empty one.
var presignTree = map[string]int64{"weights.bin": 12<<20 + 5, "config.json": 900, "tok/vocab.txt": 70_000, "empty": 0}

// nonEmpty is how many files of presignTree have bytes.
const nonEmpty = 3

// traffic sorts the requests a meter saw: to the server or to anywhere
// else (the blob store).
type traffic struct {
	server, store []seenRequest
}

func trafficOf(ts *testServer, m *meter) traffic {
	u, _ := url.Parse(ts.url)
	var t traffic
	for _, r := range m.seen() {
		if r.host == u.Host {
			t.server = append(t.server, r)
		} else {
			t.store = append(t.store, r)
		}
	}
	return t
}

func (t traffic) count(server bool, match func(seenRequest) bool) int {
	list := t.store
	if server {
		list = t.server
	}
	n := 0
	for _, r := range list {
		if match(r) {
			n++
		}
	}
	return n
}

func isPartPut(r seenRequest) bool {
	return r.method == http.MethodPut && (strings.Contains(r.path, "/parts/") || r.query.Has("partNumber"))
}

func isFileGet(r seenRequest) bool {
	return r.method == http.MethodGet && (strings.Contains(r.path, "/files/") || r.query.Has("X-Amz-Signature"))
}

// auditCount counts the audit events of an action on the version.
func auditCount(t *testing.T, ts *testServer, action string, version int) int {
	t.Helper()
	c := client.New(ts.url, ts.tokens[modelkeep.RoleAdmin], nil)
	events, err := c.ListAudit(context.Background(), client.AuditQuery{Action: action, Resource: modelkeep.VersionResource("m", version)})
	if err != nil {
		t.Fatalf("list audit events: %v", err)
	}
	return len(events)
}

// TestPresignedTransfers: on S3, `modelkeep push` sends the parts of a
// large file straight to the bucket (presigned, without the bearer token)
// and `modelkeep pull` fetches every file from it, asking the server for
// the URLs of the version's files in one batch: one file.presign per file
// in the audit log, none per range. The requests to the bucket carry no
// Authorization and no If-Match (the registry's ETags are not S3's).
// --through-server sends every byte through the server instead. On disk
// both go through the server, as before.
func TestPresignedTransfers(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			onS3 := strings.HasPrefix(blobs, "s3://")
			ts := startServer(t, database, blobs)
			src := writeTree(t, 5, presignTree)

			pub := newUser(t, ts, modelkeep.RolePublisher)
			pub.must("push", "--create-model", "m", src, "--finalize")
			tr := trafficOf(ts, pub.meter)
			direct, through := tr.count(false, isPartPut), tr.count(true, isPartPut)
			if onS3 && (direct != 3 || through != 0) {
				t.Errorf("push on S3: %d parts to the bucket, %d through the server; want 3 and 0", direct, through)
			}
			if !onS3 && (direct != 0 || through != 3) {
				t.Errorf("push on disk: %d parts to elsewhere, %d through the server; want 0 and 3", direct, through)
			}
			for _, r := range tr.store {
				if r.header.Get("Authorization") != "" {
					t.Errorf("%s to the bucket carries the bearer token", r.method)
				}
			}

			dep := newUser(t, ts, modelkeep.RolePublisher)
			dest := filepath.Join(t.TempDir(), "out")
			dep.must("pull", "m@1", dest, "--chunk-size", "4194304")
			if got, want := treeSums(t, dest), treeSums(t, src); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("pulled %v, want %v", got, want)
			}
			tr = trafficOf(ts, dep.meter)
			fromServer := tr.count(true, func(r seenRequest) bool { return r.method == http.MethodGet && strings.Contains(r.path, "/files/") })
			presigns, downloads := auditCount(t, ts, "file.presign", 1), auditCount(t, ts, "file.download", 1)
			if onS3 {
				// 12 MiB and 5 bytes in ranges of 4 MiB, and the small files.
				if got := tr.count(false, isFileGet); got != 4+nonEmpty-1 || fromServer != 0 {
					t.Errorf("pull on S3: %d GETs from the bucket, %d file GETs from the server; want %d and 0", got, fromServer, 4+nonEmpty-1)
				}
				if batches := tr.count(true, func(r seenRequest) bool { return strings.HasSuffix(r.path, "/file-urls") }); batches != 1 {
					t.Errorf("pull on S3 asked for URLs %d times, want one batch", batches)
				}
				if presigns != nonEmpty || downloads != 0 {
					t.Errorf("pull on S3: %d file.presign and %d file.download events, want %d and 0", presigns, downloads, nonEmpty)
				}
				for _, r := range tr.store {
					if r.header.Get("Authorization") != "" || r.header.Get("If-Match") != "" {
						t.Errorf("GET from the bucket with Authorization %q, If-Match %q", r.header.Get("Authorization"), r.header.Get("If-Match"))
					}
				}
			} else if len(tr.store) != 0 || presigns != 0 || downloads < nonEmpty {
				t.Errorf("pull on disk: %d requests elsewhere, %d file.presign, %d file.download events", len(tr.store), presigns, downloads)
			}

			// --through-server: no byte goes to or comes from the bucket.
			forced := newUser(t, ts, modelkeep.RolePublisher)
			forced.must("push", "m", src, "--finalize", "--through-server")
			forced.must("pull", "m@2", filepath.Join(t.TempDir(), "out"), "--through-server")
			tr = trafficOf(ts, forced.meter)
			if len(tr.store) != 0 || tr.count(true, isPartPut) != 3 {
				t.Errorf("--through-server: %d requests to the bucket, %d parts through the server; want 0 and 3", len(tr.store), tr.count(true, isPartPut))
			}
			if got := auditCount(t, ts, "file.presign", 2); got != 0 {
				t.Errorf("--through-server pull: %d file.presign events, want none", got)
			}
		})
	}
}

// storeAnswer is an answer of the blob store made up by a test.
func storeAnswer(req *http.Request, status int, code, msg string) *http.Response {
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, msg)
	return &http.Response{
		StatusCode: status, Status: fmt.Sprintf("%d %s", status, http.StatusText(status)), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header{"Content-Type": {"application/xml"}}, Body: io.NopCloser(strings.NewReader(body)),
		ContentLength: int64(len(body)), Request: req,
	}
}

// TestPresignedFallbacks: a presigned URL that the bucket refuses as
// expired is asked for again (pull: one more file.presign; push: the part
// is presigned again), and a bucket that cannot be reached from the client
// (an S3 endpoint on a network only the server sees) leaves both transfers
// to the server; either way they succeed with the directory's bytes. On
// disk nothing is presigned and nothing falls back.
func TestPresignedFallbacks(t *testing.T) {
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			onS3 := strings.HasPrefix(blobs, "s3://")
			ts := startServer(t, database, blobs)
			server, _ := url.Parse(ts.url)
			src := writeTree(t, 6, presignTree)
			toStore := func(req *http.Request) bool { return req.URL.Host != server.Host }

			// Expired: the bucket refuses the first part and the first GET.
			expired := newUser(t, ts, modelkeep.RolePublisher)
			var refusedPut, refusedGet atomic.Bool
			expired.meter.set(func(m *meter) {
				m.intercept = func(req *http.Request) (*http.Response, error) {
					if !toStore(req) {
						return nil, nil
					}
					if (req.Method == http.MethodPut && refusedPut.CompareAndSwap(false, true)) ||
						(req.Method == http.MethodGet && refusedGet.CompareAndSwap(false, true)) {
						return storeAnswer(req, http.StatusForbidden, "AccessDenied", "Request has expired."), nil
					}
					return nil, nil
				}
			})
			expired.must("push", "--create-model", "m", src, "--finalize")
			dest := filepath.Join(t.TempDir(), "out")
			expired.must("pull", "m@1", dest)
			if got, want := treeSums(t, dest), treeSums(t, src); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("pulled %v, want %v", got, want)
			}
			if onS3 != (refusedPut.Load() && refusedGet.Load()) {
				t.Errorf("requests to the bucket: a PUT %v, a GET %v; on S3 %v", refusedPut.Load(), refusedGet.Load(), onS3)
			}
			if got, want := auditCount(t, ts, "file.presign", 1), map[bool]int{true: nonEmpty + 1, false: 0}[onS3]; got != want {
				t.Errorf("%d file.presign events, want %d (one per file, one more for the refreshed URL)", got, want)
			}

			// A server without batches of URLs (an older one): each file
			// asks for its own redirect, still one file.presign per file.
			older := newUser(t, ts, modelkeep.RolePublisher)
			older.meter.set(func(m *meter) {
				m.intercept = func(req *http.Request) (*http.Response, error) {
					if !strings.HasSuffix(req.URL.Path, "/file-urls") {
						return nil, nil
					}
					resp := storeAnswer(req, http.StatusNotFound, "", "")
					body := `{"error":{"code":"not_found","message":"Not Found"}}`
					resp.Header.Set("Content-Type", "application/json")
					resp.Body, resp.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
					return resp, nil
				}
			})
			before := auditCount(t, ts, "file.presign", 1)
			dest = filepath.Join(t.TempDir(), "out")
			older.must("pull", "m@1", dest, "--chunk-size", "4194304")
			if got, want := treeSums(t, dest), treeSums(t, src); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("pulled %v, want %v", got, want)
			}
			redirects := trafficOf(ts, older.meter).count(true, func(r seenRequest) bool { return r.query.Get("redirect") == "true" })
			if got := auditCount(t, ts, "file.presign", 1) - before; onS3 && (got != nonEmpty || redirects != nonEmpty) {
				t.Errorf("pull without batches: %d redirects, %d more file.presign events; want %d of each", redirects, got, nonEmpty)
			}

			// Unreachable: nothing reaches the bucket; all goes through the server.
			cut := newUser(t, ts, modelkeep.RolePublisher)
			var tried atomic.Int64
			cut.meter.set(func(m *meter) {
				m.intercept = func(req *http.Request) (*http.Response, error) {
					if !toStore(req) {
						return nil, nil
					}
					tried.Add(1)
					return nil, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
				}
			})
			cut.must("push", "m", src, "--finalize")
			dest = filepath.Join(t.TempDir(), "out")
			cut.must("pull", "m@2", dest)
			if got, want := treeSums(t, dest), treeSums(t, src); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("pulled %v, want %v", got, want)
			}
			tr := trafficOf(ts, cut.meter)
			if through := tr.count(true, isPartPut); through != 3 {
				t.Errorf("push with the bucket out of reach: %d parts through the server, want 3", through)
			}
			if got := tried.Load(); onS3 && (got < 2 || got > 2*4) {
				// The requests under way when the first one finds the
				// bucket unreachable (up to --parallel, 4, in each
				// transfer); the rest go through the server at once.
				t.Errorf("%d requests tried the bucket, want 2 to 8", got)
			}
			if got := auditCount(t, ts, "file.download", 2); got < nonEmpty {
				t.Errorf("%d file.download events, want the files through the server", got)
			}
		})
	}
}
