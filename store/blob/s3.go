package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/netcause"
)

// Upload tuning of bodies of unknown length (and of more than 5 GiB): the
// body is cut into parts of PartSize and up to Concurrency parts upload at
// once while the next one fills, so at most (Concurrency+1) x PartSize bytes
// (40 MiB with the defaults) are buffered per upload. Parts of a body of
// unknown length double in size every 1,000 parts (partSizeAt), so the
// 10,000 parts S3 allows hold far more than 10,000 x PartSize.
const (
	DefaultS3PartSize    = 8 << 20
	DefaultS3Concurrency = 4
)

// maxPresignTTL is the longest validity SigV4 allows for a presigned URL.
const maxPresignTTL = 7 * 24 * time.Hour

// abortTimeout bounds the clean-up of a failed multipart upload, which runs
// even when the caller's context is already cancelled.
const abortTimeout = 30 * time.Second

// cancelGrace is how long parts already in flight may take to finish after
// the caller cancels a Put (see Put); only a stalled server needs it all.
const cancelGrace = 15 * time.Second

// S3Options configure an S3 blob store.
type S3Options struct {
	Bucket string
	// Endpoint is the base URL of an S3-compatible server
	// (http://127.0.0.1:7070); empty means AWS itself.
	Endpoint string
	// Region defaults to the AWS chain's (AWS_REGION, profile), then us-east-1.
	Region string
	// PathStyle addresses buckets as /bucket/key instead of bucket.host; most
	// self-hosted servers (versitygw, MinIO) need it.
	PathStyle bool
	// AccessKey and SecretKey are optional static credentials; when both are
	// empty the standard AWS credential chain is used.
	AccessKey string
	SecretKey string
	// PartSize is the multipart part size in bytes (at least 5 MiB);
	// 0 means DefaultS3PartSize.
	PartSize int64
	// Concurrency is the number of parts uploaded at once; 0 means
	// DefaultS3Concurrency.
	Concurrency int
	// MaxAttempts bounds the SDK's retries per request; 0 keeps the SDK
	// default (3). Tests against a dead endpoint set 1 to fail fast.
	MaxAttempts int
}

// S3 stores blobs as objects in one bucket.
type S3 struct {
	bucket      string
	endpoint    string // S3Options.Endpoint: "" for AWS
	client      *s3.Client
	presign     *s3.PresignClient
	partSize    int64
	concurrency int
}

var (
	_ modelkeep.BlobStore  = (*S3)(nil)
	_ modelkeep.BlobLister = (*S3)(nil)
	_ modelkeep.Presigner  = (*S3)(nil)
)

// NewS3 builds a client for opts.Bucket. It does no I/O beyond loading the
// AWS configuration; Ping checks that the bucket answers.
func NewS3(ctx context.Context, opts S3Options) (*S3, error) {
	if opts.Bucket == "" {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "s3 bucket name is empty")
	}
	if opts.Endpoint != "" {
		u, err := url.Parse(opts.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "s3 endpoint %q is not an http(s) url", opts.Endpoint)
		}
	}
	if (opts.AccessKey == "") != (opts.SecretKey == "") {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "s3 access key and secret key must be set together")
	}
	partSize, concurrency := opts.PartSize, opts.Concurrency
	if partSize == 0 {
		partSize = DefaultS3PartSize
	}
	if concurrency == 0 {
		concurrency = DefaultS3Concurrency
	}
	if partSize < modelkeep.MinPartSize || partSize > modelkeep.MaxPartSize {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "s3 part size %d is outside %d to %d", partSize, modelkeep.MinPartSize, int64(modelkeep.MaxPartSize))
	}
	if concurrency < 0 || opts.MaxAttempts < 0 {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "s3 concurrency and max attempts must not be negative")
	}

	load := []func(*config.LoadOptions) error{
		config.WithDefaultRegion("us-east-1"),
		// Since SDK s3 v1.73 every PutObject/UploadPart carries a CRC32 and
		// every GetObject asks for checksum validation by default; several
		// S3-compatible servers reject or mishandle that, and the service
		// hashes every artifact with SHA-256 itself.
		config.WithRequestChecksumCalculation(aws.RequestChecksumCalculationWhenRequired),
		config.WithResponseChecksumValidation(aws.ResponseChecksumValidationWhenRequired),
	}
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	if opts.AccessKey != "" {
		load = append(load, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(opts.AccessKey, opts.SecretKey, "")))
	}
	if opts.MaxAttempts > 0 {
		load = append(load, config.WithRetryMaxAttempts(opts.MaxAttempts))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("load aws config: %w", err)
	}
	client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if opts.Endpoint != "" {
			o.BaseEndpoint = aws.String(opts.Endpoint)
		}
		o.UsePathStyle = opts.PathStyle
		o.HTTPClient = transferClient(o.HTTPClient)
	})
	return &S3{
		bucket:      opts.Bucket,
		endpoint:    opts.Endpoint,
		client:      client,
		presign:     s3.NewPresignClient(client),
		partSize:    partSize,
		concurrency: concurrency,
	}, nil
}

