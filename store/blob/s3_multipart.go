package blob

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/modelkeep/modelkeep"
)

var (
	_ modelkeep.Multipart     = (*S3)(nil)
	_ modelkeep.PartPresigner = (*S3)(nil)
)

// unsignedOnce are the options of every request with a streamed body: an
// unsigned payload (see NewS3) and no retry (a stream cannot be rewound).
var unsignedOnce = []func(*s3.Options){
	s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware),
	func(o *s3.Options) { o.RetryMaxAttempts = 1 },
}

// CreateMultipart starts an S3 multipart upload of key.
func (s *S3) CreateMultipart(ctx context.Context, key string) (string, error) {
	if err := validateKey(key); err != nil {
		return "", fmt.Errorf("create multipart upload %q: %w", key, err)
	}
	out, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:      aws.String(s.bucket),
		Key:         aws.String(key),
		ContentType: aws.String("application/octet-stream"),
	})
	if err != nil {
		return "", fmt.Errorf("create multipart upload %q: %w", key, s3Err(err))
	}
	return aws.ToString(out.UploadId), nil
}

// CreateMultipartCRC32C starts an S3 multipart upload of key with the
// CRC32C checksum algorithm, type FULL_OBJECT: S3 checks a part against
// the CRC32C it is sent with (a presigned part is signed with one), computes
// it for a part sent without (a part the server streams: its CRC32C is not
// known before its last byte), keeps it with the part (ListParts), and
// combines the parts' into the object's. CRC32C rather than SHA-256: both
// the client and S3 compute it for every byte pushed, and SHA-256 took
// about a fifth of a push's CPU there (bench/README.md); the server hashes
// the whole file with SHA-256 at completion either way.
func (s *S3) CreateMultipartCRC32C(ctx context.Context, key string) (string, error) {
	if err := validateKey(key); err != nil {
		return "", fmt.Errorf("create multipart upload %q: %w", key, err)
	}
	out, err := s.client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{
		Bucket:            aws.String(s.bucket),
		Key:               aws.String(key),
		ContentType:       aws.String("application/octet-stream"),
		ChecksumAlgorithm: types.ChecksumAlgorithmCrc32c,
		ChecksumType:      types.ChecksumTypeFullObject,
	})
	if err != nil {
		return "", fmt.Errorf("create multipart upload %q: %w", key, s3Err(err))
	}
	return aws.ToString(out.UploadId), nil
}

