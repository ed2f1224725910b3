package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/internal/testenv"
)

// TestBackendOutage: when the database or the blob store goes away, calls
// answer 503 and /readyz names which one is down and why; when it comes
// back, the server recovers by itself.
func TestBackendOutage(t *testing.T) {
	dbURL, err := url.Parse(testenv.MySQLDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	_, s3Endpoint := testenv.S3Client(t)
	s3URL, _ := url.Parse(s3Endpoint)
	dbProxy := testenv.StartProxy(t, dbURL.Host)
	s3Proxy := testenv.StartProxy(t, s3URL.Host)
	dbURL.Host = dbProxy.Addr()
	e := startEnv(t, dbURL.String(), testenv.S3BucketAt(t, "http://"+s3Proxy.Addr()))
	e.mustCreateModel("m")
	n := e.mustCreateVersion("m")
	file := fmt.Sprintf("/api/v1/models/m/versions/%d/files/", n)

	type readiness struct {
		Status string
		Checks map[string]string
	}
	var r readiness
	e.expect(e.do("GET", "/readyz", nil), http.StatusOK, &r)

	dbProxy.SetDown(true)
	e.expectError(e.do("GET", "/api/v1/models/m", nil), http.StatusServiceUnavailable, "unavailable", "")
	e.expectError(e.do("POST", "/api/v1/models", map[string]any{"name": "other"}), http.StatusServiceUnavailable, "unavailable", "")
	e.expect(e.do("GET", "/readyz", nil), http.StatusServiceUnavailable, &r)
	if r.Status != "unavailable" || r.Checks["database"] != "connection closed by the server" || r.Checks["blob_store"] != "ok" {
		t.Fatalf("readyz with the database down = %+v", r)
	}
	dbProxy.SetDown(false)
	eventually(t, e, "GET", "/api/v1/models/m", http.StatusOK)
	e.expect(e.do("GET", "/readyz", nil), http.StatusOK, &r)

	s3Proxy.SetDown(true)
	e.expectError(e.do("PUT", file+"a.bin", []byte("abc")), http.StatusServiceUnavailable, "unavailable", "")
	e.expect(e.do("GET", "/readyz", nil), http.StatusServiceUnavailable, &r)
	if r.Checks["database"] != "ok" || !strings.HasPrefix(r.Checks["blob_store"], "S3 endpoint "+s3Proxy.Addr()+": ") {
		t.Fatalf("readyz with the blob store down = %+v", r)
	}
	s3Proxy.SetDown(false)
	eventually(t, e, "PUT", file+"a.bin", http.StatusCreated)
	e.expect(e.do("GET", "/readyz", nil), http.StatusOK, &r)
	if keys := e.blobKeys(); len(keys) != 1 {
		t.Fatalf("blobs after the outage: %v", keys)
	}
	// The failed write during the outage left no row either.
	var l struct{ Files []struct{ Path string } }
	e.expect(e.do("GET", strings.TrimSuffix(file, "/"), nil), http.StatusOK, &l)
	if len(l.Files) != 1 {
		t.Fatalf("files after the outage: %+v", l)
	}
}

// eventually repeats a request until it gets status (a pool may hand out one
// connection that died with the outage before it notices), bounded in time.
func eventually(t *testing.T, e *env, method, path string, status int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		resp := e.do(method, path, []byte("abc"))
		resp.Body.Close()
		if resp.StatusCode == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s still %d after the backend came back", method, path, resp.StatusCode)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
