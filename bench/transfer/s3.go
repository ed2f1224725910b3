package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// s3Client is the benchmark's direct line to the S3 server: the SDK client,
// its presigner, the SDK's transfer manager, and a plain net/http client for
// presigned URLs.
type s3Client struct {
	cfg     config
	sdk     *s3.Client
	presign *s3.PresignClient
	tm      *transfermanager.Client // no checksum per part
	tmCRC   *transfermanager.Client // the SDK's default CRC32 per part
	http    *http.Client
}

func newS3(cfg config) *s3Client {
	httpClient := newHTTPClient()
	client := s3.New(s3.Options{
		HTTPClient:   httpClient,
		BaseEndpoint: aws.String(cfg.endpoint),
		Region:       cfg.region,
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(cfg.accessKey, cfg.secretKey, ""),
		// As Modelkeep configures it: no CRC32 on every request.
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
	// The transfer manager with its own defaults (8 MiB parts, 5 at a time),
	// on a client whose payload is unsigned as Modelkeep's is (a signed
	// payload would hash each part with SHA-256 once more here and slow
	// this baseline down), twice: without a checksum per part (tm), as
	// Modelkeep sent its parts before they carried a CRC32C, and with the
	// SDK's default CRC32 per part (tmCRC), as Modelkeep's parts now carry
	// a CRC32C. The S3 server computes a checksum of its own for a part
	// sent without one (versitygw: a CRC64NVME in software, about as long
	// as a SHA-256); the SDK's CRC32 costs the client more than it saves
	// there on this host. Each ratio is against the faster of the two.
	tmClient := s3.New(client.Options(), func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
	})
	tm := transfermanager.New(tmClient, func(o *transfermanager.Options) {
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	})
	tmCRCClient := s3.New(client.Options(), func(o *s3.Options) {
		o.APIOptions = append(o.APIOptions, v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware)
		o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenSupported
	})
	tmCRC := transfermanager.New(tmCRCClient)
	return &s3Client{
		cfg:     cfg,
		sdk:     client,
		presign: s3.NewPresignClient(client),
		tm:      tm,
		tmCRC:   tmCRC,
		http:    httpClient,
	}
}

// newHTTPClient is the client of every transfer, direct and through
// Modelkeep alike, and of the SDK: keep-alive, no transparent
// decompression, and connections closed with a reset. An interrupted PUT
// ends with its connection closed; versitygw up to v1.8.0 takes a FIN there
// for the end of the body and stores the truncated object (a reset fails
// the request), which could then appear after the bucket was emptied.
func newHTTPClient() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableCompression = true
	dial := t.DialContext
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := dial(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		return c, err
	}
	return &http.Client{
		Transport:     t,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// blobSpec is the MODELKEEP_BLOBS value for bucket.
func (c *s3Client) blobSpec(bucket string) string {
	return fmt.Sprintf("s3://%s?endpoint=%s&region=%s&path_style=true",
		bucket, url.QueryEscape(c.cfg.endpoint), url.QueryEscape(c.cfg.region))
}

func (c *s3Client) createBucket(ctx context.Context, bucket string) error {
	if _, err := c.sdk.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil {
		return fmt.Errorf("create bucket %s on %s: %w", bucket, c.cfg.endpoint, err)
	}
	return nil
}

// deleteAll removes every object under prefix.
func (c *s3Client) deleteAll(ctx context.Context, bucket, prefix string) error {
	in := &s3.ListObjectsV2Input{Bucket: &bucket}
	if prefix != "" {
		in.Prefix = &prefix
	}
	pages := s3.NewListObjectsV2Paginator(c.sdk, in)
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list bucket %s: %w", bucket, err)
		}
		for _, o := range page.Contents {
			if _, err := c.sdk.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &bucket, Key: o.Key}); err != nil {
				return fmt.Errorf("delete %s/%s: %w", bucket, aws.ToString(o.Key), err)
			}
		}
	}
	return nil
}

// removeBucket empties bucket (objects and unfinished multipart uploads)
// and deletes it. After an interrupted transfer the server may still be
// storing an object while the bucket is emptied, so it tries a few times.
func (c *s3Client) removeBucket(ctx context.Context, bucket string) error {
	var err error
	for range 10 {
		if err = c.emptyAndDelete(ctx, bucket); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(500 * time.Millisecond):
		}
	}
	return err
}