// PresignPart signs an UploadPart of part n locally (no I/O) with its
// length and checksum (x-amz-checksum-crc32c, or x-amz-checksum-sha256 for
// an upload of the SHA256 algorithm) among the signed headers: S3 refuses a
// request whose Content-Length or checksum differ from them, and a body
// that does not match the checksum (BadDigest). The payload itself is
// unsigned, as presigned URLs are.
func (s *S3) PresignPart(ctx context.Context, key, uploadID string, n int, size int64, sum modelkeep.PartChecksum, ttl time.Duration) (modelkeep.PresignedRequest, error) {
	op := fmt.Sprintf("presign part %d of %q", n, key)
	if err := validateKey(key); err != nil {
		return modelkeep.PresignedRequest{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := checkPart(n, size); err != nil {
		return modelkeep.PresignedRequest{}, fmt.Errorf("%s: %w", op, err)
	}
	if ttl <= 0 || ttl > maxPresignTTL {
		return modelkeep.PresignedRequest{}, fmt.Errorf("%s: %w", op, modelkeep.Errorf(modelkeep.ErrInvalid, "presign ttl %s is outside (0, %s]", ttl, maxPresignTTL))
	}
	in := &s3.UploadPartInput{
		Bucket:        aws.String(s.bucket),
		Key:           aws.String(key),
		UploadId:      aws.String(uploadID),
		PartNumber:    aws.Int32(int32(n)),
		ContentLength: aws.Int64(size),
	}
	var err error
	switch sum.Algorithm {
	case modelkeep.ChecksumCRC32C:
		in.ChecksumCRC32C, err = toS3Sum(sum.Hex, crc32cSize)
	case modelkeep.ChecksumSHA256:
		in.ChecksumSHA256, err = toS3Sum(sum.Hex, sha256Size)
	}
	if err != nil || (in.ChecksumCRC32C == nil && in.ChecksumSHA256 == nil) {
		return modelkeep.PresignedRequest{}, fmt.Errorf("%s: %w", op, modelkeep.Errorf(modelkeep.ErrInvalid, "a presigned part needs its hex CRC32C or SHA-256"))
	}
	now := time.Now()
	req, err := s.presign.PresignUploadPart(ctx, in, s3.WithPresignExpires(ttl))
	if err != nil {
		return modelkeep.PresignedRequest{}, fmt.Errorf("%s: %w", op, err)
	}
	header := map[string]string{}
	for k, vs := range req.SignedHeader {
		// Host is the URL's; the rest (Content-Length and the checksum)
		// the client must send as signed.
		if !strings.EqualFold(k, "Host") && len(vs) > 0 {
			header[k] = vs[0]
		}
	}
	return modelkeep.PresignedRequest{Method: req.Method, URL: req.URL, Header: header, Expires: now.Add(ttl).UTC()}, nil
}

// ListParts lists the parts S3 holds for an upload, with their CRC32C or
// SHA-256 when the upload keeps part checksums.
func (s *S3) ListParts(ctx context.Context, key, uploadID string) ([]modelkeep.Part, error) {
	if err := validateKey(key); err != nil {
		return nil, fmt.Errorf("list parts of %q: %w", key, err)
	}
	var parts []modelkeep.Part
	in := &s3.ListPartsInput{Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: aws.String(uploadID)}
	for {
		out, err := s.client.ListParts(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list parts of %q: %w", key, multipartErr(err, uploadID))
		}
		for _, p := range out.Parts {
			parts = append(parts, modelkeep.Part{
				Number: int(aws.ToInt32(p.PartNumber)), Size: aws.ToInt64(p.Size), ETag: aws.ToString(p.ETag),
				SHA256: fromS3Sum(p.ChecksumSHA256, sha256Size), CRC32C: fromS3Sum(p.ChecksumCRC32C, crc32cSize),
			})
		}
		if !aws.ToBool(out.IsTruncated) || out.NextPartNumberMarker == nil {
			break
		}
		in.PartNumberMarker = out.NextPartNumberMarker
	}
	slices.SortFunc(parts, func(a, b modelkeep.Part) int { return a.Number - b.Number })
	return parts, nil
}

// PutPart streams one part with UploadPart: unsigned, not retried, never
// buffered. A part's SHA-256, when given, goes along as its S3 checksum:
// S3 refuses the part when its bytes differ (BadDigest, ErrDigestMismatch),
// and an upload of the SHA256 algorithm keeps it. An upload of
// CreateMultipartCRC32C is sent none: S3 computes the part's CRC32C.
func (s *S3) PutPart(ctx context.Context, key, uploadID string, n int, r io.Reader, size int64, sha256 string) (modelkeep.Part, error) {
	op := fmt.Sprintf("put part %d of %q", n, key)
	if err := validateKey(key); err != nil {
		return modelkeep.Part{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := checkPart(n, size); err != nil {
		return modelkeep.Part{}, fmt.Errorf("%s: %w", op, err)
	}
	checksum, err := toS3Sum(sha256, sha256Size)
	if err != nil {
		return modelkeep.Part{}, fmt.Errorf("%s: %w", op, err)
	}
	body := newCheckedReader(ctx, r, size)
	etag, err := s.uploadPart(ctx, key, uploadID, n, &exactReader{r: body, left: size}, size, checksum, nil)
	if err != nil {
		if berr := body.bodyErr(op, key); berr != nil {
			return modelkeep.Part{}, berr
		}
		return modelkeep.Part{}, fmt.Errorf("%s: %w", op, err)
	}
	return modelkeep.Part{Number: n, Size: size, ETag: etag}, nil
}

// uploadPart sends one part with its checksum: sha256 and crc32c are the
// base64 values S3 checks, either or neither set (nil).
func (s *S3) uploadPart(ctx context.Context, key, uploadID string, n int, r io.Reader, size int64, sha256, crc32c *string) (string, error) {
	out, err := s.client.UploadPart(ctx, &s3.UploadPartInput{
		Bucket:         aws.String(s.bucket),
		Key:            aws.String(key),
		UploadId:       aws.String(uploadID),
		PartNumber:     aws.Int32(int32(n)),
		Body:           r,
		ContentLength:  aws.Int64(size),
		ChecksumSHA256: sha256,
		ChecksumCRC32C: crc32c,
	}, unsignedOnce...)
	if err != nil {
		return "", multipartErr(err, uploadID)
	}
	return aws.ToString(out.ETag), nil
}

// refusesChecksum reports whether a CreateMultipartUpload failed because
// the store does not take the checksum algorithm or type asked for (some
// S3-compatible stores lack FULL_OBJECT checksums), rather than for the
// upload itself.
func refusesChecksum(err error) bool {
	switch apiCode(err) {
	case "NotImplemented", "InvalidArgument", "InvalidRequest":
		return true
	}
	return false
}

// castagnoli is the CRC32C table (the CPU's instruction where there is one).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// The sizes of the part checksums S3 keeps: a CRC32C and a SHA-256.
const (
	crc32cSize = 4
	sha256Size = sha256.Size
)

// toS3Sum is a hex checksum of n bytes as S3 writes checksums (base64),
// nil for "".
func toS3Sum(sum string, n int) (*string, error) {
	if sum == "" {
		return nil, nil
	}
	b, err := hex.DecodeString(sum)
	if err != nil || len(b) != n {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "part checksum %q is not %d hex bytes", sum, n)
	}
	return aws.String(base64.StdEncoding.EncodeToString(b)), nil
}

// fromS3Sum is S3's base64 checksum in hex: "" when absent or not of n
// bytes.
func fromS3Sum(sum *string, n int) string {
	b, err := base64.StdEncoding.DecodeString(aws.ToString(sum))
	if err != nil || len(b) != n {
		return ""
	}
	return hex.EncodeToString(b)
}

// multipartErr maps the errors of multipart calls: an upload that is gone
// is ErrNotFound, a part list S3 refuses is ErrConflict.
func multipartErr(err error, uploadID string) error {
	switch apiCode(err) {
	case "NoSuchUpload":
		return fmt.Errorf("%w: %w", modelkeep.Errorf(modelkeep.ErrNotFound, "multipart upload %q not found", uploadID), err)
	case "InvalidPart", "InvalidPartOrder", "EntityTooSmall":
		return fmt.Errorf("%w: %w", modelkeep.Errorf(modelkeep.ErrConflict, "a part is missing, too small or was replaced"), err)
	case "BadDigest":
		return fmt.Errorf("%w: %w", modelkeep.Errorf(modelkeep.ErrDigestMismatch, "the part's bytes do not match its checksum"), err)
	}
	return s3Err(err)
}

// CompleteMultipart completes the upload with the given parts; S3 checks
// each part's ETag against the part it holds.
func (s *S3) CompleteMultipart(ctx context.Context, key, uploadID string, parts []modelkeep.Part) (modelkeep.BlobInfo, error) {
	op := fmt.Sprintf("complete multipart upload of %q", key)
	if err := validateKey(key); err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("%s: %w", op, err)
	}
	if err := checkParts(parts); err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("%s: %w", op, err)
	}
	completed := make([]types.CompletedPart, len(parts))
	var size int64
	for i, p := range parts {
		// An upload of a checksum algorithm wants every part's.
		shaSum, err := toS3Sum(p.SHA256, sha256Size)
		if err != nil {
			return modelkeep.BlobInfo{}, fmt.Errorf("%s: %w", op, err)
		}
		crcSum, err := toS3Sum(p.CRC32C, crc32cSize)
		if err != nil {
			return modelkeep.BlobInfo{}, fmt.Errorf("%s: %w", op, err)
		}
		completed[i] = types.CompletedPart{ETag: aws.String(p.ETag), PartNumber: aws.Int32(int32(p.Number)), ChecksumSHA256: shaSum, ChecksumCRC32C: crcSum}
		size += p.Size
	}
	_, err := s.client.CompleteMultipartUpload(ctx, &s3.CompleteMultipartUploadInput{
		Bucket:          aws.String(s.bucket),
		Key:             aws.String(key),
		UploadId:        aws.String(uploadID),
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed},
	})
	if err != nil {
		return modelkeep.BlobInfo{}, fmt.Errorf("%s: %w", op, multipartErr(err, uploadID))
	}
	return modelkeep.BlobInfo{Key: key, Size: size, ModTime: time.Now().UTC()}, nil
}