// Put streams r to key. A body of known size up to 5 GiB goes as one
// streaming PutObject: no buffering, and the server writes it once (a
// multipart upload makes versitygw copy every part again at completion,
// which cost 20-40% of the upload throughput). A body of unknown length, or
// a larger one, goes as a multipart upload with bounded buffering
// (putMultipart), or as one PutObject when it ends within its first part.
// A failed multipart upload is aborted, so no parts are left behind (but a
// process killed mid-way leaves its upload open: the server's sweep aborts
// such uploads once they have been idle for the orphan age). The returned
// ModTime is the local clock at completion (Stat gives the server's).
//
// Parts are sent over plain http with an unsigned payload: a signed one
// makes the SDK hash every part on our side and the server verify it (a
// 1 GiB upload to versitygw on a 2-core host went from 270-450 down to
// 190-240 MiB/s). Over https the SDK sends UNSIGNED-PAYLOAD anyway and TLS
// protects the body; a plain-http endpoint is a trusted local one, and the
// service hashes every artifact itself.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) (modelkeep.BlobInfo, error) {
	if err := validateKey(key); err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("put blob %q: %w", key, err)
	}
	body := newCheckedReader(ctx, r, size)
	if size >= 0 && size <= maxSinglePutSize {
		return s.putSingle(ctx, key, body, size)
	}
	return s.putMultipart(ctx, key, body, size)
}

func (s *S3) abort(ctx context.Context, key, uploadID string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(s.bucket),
		Key:      aws.String(key),
		UploadId: aws.String(uploadID),
	})
	if err == nil || apiCode(err) == "NoSuchUpload" {
		return nil // the manager's own abort got there first
	}
	return fmt.Errorf("abort multipart upload %q: %w", uploadID, err)
}

// Open checks that key exists (one HeadObject, which gives the size) and
// returns a reader that fetches bytes lazily with ranged GetObject calls made
// with ctx. Seeking is free; the next Read after a seek starts a new stream.
func (s *S3) Open(ctx context.Context, key string) (io.ReadSeekCloser, modelkeep.BlobInfo, error) {
	if err := validateKey(key); err != nil {
		return nil, modelkeep.BlobInfo{}, fmt.Errorf("open blob %q: %w", key, err)
	}
	out, err := s.head(ctx, key)
	if err != nil {
		return nil, modelkeep.BlobInfo{}, fmt.Errorf("open blob %q: %w", key, err)
	}
	info := headInfo(key, out)
	return &s3Reader{ctx: ctx, s: s, key: key, etag: out.ETag, size: info.Size}, info, nil
}

// Stat describes key with a HeadObject.
func (s *S3) Stat(ctx context.Context, key string) (modelkeep.BlobInfo, error) {
	if err := validateKey(key); err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("stat blob %q: %w", key, err)
	}
	out, err := s.head(ctx, key)
	if err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("stat blob %q: %w", key, err)
	}
	return headInfo(key, out), nil
}

