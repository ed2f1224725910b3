package cli_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/cli"
	"github.com/modelkeep/modelkeep/internal/testserver"
	"github.com/modelkeep/modelkeep/server"
)

// testServer is a Modelkeep served in process on the stores of a backend,
// with tokens of each role.
type testServer struct {
	srv    *server.Server
	url    string
	tokens map[string]string
	blobs  string
}

// startServer serves a fresh Modelkeep on the stores with the smallest
// part size of resumable uploads (5 MiB), so that files have many parts.
func startServer(t *testing.T, database, blobs string) *testServer {
	t.Helper()
	srv, url := testserver.Start(t, database, blobs, "--upload-part-size", "5MiB")
	ts := &testServer{srv: srv, url: url, tokens: map[string]string{}, blobs: blobs}
	for _, role := range []string{modelkeep.RoleAdmin, modelkeep.RolePublisher, modelkeep.RoleApprover, modelkeep.RoleDeployer, modelkeep.RoleAuditor} {
		_, tok, err := srv.IssueToken(context.Background(), modelkeep.TokenInput{Subject: "cli-" + role, Roles: []string{role}})
		if err != nil {
			t.Fatalf("issue %s token: %v", role, err)
		}
		ts.tokens[role] = tok
	}
	return ts
}

// user is one person at a shell: a config and cache directory of their
// own, environment variables, and an HTTP client that counts bytes.
type user struct {
	t      *testing.T
	env    map[string]string
	meter  *meter
	client *http.Client
	// terminal makes the client draw progress bars, as on a terminal.
	terminal bool
}

func newUser(t *testing.T, ts *testServer, role string) *user {
	home := t.TempDir()
	m := &meter{}
	return &user{
		t: t,
		env: map[string]string{
			"HOME":            home,
			"XDG_CONFIG_HOME": filepath.Join(home, "config"),
			"XDG_CACHE_HOME":  filepath.Join(home, "cache"),
			"MODELKEEP_URL":   ts.url,
			"MODELKEEP_TOKEN": ts.tokens[role],
		},
		meter:  m,
		client: &http.Client{Transport: m},
	}
}

type result struct {
	code           int
	stdout, stderr string
}

// run runs one command line of the client in process.
func (u *user) run(ctx context.Context, stdin string, args ...string) result {
	u.t.Helper()
	var out, errb bytes.Buffer
	term := u.terminal
	code := cli.Main(ctx, args, cli.Env{
		Getenv: func(k string) string { return u.env[k] },
		Stdin:  strings.NewReader(stdin),
		Stdout: &out, Stderr: &errb,
		HTTP:     u.client,
		Terminal: &term,
	})
	return result{code: code, stdout: out.String(), stderr: errb.String()}
}

// must runs a command that must succeed and returns its standard output.
func (u *user) must(args ...string) string {
	u.t.Helper()
	r := u.run(context.Background(), "", args...)
	if r.code != 0 {
		u.t.Fatalf("modelkeep %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	}
	return r.stdout
}

// meter is an http.RoundTripper that counts the bytes of request bodies
// read by the transport (what left for the server) and of response
// bodies read by the client, and can step in: onSent and onReceived see
// the running totals, corrupt may change a request's body.
type meter struct {
	sent, received atomic.Int64
	mu             sync.Mutex
	onSent         func(total int64)
	onReceived     func(total int64)
	corrupt        func(*http.Request) bool
	// intercept, when it answers (a response or an error), stands in for
	// the network: a blob store that refuses, or cannot be reached.
	intercept func(*http.Request) (*http.Response, error)
	statuses  []int
	conflicts []string
	requests  []seenRequest
}

// seenRequest is what the meter saw of a request.
type seenRequest struct {
	method, host, path string
	query              url.Values
	header             http.Header
	status             int
	// sent and received are the request's and the answer's declared
	// lengths (-1 when unknown).
	sent, received int64
}

// seen returns the requests seen so far.
func (m *meter) seen() []seenRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]seenRequest(nil), m.requests...)
}

func (m *meter) RoundTrip(req *http.Request) (*http.Response, error) {
	m.mu.Lock()
	corrupt := m.corrupt != nil && m.corrupt(req)
	intercept := m.intercept
	m.mu.Unlock()
	seen := seenRequest{method: req.Method, host: req.URL.Host, path: req.URL.Path, query: req.URL.Query(),
		header: req.Header.Clone(), sent: req.ContentLength, received: -1}
	if intercept != nil {
		if resp, err := intercept(req); resp != nil || err != nil {
			if resp != nil {
				seen.status = resp.StatusCode
			}
			m.mu.Lock()
			m.requests = append(m.requests, seen)
			m.mu.Unlock()
			if req.Body != nil {
				req.Body.Close()
			}
			return resp, err
		}
	}
	if req.Body != nil && req.Body != http.NoBody {
		req = req.Clone(req.Context())
		req.Body = &countReader{r: req.Body, n: &m.sent, hook: m.hookSent, flip: corrupt}
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusConflict {
		// Kept for the test's log: a 409 to a part is retried by the
		// client and would go unseen.
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		m.mu.Lock()
		m.conflicts = append(m.conflicts, req.Method+" "+req.URL.Path+": "+string(b))
		m.mu.Unlock()
	}
	seen.status, seen.received = resp.StatusCode, resp.ContentLength
	m.mu.Lock()
	m.statuses = append(m.statuses, resp.StatusCode)
	m.requests = append(m.requests, seen)
	m.mu.Unlock()
	resp.Body = &countReader{r: resp.Body, n: &m.received, hook: m.hookReceived}
	return resp, nil
}

func (m *meter) hookSent(total int64) {
	m.mu.Lock()
	f := m.onSent
	m.mu.Unlock()
	if f != nil {
		f(total)
	}
}

func (m *meter) hookReceived(total int64) {
	m.mu.Lock()
	f := m.onReceived
	m.mu.Unlock()
	if f != nil {
		f(total)
	}
}

func (m *meter) set(f func(*meter)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f(m)
}

func (m *meter) sawStatus(code int) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, s := range m.statuses {
		if s == code {
			n++
		}
	}
	return n
}

type countReader struct {
	r    io.ReadCloser
	n    *atomic.Int64
	hook func(int64)
	flip bool // change the first byte read (a corrupted part)
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		if c.flip {
			p[0] ^= 0xff
			c.flip = false
		}
		total := c.n.Add(int64(n))
		if c.hook != nil {
			c.hook(total)
		}
	}
	return n, err
}

func (c *countReader) Close() error { return c.r.Close() }

// writeTree writes files of the given sizes (deterministic pseudo-random
// bytes from seed) under a new directory and returns it.
func writeTree(t *testing.T, seed uint64, files map[string]int64) string {
	t.Helper()
	dir := t.TempDir()
	for name, size := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		var s [32]byte
		s[0], s[1] = byte(seed), byte(len(name))
		copy(s[2:], name)
		r := rand.NewChaCha8(s)
		if _, err := io.CopyN(f, r, size); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// treeSums maps each file under dir to its SHA-256.
func treeSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
