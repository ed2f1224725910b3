package client

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Presigned transfers: where the server's blob store is S3, Push sends the
// parts of large files and Pull fetches files straight from the bucket,
// through URLs the server presigns, so that the bytes do not pass through
// the server (docs/uploads.md section 6, and ?redirect=true downloads). The
// server still decides who may do what, audits, and verifies: it reads an
// upload back at completion, and a pull checks every byte's SHA-256 as
// always. These requests carry no Authorization (the URL is the credential)
// and no precondition of the registry's (S3's ETags are not its SHA-256
// ETags). When the bucket cannot be reached from the client (an S3 endpoint
// on a network only the server sees) the transfer goes through the server.

// PartChecksum names a part and the checksum of its bytes that the
// session's PartChecksum names (the CRC32C in hex, or the SHA-256), for
// PresignParts.
type PartChecksum struct {
	Number int    `json:"number"`
	SHA256 string `json:"sha256,omitempty"`
	CRC32C string `json:"crc32c,omitempty"`
}

// PartURL is a presigned request that stores one part in the blob store.
type PartURL struct {
	Number  int               `json:"number"`
	Size    int64             `json:"size"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
}

// PresignParts asks for presigned requests that store parts of an open
// session straight in the blob store (409 when the store takes none).
func (c *Client) PresignParts(ctx context.Context, model string, version int, id string, parts []PartChecksum) ([]PartURL, error) {
	var out struct {
		Parts     []PartURL `json:"parts"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	err := c.doJSON(ctx, request{method: http.MethodPost, path: versionPath(model, version) + "/uploads/" + seg(id) + "/part-urls",
		json: map[string]any{"parts": parts}, idempotent: true}, &out)
	if err == nil && len(out.Parts) != len(parts) {
		err = fmt.Errorf("asked for %d part URLs, got %d", len(parts), len(out.Parts))
	}
	return out.Parts, err
}

// StoreError is an error answer of the blob store to a presigned request
// (S3's <Error><Code>...</Code><Message>...</Message></Error>).
type StoreError struct {
	Status  int
	Code    string
	Message string
}

func (e *StoreError) Error() string {
	return fmt.Sprintf("blob store: %d %s: %s", e.Status, e.Code, e.Message)
}

// readStoreError drains and closes an error answer of the blob store.
func readStoreError(resp *http.Response) *StoreError {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<10))
	e := &StoreError{Status: resp.StatusCode}
	var body struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	if xml.Unmarshal(raw, &body) == nil && body.Code != "" {
		e.Code, e.Message = body.Code, body.Message
	} else {
		e.Code = http.StatusText(resp.StatusCode)
	}
	return e
}

// sendDirect sends one presigned request to the blob store with the
// client's HTTP client but none of its credentials, and returns the
// response of an ok status (the caller closes its body). A body, when
// given, is sent with exactly length bytes: an *os.File positioned at its
// start goes out with sendfile(2) and is closed by the transport.
func (c *Client) sendDirect(ctx context.Context, method, url string, header map[string]string, body io.ReadCloser, length int64, ok ...int) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, nil)
	if err != nil {
		if body != nil {
			body.Close()
		}
		return nil, fmt.Errorf("presigned request: %w", err)
	}
	if body != nil {
		req.Body, req.ContentLength = body, length
		if length == 0 {
			body.Close()
			req.Body = http.NoBody
		}
	}
	req.Header.Set("User-Agent", UserAgent)
	for k, v := range header {
		if http.CanonicalHeaderKey(k) == "Content-Length" {
			continue // the transport sends req.ContentLength
		}
		req.Header.Set(k, v)
	}
	resp, err := c.noRedirects().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The URL is a credential until it expires: name only its host.
		return nil, fmt.Errorf("%s to the blob store at %s: %w", method, hostOf(url), unwrapURLError(err))
	}
	if statusIn(resp.StatusCode, ok) {
		return resp, nil
	}
	return nil, readStoreError(resp)
}

// noRedirects is the client's HTTP client, not following redirects: a
// redirect of the registry's is read, not followed (net/http would send
// the bearer token along to a blob store on the same host name), and the
// blob store's presigned answers have none to follow.
func (c *Client) noRedirects() *http.Client {
	hc := *c.HTTP
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

func hostOf(rawURL string) string {
	rest, ok := strings.CutPrefix(rawURL, "https://")
	if !ok {
		rest = strings.TrimPrefix(rawURL, "http://")
	}
	host, _, _ := strings.Cut(rest, "/")
	return host
}

// unwrapURLError drops *url.Error's wrapping, which quotes the whole URL
// (a presigned URL's signature included).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// unreachable reports whether err says the blob store cannot be reached
// from here at all (no connection could be made): the server's way is then
// the only one.
func unreachable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns)
}

// retryableStore reports whether a presigned request that failed with err
// is worth sending again as it is: the store was busy or failed (5xx), or
// the connection broke.
func retryableStore(err error) bool {
	var se *StoreError
	if errors.As(err, &se) {
		return se.Status >= 500 || se.Status == http.StatusTooManyRequests
	}
	return err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// expiredOrDenied reports whether the store refused a presigned request's
// signature (it expired, or the clocks disagree): a fresh URL may do.
func expiredOrDenied(err error) bool {
	var se *StoreError
	return errors.As(err, &se) && se.Status == http.StatusForbidden
}