// AbortMultipart aborts the upload; NoSuchUpload is success.
func (s *S3) AbortMultipart(ctx context.Context, key, uploadID string) error {
	if err := validateKey(key); err != nil {
		return fmt.Errorf("abort multipart upload %q: %w", uploadID, err)
	}
	_, err := s.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket:   aws.String(s.bucket),
		Key:      aws.String(key),
		UploadId: aws.String(uploadID),
	})
	if err == nil || apiCode(err) == "NoSuchUpload" {
		return nil
	}
	return fmt.Errorf("abort multipart upload %q: %w", uploadID, s3Err(err))
}

// ListMultipart lists the open uploads under prefix; LastActivity comes
// from the upload's parts (one ListParts per upload).
func (s *S3) ListMultipart(ctx context.Context, prefix string, fn func(modelkeep.MultipartUpload) error) error {
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket)}
	if prefix != "" {
		in.Prefix = aws.String(prefix)
	}
	for {
		out, err := s.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return fmt.Errorf("list multipart uploads %q: %w", prefix, s3Err(err))
		}
		for _, u := range out.Uploads {
			mu := modelkeep.MultipartUpload{Key: aws.ToString(u.Key), UploadID: aws.ToString(u.UploadId), Initiated: aws.ToTime(u.Initiated)}
			mu.LastActivity = mu.Initiated
			last, err := s.lastPartTime(ctx, mu.Key, mu.UploadID)
			if errors.Is(err, modelkeep.ErrNotFound) {
				continue // completed or aborted meanwhile
			}
			if err != nil {
				return err
			}
			if last.After(mu.LastActivity) {
				mu.LastActivity = last
			}
			if err := fn(mu); err != nil {
				return err
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			return nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}

// lastPartTime is the time of the newest part of an upload (zero without
// parts).
func (s *S3) lastPartTime(ctx context.Context, key, uploadID string) (time.Time, error) {
	var last time.Time
	in := &s3.ListPartsInput{Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: aws.String(uploadID)}
	for {
		out, err := s.client.ListParts(ctx, in)
		if err != nil {
			return time.Time{}, fmt.Errorf("list parts of %q: %w", key, multipartErr(err, uploadID))
		}
		for _, p := range out.Parts {
			if t := aws.ToTime(p.LastModified); t.After(last) {
				last = t
			}
		}
		if !aws.ToBool(out.IsTruncated) || out.NextPartNumberMarker == nil {
			return last, nil
		}
		in.PartNumberMarker = out.NextPartNumberMarker
	}
}

// partSizeAt is the size of part n of a body of the given size (-1:
// unknown) cut with the base part size. A known size gets one size that
// fits it into MaxParts. An unknown one doubles its part size every
// partsPerDoubling parts, so MaxParts parts hold far more than base x
// MaxParts (with 8 MiB parts: 8 GiB in 8 MiB parts, then 16 GiB in 16 MiB
// parts, and so on; 240 GiB in the first 5,000).
func partSizeAt(base, size int64, n int) int64 {
	if size >= 0 {
		return max(base, roundUp((size+modelkeep.MaxParts-1)/modelkeep.MaxParts, 1<<20))
	}
	return min(base<<((n-1)/partsPerDoubling), modelkeep.MaxPartSize)
}

const partsPerDoubling = 1000

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }

// putMultipart uploads a body of unknown length (or longer than one
// PutObject may be) as an S3 multipart upload of its own: the body is read
// into part buffers, up to s.concurrency parts upload at once while the
// next one fills, and a body that ends within its first part goes as one
// PutObject instead. Memory stays within (concurrency+1) base-sized
// buffers, whatever the body's length. On any failure the upload is
// aborted, after the parts in flight finish (see Put).
func (s *S3) putMultipart(ctx context.Context, key string, body *checkedReader, size int64) (modelkeep.BlobInfo, error) {
	first := partSizeAt(s.partSize, size, 1)
	budget := newByteBudget(s.partSize, s.concurrency+1)
	defer budget.release() // after every part has returned its buffer (wg.Wait below)
	// The first part decides: a short body is one PutObject.
	buf := budget.get(first)
	n, rerr := io.ReadFull(body, buf)
	if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
		if err := body.bodyErr("put blob", key); err != nil {
			return modelkeep.BlobInfo{}, err
		}
		pb := &partBody{b: buf[:n]}
		defer pb.close() // before the deferred release
		return s.putSingle(ctx, key, newCheckedReader(ctx, pb, int64(n)), int64(n))
	}
	if rerr != nil {
		budget.put(buf)
		if err := body.bodyErr("put blob", key); err != nil {
			return modelkeep.BlobInfo{}, err
		}
		return modelkeep.BlobInfo{}, fmt.Errorf("put blob %q: %w", key, rerr)
	}

	// The parts upload on a context that outlives a cancellation by a
	// grace period. Cancelling stops the upload through body, which fails
	// its next read; the parts already in flight then finish before the
	// abort is sent. Cut off mid-request instead, a part could still land
	// on the server after the abort and revive the upload.
	upCtx, cancelUp := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelUp()
	stopGrace := context.AfterFunc(ctx, func() { time.AfterFunc(cancelGrace, cancelUp) })
	defer stopGrace()

	// Each part goes with its CRC32C (a part is in memory: computing it
	// costs little), which S3 checks, and so need not compute a checksum of
	// its own (versitygw: a CRC64NVME in software, as long as a SHA-256). A
	// store that does not take that algorithm gets a plain upload.
	withCRC := true
	uploadID, err := s.CreateMultipartCRC32C(upCtx, key)
	if refusesChecksum(err) {
		withCRC = false
		uploadID, err = s.CreateMultipart(upCtx, key)
	}
	if err != nil {
		budget.put(buf)
		return modelkeep.BlobInfo{}, fmt.Errorf("put blob %q: %w", key, err)
	}
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		parts  []modelkeep.Part
		errs   []error
		failed = make(chan struct{})
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(errs) == 0 {
			close(failed)
		}
		errs = append(errs, err)
	}
	send := func(num int, b []byte) {
		defer wg.Done()
		pb := &partBody{b: b}
		defer budget.put(b)
		defer pb.close() // first: the buffer is then no longer read
		part := modelkeep.Part{Number: num, Size: int64(len(b))}
		var crc *string
		if withCRC {
			sum := binary.BigEndian.AppendUint32(nil, crc32.Checksum(b, castagnoli))
			part.CRC32C = hex.EncodeToString(sum)
			crc = aws.String(base64.StdEncoding.EncodeToString(sum))
		}
		etag, err := s.uploadPart(withPartBody(upCtx, pb), key, uploadID, num, pb, int64(len(b)), nil, crc)
		if err != nil {
			fail(fmt.Errorf("part %d: %w", num, err))
			return
		}
		part.ETag = etag
		mu.Lock()
		parts = append(parts, part)
		mu.Unlock()
	}
	var total int64
	num, last := 1, false
	for {
		total += int64(len(buf))
		wg.Add(1)
		go send(num, buf)
		if last || isClosed(failed) {
			break
		}
		num++
		buf = budget.get(partSizeAt(s.partSize, size, num))
		m, err := io.ReadFull(body, buf)
		buf = buf[:m]
		if err == io.EOF {
			budget.put(buf)
			break
		}
		if err != nil && err != io.ErrUnexpectedEOF {
			budget.put(buf)
			fail(err)
			break
		}
		if num > modelkeep.MaxParts {
			budget.put(buf)
			fail(modelkeep.Errorf(modelkeep.ErrTooLarge, "body is longer than %d parts", modelkeep.MaxParts))
			break
		}
		last = err == io.ErrUnexpectedEOF // a short part is the last one
	}
	wg.Wait()
	if len(errs) == 0 && size >= 0 && total != size {
		errs = append(errs, modelkeep.Errorf(modelkeep.ErrInvalid, "body ended after %d of the declared %d bytes", total, size))
	}
	if len(errs) == 0 {
		slices.SortFunc(parts, func(a, b modelkeep.Part) int { return a.Number - b.Number })
		info, err := s.CompleteMultipart(upCtx, key, uploadID, parts)
		if err == nil {
			return info, nil
		}
		errs = append(errs, err)
	}
	abortErr := s.abort(ctx, key, uploadID)
	// A failing body is the caller's error (and may be a 413 or a client
	// that went away); only a failing store is mapped to our sentinels.
	var err2 error
	if berr := body.bodyErr("put blob", key); berr != nil {
		err2 = berr
	} else {
		err2 = fmt.Errorf("put blob %q: %w", key, errors.Join(errs...))
	}
	if abortErr != nil {
		err2 = errors.Join(err2, abortErr)
	}
	return modelkeep.BlobInfo{}, err2
}