func (s *S3) head(ctx context.Context, key string) (*s3.HeadObjectOutput, error) {
	out, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	})
	if err != nil {
		return nil, s3Err(err)
	}
	return out, nil
}

func headInfo(key string, out *s3.HeadObjectOutput) modelkeep.BlobInfo {
	return modelkeep.BlobInfo{
		Key:     key,
		Size:    aws.ToInt64(out.ContentLength),
		ModTime: aws.ToTime(out.LastModified),
	}
}

// Delete removes key. S3 answers a delete of a missing key with success;
// a 404 from a stricter server is treated the same way.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return fmt.Errorf("delete blob %q: %w", key, err)
	}
	_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	})
	if err = s3Err(err); err != nil && !errors.Is(err, modelkeep.ErrNotFound) {
		return fmt.Errorf("delete blob %q: %w", key, err)
	}
	return nil
}

// Ping checks that the bucket exists and the credentials reach it. Any
// failure means the store cannot serve, so it is always ErrUnavailable: a
// *modelkeep.Error whose message says why in a few words that name no
// secret (readiness shows it), then the SDK's error, for the log.
func (s *S3) Ping(ctx context.Context) error {
	_, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.bucket)})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("ping bucket %q: %w", s.bucket, err)
	}
	why := modelkeep.Errorf(modelkeep.ErrUnavailable, "%s", s.unavailable(err))
	return fmt.Errorf("ping bucket %q: %w: %w", s.bucket, why, err)
}

// unavailable says why a request about the bucket failed: the answer's
// status, or the network's cause; never the SDK's text, which may quote
// request headers.
func (s *S3) unavailable(err error) string {
	// Checked first: without credentials the SDK asks the instance
	// metadata service, whose timeout is not the endpoint's.
	if strings.Contains(err.Error(), "get identity") {
		return "no S3 credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or another source of the AWS credential chain)"
	}
	if cause := netcause.Of(err); cause != "" {
		return fmt.Sprintf("S3 endpoint %s: %s", s.endpointHost(), cause)
	}
	status := 0
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) {
		status = resp.HTTPStatusCode()
	}
	switch code := apiCode(err); {
	case status == http.StatusNotFound, code == "NoSuchBucket":
		return fmt.Sprintf("bucket %s not found", s.bucket)
	case status == http.StatusForbidden, code == "AccessDenied", code == "InvalidAccessKeyId", code == "SignatureDoesNotMatch":
		return fmt.Sprintf("credentials refused for bucket %s", s.bucket)
	case status == http.StatusMovedPermanently, code == "AuthorizationHeaderMalformed":
		return fmt.Sprintf("bucket %s is in another region (set region= in the blob store URL)", s.bucket)
	case status != 0:
		return fmt.Sprintf("bucket %s: S3 endpoint %s answered %d", s.bucket, s.endpointHost(), status)
	}
	return fmt.Sprintf("bucket %s unavailable", s.bucket)
}

// endpointHost is the host (and port) of the S3 endpoint.
func (s *S3) endpointHost() string {
	if u, err := url.Parse(s.endpoint); err == nil && u.Host != "" {
		return u.Host
	}
	return "of AWS"
}

