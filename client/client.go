// Package client is a Go client of Modelkeep's HTTP API (openapi.yaml): the
// JSON reads and actions the command line needs, and the two transfers that
// matter to training jobs and deploy pipelines, Push (resumable multipart
// uploads, parallel parts, resume, skip what is there) and Pull (parallel
// ranged downloads, every SHA-256 and the manifest digest verified, atomic
// placement). It speaks only HTTP: it imports no server code, and the wire
// shapes are declared here.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// UserAgent is sent with every request.
const UserAgent = "modelkeep-cli/1"

// Client talks to one Modelkeep server with one bearer token. It is safe
// for concurrent use.
type Client struct {
	BaseURL string       // http://host:port, no trailing slash
	Token   string       // bearer token; empty sends none
	HTTP    *http.Client // http.DefaultClient when nil
	// Retries is how often a request the server refused for load (429,
	// 503), or whose connection broke when it is safe to repeat, is sent
	// again; Backoff is the first wait, doubled each time up to MaxBackoff.
	Retries    int
	Backoff    time.Duration
	MaxBackoff time.Duration
}

// New returns a client with the default retry policy (5 retries from
// 250 ms up to 15 s).
func New(baseURL, token string, hc *http.Client) *Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	return &Client{BaseURL: strings.TrimRight(baseURL, "/"), Token: token, HTTP: hc, Retries: 5,
		Backoff: 250 * time.Millisecond, MaxBackoff: 15 * time.Second}
}

// Error is an error answer of the server ({"error":{"code","message"}}).
type Error struct {
	Status     int
	Code       string
	Message    string
	Method     string
	Path       string
	RetryAfter time.Duration
	// FailedGates and MissingRequirements explain a 412 of an approval.
	FailedGates         []GateResult
	MissingRequirements []string
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, e.Code, e.Message)
	for i, g := range e.FailedGates {
		if i == 0 {
			s += "; failed gates:"
		}
		s += fmt.Sprintf(" %s (%s)", g.Gate, g.Detail)
	}
	if len(e.MissingRequirements) > 0 {
		s += "; missing requirements: " + strings.Join(e.MissingRequirements, ", ")
	}
	return s
}

// StatusOf is the HTTP status of an *Error in err's chain, or 0.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// VerificationError says that bytes or a manifest did not match what the
// registry recorded. Path names the file ("" for the manifest).
type VerificationError struct {
	Path     string
	Expected string
	Actual   string
	What     string // "sha256", "size", "manifest digest"
}

func (e *VerificationError) Error() string {
	if e.Path == "" {
		return fmt.Sprintf("%s mismatch: got %s, want %s", e.What, e.Actual, e.Expected)
	}
	return fmt.Sprintf("%s: %s mismatch: got %s, want %s", e.Path, e.What, e.Actual, e.Expected)
}

// request is one HTTP exchange, made again for every attempt.
type request struct {
	method string
	path   string // under BaseURL, already escaped; or absolute with abs
	query  url.Values
	json   any                              // marshalled as the body
	body   func() (io.Reader, int64, error) // a fresh raw body per attempt
	header http.Header
	ok     []int
	// idempotent says a request whose connection broke may be repeated
	// (GET, HEAD, PUT, DELETE unless told otherwise).
	idempotent bool
	// retryStatus are further statuses worth another attempt (a part
	// refused with 422 is sent again: its bytes were corrupted on the way).
	retryStatus []int
	// noRedirect answers a redirect (in ok) instead of following it.
	noRedirect bool
}