func (c *s3Client) emptyAndDelete(ctx context.Context, bucket string) error {
	if err := c.deleteAll(ctx, bucket, ""); err != nil {
		return err
	}
	uploads, err := c.sdk.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: &bucket})
	if err == nil {
		for _, u := range uploads.Uploads {
			_, _ = c.sdk.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: u.Key, UploadId: u.UploadId})
		}
	}
	if _, err := c.sdk.DeleteBucket(ctx, &s3.DeleteBucketInput{Bucket: &bucket}); err != nil {
		return fmt.Errorf("delete bucket %s: %w", bucket, err)
	}
	return nil
}

// presignedPut uploads the payload with a plain HTTP PUT to a presigned URL:
// the file streams from the page cache with Content-Length, nothing else.
func (c *s3Client) presignedPut(ctx context.Context, bucket, key string, p *payload) error {
	req, err := c.presign.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: &key}, s3.WithPresignExpires(time.Hour))
	if err != nil {
		return fmt.Errorf("presign put: %w", err)
	}
	f, err := os.Open(p.path)
	if err != nil {
		return err
	}
	defer f.Close()
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, f)
	if err != nil {
		return err
	}
	copySignedHeaders(hr, req.SignedHeader)
	hr.ContentLength = p.size
	resp, err := c.doPresigned(hr)
	if err != nil {
		return fmt.Errorf("presigned put: %w", err)
	}
	return expectStatus(resp, http.StatusOK)
}

// presignedGet downloads key with a plain HTTP GET of a presigned URL.
func (c *s3Client) presignedGet(ctx context.Context, bucket, key string, p *payload) error {
	req, err := c.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key}, s3.WithPresignExpires(time.Hour))
	if err != nil {
		return fmt.Errorf("presign get: %w", err)
	}
	hr, err := http.NewRequestWithContext(ctx, req.Method, req.URL, nil)
	if err != nil {
		return err
	}
	copySignedHeaders(hr, req.SignedHeader)
	resp, err := c.doPresigned(hr)
	if err != nil {
		return fmt.Errorf("presigned get: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return expectStatus(resp, http.StatusOK)
	}
	return p.check(resp.Body, "")
}

// doPresigned sends a presigned request. Its errors leave out the query,
// which holds the signature.
func (c *s3Client) doPresigned(r *http.Request) (*http.Response, error) {
	resp, err := c.http.Do(r)
	var uerr *url.Error
	if errors.As(err, &uerr) {
		return nil, fmt.Errorf("%s %s://%s%s: %w", r.Method, r.URL.Scheme, r.URL.Host, r.URL.Path, uerr.Err)
	}
	return resp, err
}

func copySignedHeaders(r *http.Request, h http.Header) {
	for k, vs := range h {
		if http.CanonicalHeaderKey(k) == "Host" {
			continue
		}
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
}

// sdkPut is PutObject from the file, with an unsigned payload as a
// presigned URL has (a signed one would hash the body once more).
func (c *s3Client) sdkPut(ctx context.Context, bucket, key string, p *payload) error {
	f, err := os.Open(p.path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = c.sdk.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &bucket, Key: &key, Body: f, ContentLength: aws.Int64(p.size),
	}, s3.WithAPIOptions(v4.SwapComputePayloadSHA256ForUnsignedPayloadMiddleware))
	if err != nil {
		return fmt.Errorf("sdk put: %w", err)
	}
	return nil
}

// tmPut streams the file through the SDK's transfer manager as a plain
// io.Reader of unknown length, as a chunked request body is: the direct
// baseline of a chunked PUT through Modelkeep.
func (c *s3Client) tmPut(ctx context.Context, tm *transfermanager.Client, bucket, key string, p *payload) error {
	f, err := os.Open(p.path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = tm.UploadObject(ctx, &transfermanager.UploadObjectInput{
		Bucket: &bucket, Key: &key, Body: struct{ io.Reader }{f},
	})
	if err != nil {
		return fmt.Errorf("sdk transfer manager: %w", err)
	}
	return nil
}

// sdkGet is GetObject, the body streamed.
func (c *s3Client) sdkGet(ctx context.Context, bucket, key string, p *payload) error {
	out, err := c.sdk.GetObject(ctx, &s3.GetObjectInput{Bucket: &bucket, Key: &key})
	if err != nil {
		return fmt.Errorf("sdk get: %w", err)
	}
	defer out.Body.Close()
	return p.check(out.Body, "")
}