// List calls fn for every object whose key starts with prefix, in key order.
// An error from fn stops the listing and is returned as is.
func (s *S3) List(ctx context.Context, prefix string, fn func(modelkeep.BlobInfo) error) error {
	in := &s3.ListObjectsV2Input{Bucket: aws.String(s.bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	pages := s3.NewListObjectsV2Paginator(s.client, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list blobs %q: %w", prefix, s3Err(err))
		}
		for _, o := range page.Contents {
			info := modelkeep.BlobInfo{
				Key:     aws.ToString(o.Key),
				Size:    aws.ToInt64(o.Size),
				ModTime: aws.ToTime(o.LastModified),
			}
			if err := fn(info); err != nil {
				return err
			}
		}
	}
	return nil
}

// PresignGet returns a GET URL for key valid for ttl. It signs locally and
// does not check that the key exists: callers look the file up first.
func (s *S3) PresignGet(ctx context.Context, key string, ttl time.Duration, opts modelkeep.PresignOptions) (string, error) {
	if err := validateKey(key); err != nil {
		return "", fmt.Errorf("presign blob %q: %w", key, err)
	}
	if ttl <= 0 || ttl > maxPresignTTL {
		return "", fmt.Errorf("presign blob %q: %w",
			key, modelkeep.Errorf(modelkeep.ErrInvalid, "presign ttl %s is outside (0, %s]", ttl, maxPresignTTL))
	}
	in := &s3.GetObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)}
	if opts.Filename != "" {
		in.ResponseContentDisposition = aws.String(attachment(opts.Filename))
	}
	req, err := s.presign.PresignGetObject(ctx, in, s3.WithPresignExpires(ttl))
	if err != nil {
		return "", fmt.Errorf("presign blob %q: %w", key, err)
	}
	return req.URL, nil
}

// attachment formats a Content-Disposition value; mime quotes the name and
// switches to RFC 2231 encoding for non-ASCII names.
func attachment(filename string) string {
	if v := mime.FormatMediaType("attachment", map[string]string{"filename": filename}); v != "" {
		return v
	}
	return "attachment" // the name had characters no encoding can carry
}

// s3Reader reads an object lazily: the first Read after Open or a Seek
// issues one GetObject from the current offset and keeps reading that stream
// until the next Seek moves the offset. If-Match pins the reads to the object
// that Open saw, so a concurrent overwrite fails the read instead of mixing
// two blobs.
type s3Reader struct {
	ctx    context.Context
	s      *S3
	key    string
	etag   *string
	size   int64
	off    int64
	body   io.ReadCloser
	closed bool
}

func (r *s3Reader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, fmt.Errorf("read blob %q: %w", r.key, os.ErrClosed)
	}
	if r.off >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	if r.body == nil {
		in := &s3.GetObjectInput{
			Bucket:  aws.String(r.s.bucket),
			Key:     aws.String(r.key),
			IfMatch: r.etag,
		}
		if r.off > 0 {
			in.Range = aws.String("bytes=" + strconv.FormatInt(r.off, 10) + "-")
		}
		out, err := r.s.client.GetObject(r.ctx, in)
		if err != nil {
			return 0, fmt.Errorf("read blob %q at %d: %w", r.key, r.off, s3Err(err))
		}
		r.body = out.Body
	}
	n, err := r.body.Read(p)
	r.off += int64(n)
	switch {
	case err == io.EOF:
		r.dropBody()
		if r.off < r.size {
			return n, fmt.Errorf("read blob %q at %d: %w", r.key, r.off, io.ErrUnexpectedEOF)
		}
		return n, io.EOF
	case err != nil:
		r.dropBody()
		return n, fmt.Errorf("read blob %q at %d: %w", r.key, r.off, s3Err(err))
	}
	return n, nil
}

// Seek only moves the offset; the stream in progress, if any, is dropped and
// the next Read opens a new one.
func (r *s3Reader) Seek(offset int64, whence int) (int64, error) {
	if r.closed {
		return 0, fmt.Errorf("seek blob %q: %w", r.key, os.ErrClosed)
	}
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = r.off + offset
	case io.SeekEnd:
		abs = r.size + offset
	default:
		return 0, fmt.Errorf("seek blob %q: invalid whence %d", r.key, whence)
	}
	if abs < 0 {
		return 0, fmt.Errorf("seek blob %q: negative position %d", r.key, abs)
	}
	if abs != r.off {
		r.dropBody()
	}
	r.off = abs
	return abs, nil
}

func (r *s3Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.dropBody()
	return nil
}

// dropBody closes the current GetObject stream. A close error only means the
// connection is not reused; the bytes read so far are unaffected.
func (r *s3Reader) dropBody() {
	if r.body != nil {
		_ = r.body.Close()
		r.body = nil
	}
}

