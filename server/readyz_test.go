package server_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/modelkeep/modelkeep/internal/testenv"
)

// readiness is the body of /readyz.
type readiness struct {
	Status string
	Checks map[string]string
}

// readyz asks /readyz, expecting status, and returns its body, raw and
// decoded.
func (e *env) readyz(status int) (string, readiness) {
	e.t.Helper()
	resp := e.do("GET", "/readyz", nil)
	raw, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		e.t.Fatal(err)
	}
	var r readiness
	resp.Body = io.NopCloser(strings.NewReader(string(raw)))
	e.expect(resp, status, &r)
	return string(raw), r
}

// TestReadyzSaysWhy: /readyz names what is wrong with a backing service in
// a few words, without a secret: a missing bucket, refused S3 credentials,
// a stopped database.
func TestReadyzSaysWhy(t *testing.T) {
	srv := testenv.S3(t)
	s3URL := func(bucket string) string {
		return "s3://" + bucket + "?endpoint=" + url.QueryEscape(srv.Endpoint) + "&region=" + testenv.S3Region + "&path_style=true"
	}
	credentials := func(t *testing.T, secret string) {
		t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
		t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
		t.Setenv("AWS_REGION", testenv.S3Region)
	}
	const wrongSecret = "wrong-secret-0123456789abcdefghij"
	tests := []struct {
		name  string
		start func(t *testing.T) (*env, func())
		check string
		want  string
	}{
		{"missing bucket", func(t *testing.T) (*env, func()) {
			credentials(t, srv.SecretKey)
			return startEnv(t, "sqlite:"+t.TempDir()+"/mk.db", s3URL("modelkeep-missing")), func() {}
		}, "blob_store", "bucket modelkeep-missing not found"},
		{"credentials refused", func(t *testing.T) (*env, func()) {
			bucket := srv.NewBucket(t)
			credentials(t, wrongSecret)
			return startEnv(t, "sqlite:"+t.TempDir()+"/mk.db", s3URL(bucket)), func() {}
		}, "blob_store", "credentials refused for bucket"},
		{"database stopped", func(t *testing.T) (*env, func()) {
			dbURL, err := url.Parse(testenv.MySQLDatabase(t))
			if err != nil {
				t.Fatal(err)
			}
			proxy := testenv.StartProxy(t, dbURL.Host)
			dbURL.Host = proxy.Addr()
			return startEnv(t, dbURL.String(), "file:"+t.TempDir()), proxy.Stop
		}, "database", "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, breakIt := tt.start(t)
			breakIt()
			raw, r := e.readyz(http.StatusServiceUnavailable)
			if r.Status != "unavailable" || !strings.HasPrefix(r.Checks[tt.check], tt.want) {
				t.Errorf("readyz = %s, want %s %q", raw, tt.check, tt.want)
			}
			for other := range r.Checks {
				if other != tt.check && r.Checks[other] != "ok" {
					t.Errorf("readyz = %s, want only %s down", raw, tt.check)
				}
			}
			dbPassword := ""
			if u, err := url.Parse(e.database); err == nil {
				dbPassword, _ = u.User.Password()
			}
			for _, secret := range []string{srv.SecretKey, srv.AccessKey, wrongSecret, dbPassword, e.database} {
				if secret != "" && strings.Contains(raw, secret) {
					t.Errorf("readyz = %s shows a secret", raw)
				}
			}
		})
	}
}