func isClosed(c chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// byteBudget hands out part buffers while keeping the bytes held at once
// within tokens x unit: a buffer of k units takes k tokens (all of them
// when k is larger). Only one goroutine gets buffers, so taking tokens one
// by one cannot deadlock. Buffers are reused within an upload and come from
// outside the Go heap where the platform allows (allocPart): the collector
// then neither counts them in its heap goal nor lets garbage grow beside
// them, and release gives the memory back to the system at once.
type byteBudget struct {
	unit   int64
	tokens chan struct{}
	mu     sync.Mutex
	free   map[int64][][]byte
	mapped [][]byte // the buffers to unmap at release
}

func newByteBudget(unit int64, tokens int) *byteBudget {
	b := &byteBudget{unit: unit, tokens: make(chan struct{}, tokens), free: map[int64][][]byte{}}
	for range tokens {
		b.tokens <- struct{}{}
	}
	return b
}

func (b *byteBudget) cost(size int64) int {
	return min(int((size+b.unit-1)/b.unit), cap(b.tokens))
}

// get waits for the budget and returns a buffer of size bytes.
func (b *byteBudget) get(size int64) []byte {
	for range b.cost(size) {
		<-b.tokens
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if l := b.free[size]; len(l) > 0 {
		buf := l[len(l)-1]
		b.free[size] = l[:len(l)-1]
		return buf
	}
	buf, mapped := allocPart(int(size))
	if mapped {
		b.mapped = append(b.mapped, buf)
	}
	return buf
}

// put returns a buffer from get (resliced or not) and its tokens.
func (b *byteBudget) put(buf []byte) {
	buf = buf[:cap(buf)]
	size := int64(len(buf))
	b.mu.Lock()
	b.free[size] = append(b.free[size], buf)
	b.mu.Unlock()
	for range b.cost(size) {
		b.tokens <- struct{}{}
	}
}

// release frees every buffer; none may be in use.
func (b *byteBudget) release() {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, buf := range b.mapped {
		freePart(buf)
	}
	b.mapped, b.free = nil, nil
}

// partBody is a part's request body over a buffer of the budget. Once
// closed it reads nothing more: the HTTP transport may still read a request
// body after the response (a failed request), and the buffer is reused or
// freed by then.
type partBody struct {
	mu sync.Mutex // held by a read or write of the buffer
	b  []byte
	// off advances under mu; closed is atomic so that Close need not wait
	// for mu, which WriteTo holds through a (possibly blocked) socket write.
	off    int
	closed atomic.Bool
}

func (p *partBody) Read(out []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed.Load() {
		return 0, errors.New("part body closed")
	}
	if p.off >= len(p.b) {
		return 0, io.EOF
	}
	n := copy(out, p.b[p.off:])
	p.off += n
	return n, nil
}

// WriteTo hands the buffer to w in writes of up to 1 MiB, straight from
// the buffer (largeWriteConn calls it for the socket).
func (p *partBody) WriteTo(w io.Writer) (int64, error) {
	const chunk = 1 << 20
	var total int64
	for {
		p.mu.Lock()
		if p.closed.Load() {
			p.mu.Unlock()
			return total, errors.New("part body closed")
		}
		if p.off >= len(p.b) {
			p.mu.Unlock()
			return total, nil
		}
		n, err := w.Write(p.b[p.off:min(p.off+chunk, len(p.b))])
		p.off += n
		p.mu.Unlock()
		total += int64(n)
		if err != nil {
			return total, err
		}
	}
}

// close stops reads and waits for one in progress: the buffer is free to
// reuse once it returns.
func (p *partBody) close() {
	p.closed.Store(true)
	p.mu.Lock()
	p.mu.Unlock() // empty: taking mu is the wait for a read or write in progress
}

// Close is for net/http, which closes a request body it is given
// (partBodyClient): it stops reads without waiting for one in progress.
func (p *partBody) Close() error {
	p.closed.Store(true)
	return nil
}

// Len is the number of bytes left to read.
func (p *partBody) Len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.b) - p.off
}