// s3Err maps SDK errors onto the domain's sentinels, keeping the original
// in the chain: missing objects become ErrNotFound; a server or bucket that
// cannot be reached, or that answers 5xx, becomes ErrUnavailable.
func s3Err(err error) error {
	if err == nil || errors.Is(err, context.Canceled) {
		return err
	}
	switch apiCode(err) {
	case "NoSuchKey", "NotFound":
		return fmt.Errorf("%w: %w", modelkeep.ErrNotFound, err)
	case "NoSuchBucket":
		return fmt.Errorf("%w: %w", modelkeep.ErrUnavailable, err)
	case "PreconditionFailed":
		return fmt.Errorf("%w: blob changed while being read: %w", modelkeep.ErrPrecondition, err)
	}
	// No response at all: refused, reset, DNS, TLS or a timeout. Checked
	// before the status code because the SDK wraps these in a ResponseError
	// with status 0 too.
	var send *smithyhttp.RequestSendError
	var netErr net.Error
	if errors.As(err, &send) || errors.As(err, &netErr) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: %w", modelkeep.ErrUnavailable, err)
	}
	var resp *awshttp.ResponseError
	if errors.As(err, &resp) {
		switch code := resp.HTTPStatusCode(); {
		case code == 404:
			return fmt.Errorf("%w: %w", modelkeep.ErrNotFound, err)
		case code >= 500:
			return fmt.Errorf("%w: %w", modelkeep.ErrUnavailable, err)
		}
	}
	return err
}

// apiCode is the S3 error code of err ("NoSuchKey"), or "".
func apiCode(err error) string {
	var api smithy.APIError
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return ""
}

// maxSinglePutSize is the largest object S3 accepts in one PutObject.
const maxSinglePutSize = 5 << 30

// putSingle streams a body of known size as one unsigned PutObject. It is
// not retried (the body cannot be rewound); on failure the key is removed,
// in case the server kept anything.
func (s *S3) putSingle(ctx context.Context, key string, body *checkedReader, size int64) (modelkeep.BlobInfo, error) {
	_, err := s.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		Body:          &exactReader{r: body, left: size},
		ContentLength: aws.Int64(size),
		ContentType:   aws.String("application/octet-stream"),
	}, unsignedOnce...)
	if err == nil {
		return modelkeep.BlobInfo{Key: key, Size: size, ModTime: time.Now().UTC()}, nil
	}
	cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
	defer cancel()
	_, _ = s.client.DeleteObject(cleanup, &s3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if berr := body.bodyErr("put blob", key); berr != nil {
		return modelkeep.BlobInfo{}, berr
	}
	return modelkeep.BlobInfo{}, fmt.Errorf("put blob %q: %w", key, s3Err(err))
}

// exactReader hands out exactly left bytes of r. Before the last of them go
// out it makes sure r has nothing more: a body longer than declared must
// reach the server short (and so be refused), never as a complete object
// of the declared size.
type exactReader struct {
	r    io.Reader
	left int64
}

var errBodyTooLong = modelkeep.Errorf(modelkeep.ErrInvalid, "body is longer than its declared size")

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.left {
		p = p[:e.left]
	}
	n, err := e.r.Read(p)
	e.left -= int64(n)
	if e.left > 0 || n == 0 {
		return n, err
	}
	var extra [1]byte
	for {
		m, xerr := e.r.Read(extra[:])
		switch {
		case m > 0:
			return 0, errBodyTooLong // withhold the last bytes
		case xerr == io.EOF:
			return n, nil
		case xerr != nil:
			return 0, xerr
		}
	}
}

