package browsertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/internal/testserver"
	"github.com/modelkeep/modelkeep/server"
)

// env is one Modelkeep serving the UI and the API over real HTTP, on one
// backend, with its own stores.
type env struct {
	t       *testing.T
	backend string // testenv.Backend's name
	srv     *server.Server
	url     string // http://127.0.0.1:port
	admin   *client
}

// forEachBackend runs fn as one subtest per backend of testenv.Backends,
// each on a fresh Modelkeep with fresh stores (a skip names the variables
// a backend needs). The two run at once, in tabs of their own browser
// contexts (cookies and storage apart): most of a page's time is waiting
// for the browser and the server, not the CPU.
func forEachBackend(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Helper()
	needBrowser(t)
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			database, blobs := b.New(t)
			fn(t, startEnv(t, b.Name, database, blobs))
		})
	}
}

// startEnv serves a fresh Modelkeep on the given stores.
func startEnv(t *testing.T, backend, database, blobs string) *env {
	t.Helper()
	srv, url := testserver.Start(t, database, blobs)
	e := &env{t: t, backend: backend, srv: srv, url: url}
	e.admin = e.issue("admin", modelkeep.RoleAdmin)
	return e
}

// client calls the API with one bearer token.
type client struct {
	e       *env
	subject string
	token   string
}

// issue makes a token for subject with roles.
func (e *env) issue(subject string, roles ...string) *client {
	e.t.Helper()
	_, token, err := e.srv.IssueToken(context.Background(), modelkeep.TokenInput{Subject: subject, Roles: roles})
	if err != nil {
		e.t.Fatalf("issue a token for %s: %v", subject, err)
	}
	return &client{e: e, subject: subject, token: token}
}

// call sends one API request (body: nil, []byte, or a value sent as JSON)
// and checks its status; out, when not nil, receives the JSON answer.
func (c *client) call(method, path string, body any, status int, out any, headers ...string) {
	c.e.t.Helper()
	var r io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		r = bytes.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			c.e.t.Fatalf("encode %s %s: %v", method, path, err)
		}
		r, ctype = bytes.NewReader(enc), "application/json"
	}
	req, err := http.NewRequest(method, c.e.url+path, r)
	if err != nil {
		c.e.t.Fatalf("new request: %v", err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		c.e.t.Fatalf("%s %s: read the answer: %v", method, path, err)
	}
	if resp.StatusCode != status {
		c.e.t.Fatalf("%s %s as %s: status %d, want %d; body: %s", method, path, c.subject, resp.StatusCode, status, answer)
	}
	if out != nil {
		if err := json.Unmarshal(answer, out); err != nil {
			c.e.t.Fatalf("%s %s: decode %s: %v", method, path, answer, err)
		}
	}
}

// versionPath is the API path of a model's version.
func versionPath(model string, version int) string {
	return fmt.Sprintf("/api/v1/models/%s/versions/%d", model, version)
}
