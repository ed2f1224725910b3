package blob_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/store/blob"
	"github.com/modelkeep/modelkeep/store/blob/blobtest"
)

const s3Region = testenv.S3Region

// newBucket creates a bucket on the test S3 server that is removed, with
// all its objects, when the test ends. The clean-up also fails the test if
// any multipart upload is still open: failed puts must abort theirs.
func newBucket(tb testing.TB, srv testenv.S3Server) string {
	tb.Helper()
	bucket := srv.NewBucket(tb)
	srv.FailOnOpenUploads(tb, bucket)
	return bucket
}

func newS3Store(tb testing.TB, srv testenv.S3Server, bucket string) *blob.S3 {
	tb.Helper()
	s, err := blob.NewS3(tb.Context(), blob.S3Options{
		Bucket:    bucket,
		Endpoint:  srv.Endpoint,
		Region:    s3Region,
		PathStyle: true,
		AccessKey: srv.AccessKey,
		SecretKey: srv.SecretKey,
	})
	if err != nil {
		tb.Fatalf("NewS3: %v", err)
	}
	return s
}

func TestS3(t *testing.T) {
	srv := testenv.S3(t)
	blobtest.Run(t, func(t *testing.T) modelkeep.BlobStore {
		return newS3Store(t, srv, newBucket(t, srv))
	})
}

// TestS3PingSaysWhy: Ping's error is ErrUnavailable with a message that
// says why in a few words (readiness shows it) and holds no secret.
func TestS3PingSaysWhy(t *testing.T) {
	srv := testenv.S3(t)
	bucket := newBucket(t, srv)
	refused := "http://" + closedPort(t)
	// (An unknown access key is not among them: versitygw answers
	// HeadBucket with 404 for it, which says "not found".)
	for _, tc := range []struct {
		name string
		opts blob.S3Options
		want string
	}{
		{"missing bucket", blob.S3Options{Bucket: "modelkeep-test-no-such-bucket", Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey},
			"bucket modelkeep-test-no-such-bucket not found"},
		{"wrong secret", blob.S3Options{Bucket: bucket, Endpoint: srv.Endpoint, AccessKey: srv.AccessKey, SecretKey: "not-the-secret-key-0123456789"},
			"credentials refused for bucket " + bucket},
		{"nothing listening", blob.S3Options{Bucket: bucket, Endpoint: refused, AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, MaxAttempts: 1},
			"S3 endpoint " + strings.TrimPrefix(refused, "http://") + ": connection refused"},
		{"no credentials", blob.S3Options{Bucket: bucket, Endpoint: srv.Endpoint},
			"no S3 credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or another source of the AWS credential chain)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// The credential chain finds nothing but what the case gives.
			for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
				t.Setenv(v, "")
			}
			t.Setenv("AWS_CONFIG_FILE", os.DevNull)
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
			t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			tc.opts.Region, tc.opts.PathStyle = s3Region, true
			s, err := blob.NewS3(t.Context(), tc.opts)
			if err != nil {
				t.Fatalf("NewS3: %v", err)
			}
			err = s.Ping(t.Context())
			var why *modelkeep.Error
			if !errors.Is(err, modelkeep.ErrUnavailable) || !errors.As(err, &why) || why.Message != tc.want {
				t.Fatalf("Ping = %v; want ErrUnavailable saying %q", err, tc.want)
			}
			for _, secret := range []string{tc.opts.SecretKey, tc.opts.AccessKey} {
				if secret != "" && strings.Contains(why.Message, secret) {
					t.Errorf("the message %q holds a credential", why.Message)
				}
			}
		})
	}
}

