package server_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/glebarez/sqlite" // the "sqlite" database/sql driver

	// testenv registers the "mysql" one.
	"github.com/modelkeep/modelkeep/internal/testenv"
)

// A client that closes its connection while its request is served (a load
// generator stopping, a proxy timing out) is no server error: the request
// is logged at info with status 499 (client closed request) and counted
// under 499, never under 5xx, and nothing is logged at error.

// TestClientGoneWaitingForDatabase: the client leaves while its request
// waits for a database lock (MySQL: SQLite's wait for a lock does not end
// with the request's context, but at its busy timeout, 10 s).
func TestClientGoneWaitingForDatabase(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		if strings.HasPrefix(e.database, "sqlite:") {
			t.Skip("SQLite waits for a lock until its busy timeout, whatever the context")
		}
		release := holdWriteLock(t, e)
		defer release()
		body := strings.NewReader(`{"name":"never-created"}`)
		goneMidRequest(t, e, "POST", "/api/v1/models", body, "application/json", func() bool {
			return strings.Contains(e.metrics(), "modelkeep_http_requests_admitted 1\n")
		}, nil)
		// The lock is held until the request is over, so that it cannot
		// go through before the server sees the client leave.
		e.expectGone("POST", "/api/v1/models")
		release()
		var m struct{ Models []struct{ Name string } }
		e.expect(e.do("GET", "/api/v1/models", nil), http.StatusOK, &m)
		if len(m.Models) != 0 {
			t.Errorf("models after the cancelled create: %+v", m.Models)
		}
	})
}

// TestClientGoneWaitingForTurn: the client leaves while its request waits
// in the admission line (admission.go) behind one that holds the only turn.
func TestClientGoneWaitingForTurn(t *testing.T) {
	forEachBackendFlags(t, []string{"--max-concurrent-requests", "1"}, func(t *testing.T, e *env) {
		release := holdWriteLock(t, e)
		defer release()
		first := make(chan int, 1)
		go func() {
			code, _ := e.status("POST", "/api/v1/models", []byte(`{"name":"first"}`))
			first <- code
		}()
		waitUntil(t, "the first request to hold the turn", func() bool {
			return strings.Contains(e.metrics(), "modelkeep_http_requests_admitted 1\n")
		})
		goneMidRequest(t, e, "GET", "/api/v1/models", nil, "", func() bool {
			return strings.Contains(e.metrics(), "modelkeep_http_requests_waiting 1\n")
		}, nil)
		e.expectGone("GET", "/api/v1/models")
		release()
		if code := <-first; code != http.StatusCreated {
			t.Errorf("the request that held the turn: %d, want 201", code)
		}
	})
}

// TestClientGoneUploadCutOff: the client leaves half way through a file's
// bytes.
func TestClientGoneUploadCutOff(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.mustCreateModel("cut")
		n := e.mustCreateVersion("cut")
		// Part of the announced body, then the client leaves.
		pr, pw := io.Pipe()
		go func() {
			_, _ = pw.Write(make([]byte, 64<<10))
		}()
		path := fmt.Sprintf("/api/v1/models/cut/versions/%d/files/model.bin", n)
		goneMidRequest(t, e, "PUT", path, &sizedBody{pr, 1 << 20}, "application/octet-stream", func() bool {
			return strings.Contains(e.metrics(), "modelkeep_http_requests_in_flight 2\n")
		}, func() {
			// The transport waits for its body writer, blocked on the
			// bytes that never come.
			pw.CloseWithError(errors.New("the client went away"))
		})
		e.expectGone("PUT", "/api/v1/models/:model/versions/:version/files/*")
	})
}

// sizedBody is a request body of announced length whose bytes come slowly.
type sizedBody struct {
	io.Reader
	size int64
}

// goneMidRequest sends a request and, once started says the server is
// serving it, cancels it (then calls after, if not nil): the client closes
// the connection.
func goneMidRequest(t *testing.T, e *env, method, path string, body io.Reader, ctype string, started func() bool, after func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, e.http.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if b, ok := body.(*sizedBody); ok {
		req.ContentLength = b.size
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Authorization", "Bearer "+e.token)
	done := make(chan *http.Response, 1)
	go func() {
		resp, _ := (&http.Client{Transport: &http.Transport{}}).Do(req)
		done <- resp
	}()
	waitUntil(t, "the server serves "+method+" "+path, started)
	cancel()
	if after != nil {
		after()
	}
	if resp := <-done; resp != nil {
		resp.Body.Close()
		t.Fatalf("%s %s answered %d before the client gave up", method, path, resp.StatusCode)
	}
}

// expectGone checks the log line and the counter of the request the
// client left, once the server has finished with it.
func (e *env) expectGone(method, route string) {
	e.t.Helper()
	line := regexp.MustCompile(`(?m)^.*msg=request .*method=` + method + ` path=\S+ route=` + regexp.QuoteMeta(route) + ` status=(\d+).*$`)
	waitUntil(e.t, "the request's log line", func() bool { return line.MatchString(e.logs.String()) })
	logged := line.FindString(e.logs.String())
	if !strings.Contains(logged, "level=INFO") || !strings.Contains(logged, "status=499") {
		e.t.Errorf("request log line %q: want level=INFO and status=499", logged)
	}
	if strings.Contains(e.logs.String(), "level=ERROR") {
		e.t.Errorf("a client that left was logged as an error:\n%s", e.logs.String())
	}
	metrics := e.metrics()
	counter := fmt.Sprintf(`modelkeep_http_requests_total{method=%q,route=%q,status=`, method, route)
	if !strings.Contains(metrics, counter+`"499"} 1`) {
		e.t.Errorf("metrics lack %s\"499\"} 1:\n%s", counter, grepLines(metrics, counter))
	}
	if regexp.MustCompile(`modelkeep_http_requests_total\{[^}]*status="(5\d\d|error)"`).MatchString(metrics) {
		e.t.Errorf("a client that left is counted as a server error:\n%s", grepLines(metrics, "modelkeep_http_requests_total"))
	}
}

// metrics scrapes /metrics.
func (e *env) metrics() string {
	e.t.Helper()
	resp, err := http.Get(e.http.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return string(body)
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// waitUntil polls cond for up to 15 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// holdWriteLock keeps the env's database from taking writes until release
// is called (or the test ends): a write transaction on SQLite, a table lock
// on the models table on MySQL (which holds reads of it too).
func holdWriteLock(t *testing.T, e *env) (release func()) {
	t.Helper()
	var db *sql.DB
	var err error
	lock, unlock := "BEGIN IMMEDIATE", "ROLLBACK"
	if path, ok := strings.CutPrefix(e.database, "sqlite:"); ok {
		db, err = sql.Open("sqlite", path)
	} else {
		cfg := testenv.MySQLConfig(t)
		cfg.DBName = strings.TrimPrefix(e.database[strings.LastIndex(e.database, "/"):], "/")
		db, err = sql.Open("mysql", cfg.FormatDSN())
		lock, unlock = "LOCK TABLES models WRITE", "UNLOCK TABLES"
	}
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), lock); err != nil {
		t.Fatalf("%s: %v", lock, err)
	}
	released := false
	release = func() {
		if released {
			return
		}
		released = true
		if _, err := conn.ExecContext(context.Background(), unlock); err != nil {
			t.Errorf("%s: %v", unlock, err)
		}
		conn.Close()
		db.Close()
	}
	t.Cleanup(release)
	return release
}