// transferClient is the HTTP client the S3 client resolved (the SDK's
// buildable one, with a custom CA bundle or a defaults mode's dialer
// applied by then; those options replace the transport's dialer, so ours
// come after them) with the transport options and the body swap transfers
// need:
//   - connections close with a reset rather than a clean FIN: versitygw
//     (v1.8.0) stores a PUT whose connection closed cleanly midway as a
//     complete, truncated object; a reset makes it drop the request;
//   - the parts of putMultipart leave in large writes (s3_largewrites.go).
func transferClient(resolved s3.HTTPClient) s3.HTTPClient {
	bc, ok := resolved.(*awshttp.BuildableClient)
	if !ok {
		bc = awshttp.NewBuildableClient()
	}
	return partBodyClient{bc.WithTransportOptions(resetOnClose, largeWriteConns)}
}

// resetOnClose makes the transport's connections close with a TCP reset.
func resetOnClose(tr *http.Transport) {
	wrapDial(tr, func(c net.Conn) net.Conn {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		return c
	})
}

// largeWriteConns wraps the transport's connections in largeWriteConn.
func largeWriteConns(tr *http.Transport) {
	wrapDial(tr, func(c net.Conn) net.Conn { return largeWriteConn{c} })
}

// wrapDial passes every connection the transport dials through wrap.
func wrapDial(tr *http.Transport, wrap func(net.Conn) net.Conn) {
	dial := tr.DialContext
	if dial == nil {
		dial = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	}
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return wrap(c), nil
	}
}

var _ modelkeep.Retainer = (*S3)(nil)

// RetentionMode asks whether the bucket has Object Lock enabled: then
// PutRetained locks objects in compliance mode.
func (s *S3) RetentionMode(ctx context.Context) (string, error) {
	out, err := s.client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(s.bucket)})
	if err != nil {
		if code := apiCode(err); code == "ObjectLockConfigurationNotFoundError" || code == "ObjectLockConfigurationNotFound" ||
			code == "NoSuchObjectLockConfiguration" || code == "NotImplemented" || code == "InvalidBucketState" {
			return modelkeep.LockNone, nil
		}
		return "", fmt.Errorf("read the object lock configuration of bucket %s: %w", s.bucket, s3Err(err))
	}
	if c := out.ObjectLockConfiguration; c != nil && c.ObjectLockEnabled == types.ObjectLockEnabledEnabled {
		return modelkeep.LockCompliance, nil
	}
	return modelkeep.LockNone, nil
}

// PutRetained stores a small object in one PutObject, locked in compliance
// mode until until when the bucket has Object Lock.
func (s *S3) PutRetained(ctx context.Context, key string, r io.Reader, size int64, until time.Time) (modelkeep.BlobInfo, error) {
	mode, err := s.RetentionMode(ctx)
	if err != nil {
		return modelkeep.BlobInfo{}, err
	}
	if size < 0 || size > maxSinglePutSize {
		return modelkeep.BlobInfo{}, modelkeep.Errorf(modelkeep.ErrInvalid, "a retained object is put whole: its size must be known and at most %d bytes", int64(maxSinglePutSize))
	}
	in := &s3.PutObjectInput{
		Bucket: aws.String(s.bucket), Key: aws.String(key), Body: r, ContentLength: aws.Int64(size),
		ContentType: aws.String("application/json"),
	}
	if mode == modelkeep.LockCompliance {
		in.ObjectLockMode = types.ObjectLockModeCompliance
		in.ObjectLockRetainUntilDate = aws.Time(until.UTC())
	}
	if _, err := s.client.PutObject(ctx, in); err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("put retained blob %q: %w", key, s3Err(err))
	}
	return modelkeep.BlobInfo{Key: key, Size: size, ModTime: time.Now().UTC()}, nil
}

// Retention reads an object's lock.
func (s *S3) Retention(ctx context.Context, key string) (string, time.Time, error) {
	out, err := s.head(ctx, key)
	if err != nil {
		return "", time.Time{}, err
	}
	if out.ObjectLockMode == "" || out.ObjectLockRetainUntilDate == nil {
		return modelkeep.LockNone, time.Time{}, nil
	}
	return string(out.ObjectLockMode), out.ObjectLockRetainUntilDate.UTC(), nil
}