// The MODELKEEP_BLOBS form takes its credentials from the AWS chain.
func TestOpenS3Spec(t *testing.T) {
	spec := testenv.S3Bucket(t) // and the AWS_* variables for it
	s, err := blob.Open(t.Context(), spec, t.TempDir())
	if err != nil {
		t.Fatalf("Open(%q): %v", spec, err)
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if _, err := s.Put(t.Context(), "k", strings.NewReader("hello"), 5); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if info, err := s.Stat(t.Context(), "k"); err != nil || info.Size != 5 {
		t.Errorf("Stat = %+v, %v; want size 5", info, err)
	}
}

// A reader opened before an overwrite must not splice the new object's bytes
// onto the old one's.
func TestS3ReaderPinnedToVersion(t *testing.T) {
	srv := testenv.S3(t)
	s := newS3Store(t, srv, newBucket(t, srv))
	if _, err := s.Put(t.Context(), "k", strings.NewReader("old content"), -1); err != nil {
		t.Fatal(err)
	}
	rc, _, err := s.Open(t.Context(), "k")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, err := s.Put(t.Context(), "k", strings.NewReader("new content!"), -1); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(rc); !errors.Is(err, modelkeep.ErrPrecondition) {
		t.Errorf("read after overwrite = %v, want ErrPrecondition", err)
	}
}

// closedPort returns a loopback address on which nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// TestS3Unreachable needs no server: every operation against a closed port
// must report ErrUnavailable, so /readyz and the API answer 503.
func TestS3Unreachable(t *testing.T) {
	s, err := blob.NewS3(t.Context(), blob.S3Options{
		Bucket:      "modelkeep",
		Endpoint:    "http://" + closedPort(t),
		Region:      s3Region,
		PathStyle:   true,
		AccessKey:   "key",
		SecretKey:   "secret",
		MaxAttempts: 1, // a refused dial is retryable; don't wait on back-off
	})
	if err != nil {
		t.Fatalf("NewS3: %v", err)
	}
	big := int64(blob.DefaultS3PartSize + 1) // takes the multipart path
	tests := []struct {
		name string
		op   func(ctx context.Context) error
	}{
		{"Ping", s.Ping},
		{"Put small", func(ctx context.Context) error {
			_, err := s.Put(ctx, "k", strings.NewReader("hello"), 5)
			return err
		}},
		{"Put multipart", func(ctx context.Context) error {
			_, err := s.Put(ctx, "k", io.LimitReader(zeros{}, big), -1)
			return err
		}},
		{"Stat", func(ctx context.Context) error {
			_, err := s.Stat(ctx, "k")
			return err
		}},
		{"Open", func(ctx context.Context) error {
			_, _, err := s.Open(ctx, "k")
			return err
		}},
		{"Delete", func(ctx context.Context) error { return s.Delete(ctx, "k") }},
		{"List", func(ctx context.Context) error {
			return s.List(ctx, "", func(modelkeep.BlobInfo) error { return nil })
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.op(t.Context()); !errors.Is(err, modelkeep.ErrUnavailable) {
				t.Errorf("%s = %v, want ErrUnavailable", tc.name, err)
			}
		})
	}
}

func TestNewS3Invalid(t *testing.T) {
	tests := []struct {
		name string
		opts blob.S3Options
	}{
		{"no bucket", blob.S3Options{}},
		{"endpoint without scheme", blob.S3Options{Bucket: "b", Endpoint: "127.0.0.1:9000"}},
		{"endpoint with other scheme", blob.S3Options{Bucket: "b", Endpoint: "ftp://host"}},
		{"access key without secret", blob.S3Options{Bucket: "b", AccessKey: "k"}},
		{"secret without access key", blob.S3Options{Bucket: "b", SecretKey: "s"}},
		{"part size below 5 MiB", blob.S3Options{Bucket: "b", PartSize: 1 << 20}},
		{"negative concurrency", blob.S3Options{Bucket: "b", Concurrency: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := blob.NewS3(t.Context(), tc.opts); !errors.Is(err, modelkeep.ErrInvalid) {
				t.Errorf("NewS3 = %v, want ErrInvalid", err)
			}
		})
	}
}

// Presigning is local signing, so it is checked without a server.
func TestS3PresignGet(t *testing.T) {
	s, err := blob.NewS3(t.Context(), blob.S3Options{
		Bucket: "models", Endpoint: "http://127.0.0.1:7070", Region: s3Region,
		PathStyle: true, AccessKey: "key", SecretKey: "secret",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("ttl bounds", func(t *testing.T) {
		for _, ttl := range []time.Duration{0, -time.Second, 8 * 24 * time.Hour} {
			if _, err := s.PresignGet(t.Context(), "k", ttl, modelkeep.PresignOptions{}); !errors.Is(err, modelkeep.ErrInvalid) {
				t.Errorf("PresignGet(ttl %s) = %v, want ErrInvalid", ttl, err)
			}
		}
	})
	t.Run("url", func(t *testing.T) {
		raw, err := s.PresignGet(t.Context(), "files/v1/model.bin", 90*time.Second, modelkeep.PresignOptions{Filename: "model.bin"})
		if err != nil {
			t.Fatal(err)
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		checks := map[string]string{
			"path":                         u.Path,
			"X-Amz-Expires":                q.Get("X-Amz-Expires"),
			"response-content-disposition": q.Get("response-content-disposition"),
		}
		want := map[string]string{
			"path":                         "/models/files/v1/model.bin",
			"X-Amz-Expires":                "90",
			"response-content-disposition": "attachment; filename=model.bin",
		}
		for k, w := range want {
			if checks[k] != w {
				t.Errorf("%s = %q, want %q", k, checks[k], w)
			}
		}
		// The URL must be usable by a client that sends no extra headers.
		if sh := q.Get("X-Amz-SignedHeaders"); sh != "host" {
			t.Errorf("X-Amz-SignedHeaders = %q, want host only", sh)
		}
	})
}

// BenchmarkS3Put compares Put of a body of unknown length (as an HTTP request
// body arrives) with a plain SDK PutObject of the same bytes from memory. Run
// with the MODELKEEP_TEST_S3_* variables set, e.g. -bench S3Put -benchtime 3x;
// call sync between runs, as the server's disk write-back dominates variance.
func BenchmarkS3Put(b *testing.B) {
	srv := testenv.S3(b)
	bucket := newBucket(b, srv)
	s := newS3Store(b, srv, bucket)
	const size = 256 << 20
	b.Run("Put", func(b *testing.B) {
		b.SetBytes(size)
		for b.Loop() {
			if _, err := s.Put(b.Context(), "bench/put", io.LimitReader(zeros{}, size), -1); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("PutObject", func(b *testing.B) {
		data := make([]byte, size)
		client := srv.Client()
		b.SetBytes(size)
		for b.Loop() {
			_, err := client.PutObject(b.Context(), &s3.PutObjectInput{
				Bucket: aws.String(bucket), Key: aws.String("bench/direct"), Body: bytes.NewReader(data),
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestS3PresignPartSHA256: an upload started with the SHA256 algorithm (the
// sessions of servers before CRC32C) still takes presigned parts signed
// with their SHA-256, and lists them with it.
func TestS3PresignPartSHA256(t *testing.T) {
	srv := testenv.S3(t)
	bucket := newBucket(t, srv)
	s := newS3Store(t, srv, bucket)
	ctx := t.Context()
	const key = "pp/sha256"
	out, err := srv.Client().CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket: aws.String(bucket), Key: aws.String(key),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256, ChecksumType: types.ChecksumTypeComposite,
	})
	if err != nil {
		t.Fatal(err)
	}
	id := aws.ToString(out.UploadId)
	t.Cleanup(func() { _ = s.AbortMultipart(context.Background(), key, id) })
	body := bytes.Repeat([]byte("modelkeep"), 1000)
	sum := sha256.Sum256(body)
	req, err := s.PresignPart(ctx, key, id, 1, int64(len(body)), modelkeep.PartChecksum{Algorithm: modelkeep.ChecksumSHA256, Hex: hex.EncodeToString(sum[:])}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	r, err := http.NewRequestWithContext(ctx, req.Method, req.URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range req.Header {
		if http.CanonicalHeaderKey(k) != "Content-Length" {
			r.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("presigned part: status %d", resp.StatusCode)
	}
	parts, err := s.ListParts(ctx, key, id)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 1 || parts[0].SHA256 != hex.EncodeToString(sum[:]) || parts[0].CRC32C != "" {
		t.Fatalf("ListParts = %+v, want part 1 with its SHA-256", parts)
	}
	if _, err := s.CompleteMultipart(ctx, key, id, parts); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
}
