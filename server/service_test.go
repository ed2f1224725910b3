package server_test

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/modelkeep/modelkeep"
)

// TestServiceEndpoints covers the unauthenticated endpoints: liveness,
// readiness, metrics, the contract and the web UI.
func TestServiceEndpoints(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		var h struct{ Status string }
		e.expect(e.do("GET", "/healthz", nil), http.StatusOK, &h)
		if h.Status != "ok" {
			t.Fatalf("healthz = %+v", h)
		}
		var r struct {
			Status string
			Checks map[string]string
		}
		e.expect(e.do("GET", "/readyz", nil), http.StatusOK, &r)
		if r.Status != "ok" || r.Checks["database"] != "ok" || r.Checks["blob_store"] != "ok" {
			t.Fatalf("readyz = %+v", r)
		}

		e.mustCreateModel("counted")
		e.expectError(e.do("GET", "/api/v1/models/missing", nil), http.StatusNotFound, "not_found", "missing")
		resp := e.do("GET", "/metrics", nil)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK ||
			!strings.Contains(string(body), `modelkeep_http_requests_total{method="POST",route="/api/v1/models",status="201"} 1`) ||
			!strings.Contains(string(body), `modelkeep_http_requests_total{method="GET",route="/api/v1/models/:model",status="404"} 1`) {
			t.Fatalf("metrics: status %d, body lacks the request counter:\n%.2000s", resp.StatusCode, body)
		}
		// The line of API requests (admission.go): nothing waits, and
		// the scrape itself is not counted.
		if !strings.Contains(string(body), "modelkeep_http_requests_waiting 0\n") ||
			!strings.Contains(string(body), "modelkeep_http_requests_admitted 0\n") ||
			!strings.Contains(string(body), "modelkeep_http_requests_reclaiming 0\n") {
			t.Fatalf("metrics: body lacks the admission gauges:\n%.4000s", body)
		}

		resp = e.do("GET", "/openapi.yaml", nil)
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != string(modelkeep.OpenAPISpec) {
			t.Fatalf("openapi.yaml: status %d, %d bytes", resp.StatusCode, len(body))
		}

		resp, err := http.Get(e.http.URL + "/ui/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<title>Modelkeep</title>") {
			t.Fatalf("ui: status %d", resp.StatusCode)
		}
	})
}

// TestReadyzFileStoreGone: on the embedded defaults, a blob directory that
// disappears makes /readyz answer 503 naming the blob store and why, and
// its return makes it ready again.
func TestReadyzFileStoreGone(t *testing.T) {
	dir := t.TempDir()
	e := startEnv(t, "sqlite:"+dir+"/mk.db", "file:"+dir+"/blobs")
	var r struct {
		Status string
		Checks map[string]string
	}
	e.expect(e.do("GET", "/readyz", nil), http.StatusOK, &r)
	if err := os.Rename(dir+"/blobs", dir+"/moved"); err != nil {
		t.Fatal(err)
	}
	e.expect(e.do("GET", "/readyz", nil), http.StatusServiceUnavailable, &r)
	if r.Status != "unavailable" || r.Checks["blob_store"] != "directory "+dir+"/blobs not found" || r.Checks["database"] != "ok" {
		t.Fatalf("readyz = %+v", r)
	}
	if err := os.Rename(dir+"/moved", dir+"/blobs"); err != nil {
		t.Fatal(err)
	}
	e.expect(e.do("GET", "/readyz", nil), http.StatusOK, &r)
}