// send runs the request under the retry policy and returns the response
// of an ok status; the caller closes its body.
func (c *Client) send(ctx context.Context, r request) (*http.Response, error) {
	u := c.BaseURL + r.path
	if len(r.query) > 0 {
		u += "?" + r.query.Encode()
	}
	var payload []byte
	if r.json != nil {
		b, err := json.Marshal(r.json)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s: %w", r.method, r.path, err)
		}
		payload = b
	}
	for attempt := 0; ; attempt++ {
		var body io.Reader
		length := int64(-1)
		switch {
		case payload != nil:
			body, length = bytes.NewReader(payload), int64(len(payload))
		case r.body != nil:
			b, n, err := r.body()
			if err != nil {
				return nil, err
			}
			body, length = b, n
		}
		req, err := http.NewRequestWithContext(ctx, r.method, u, body)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
		}
		if body != nil {
			req.ContentLength = length
			if length == 0 {
				req.Body = http.NoBody
			}
		}
		req.Header.Set("User-Agent", UserAgent)
		req.Header.Set("Accept", "application/json")
		if payload != nil {
			req.Header.Set("Content-Type", "application/json")
		} else if r.body != nil {
			req.Header.Set("Content-Type", "application/octet-stream")
		}
		for k, vs := range r.header {
			req.Header[k] = vs
		}
		if c.Token != "" {
			req.Header.Set("Authorization", "Bearer "+c.Token)
		}
		hc := c.HTTP
		if r.noRedirect {
			hc = c.noRedirects()
		}
		resp, err := hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !r.idempotent || attempt >= c.Retries {
				return nil, fmt.Errorf("%s %s: %w", r.method, r.path, err)
			}
			if err := c.sleep(ctx, attempt, 0); err != nil {
				return nil, err
			}
			continue
		}
		if statusIn(resp.StatusCode, r.ok) {
			return resp, nil
		}
		apiErr := readError(resp, r.method, r.path)
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable ||
			(r.idempotent && (resp.StatusCode == http.StatusBadGateway || resp.StatusCode == http.StatusGatewayTimeout)) ||
			statusIn(resp.StatusCode, r.retryStatus)
		if !retry || attempt >= c.Retries {
			return nil, apiErr
		}
		if err := c.sleep(ctx, attempt, apiErr.RetryAfter); err != nil {
			return nil, err
		}
	}
}

func statusIn(s int, list []int) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// sleep waits before attempt+1: the server's Retry-After, else exponential
// backoff with jitter (so that parallel workers do not retry in step).
func (c *Client) sleep(ctx context.Context, attempt int, retryAfter time.Duration) error {
	d := retryAfter
	if d <= 0 {
		d = c.Backoff << min(attempt, 16)
		if c.MaxBackoff > 0 && d > c.MaxBackoff {
			d = c.MaxBackoff
		}
		d = d/2 + rand.N(d/2+1)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// readError drains and closes an error answer.
func readError(resp *http.Response, method, path string) *Error {
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &Error{Status: resp.StatusCode, Method: method, Path: path}
	var body struct {
		Error struct {
			Code                string       `json:"code"`
			Message             string       `json:"message"`
			FailedGates         []GateResult `json:"failed_gates"`
			MissingRequirements []string     `json:"missing_requirements"`
		} `json:"error"`
	}
	if json.Unmarshal(raw, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
		e.FailedGates, e.MissingRequirements = body.Error.FailedGates, body.Error.MissingRequirements
	} else {
		e.Code = strings.ToLower(strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "_"))
		e.Message = strings.TrimSpace(string(raw))
		if len(e.Message) > 300 {
			e.Message = e.Message[:300]
		}
	}
	if s := resp.Header.Get("Retry-After"); s != "" {
		if n, err := strconv.Atoi(s); err == nil && n >= 0 {
			e.RetryAfter = min(time.Duration(n)*time.Second, 5*time.Minute)
		}
	}
	return e
}

// doJSON sends a JSON request and decodes the JSON answer into out (if
// not nil).
func (c *Client) doJSON(ctx context.Context, r request, out any) error {
	if r.ok == nil {
		r.ok = []int{http.StatusOK}
	}
	if r.method == http.MethodGet || r.method == http.MethodPut || r.method == http.MethodDelete {
		r.idempotent = true
	}
	resp, err := c.send(ctx, r)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", r.method, r.path, err)
	}
	return nil
}

// seg escapes one URL path segment.
func seg(s string) string { return url.PathEscape(s) }

// filePath escapes a file path for a URL: every segment, "/" kept.
func filePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

func versionPath(model string, version int) string {
	return fmt.Sprintf("/api/v1/models/%s/versions/%d", seg(model), version)
}
