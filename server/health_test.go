package server

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The health probe asks /readyz, or /healthz with --live, and exits 0 only
// on a 200.
func TestHealthCommandAnswers(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz":
			w.WriteHeader(http.StatusOK)
		case "/readyz":
			w.WriteHeader(http.StatusServiceUnavailable)
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	addr := strings.TrimPrefix(srv.URL, "http://")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		output string
	}{
		{"ready: not yet", []string{"--addr", addr}, 1, "/readyz 503"},
		{"live", []string{"--addr", addr, "--live"}, 0, "/healthz 200"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut strings.Builder
			code := healthCommand(t.Context(), tc.args, func(string) string { return "" }, &out, &errOut)
			if code != tc.code || !strings.HasPrefix(out.String(), tc.output) {
				t.Errorf("exit %d, output %q (%s); want %d, %q", code, out.String(), errOut.String(), tc.code, tc.output)
			}
		})
	}
}
