package api

import (
	"crypto/tls"
	"errors"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/websession"
)

func TestOriginOf(t *testing.T) {
	for in, want := range map[string]string{
		"https://Models.Example.com/":    "https://models.example.com",
		"https://models.example.com:443": "https://models.example.com",
		"http://models.example.com:80":   "http://models.example.com",
		"http://127.0.0.1:8080":          "http://127.0.0.1:8080",
		"https://[::1]:8443/":            "https://[::1]:8443",
	} {
		u, err := url.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := OriginOf(u); got != want {
			t.Errorf("OriginOf(%q) = %q, want %q", in, got, want)
		}
	}
}

// The rule for a change made with the session cookie: this origin (when
// the browser names one), not cross-site, and the session's CSRF token.
func TestCheckCSRF(t *testing.T) {
	sess := websession.Session{CSRFToken: "the-token"}
	tests := []struct {
		name      string
		headers   map[string]string
		ownOrigin string // "" for the request's host
		tls       bool
		ok        bool
	}{
		{"token, no origin", map[string]string{CSRFHeader: "the-token"}, "", false, true},
		{"token, own origin from the host", map[string]string{CSRFHeader: "the-token", "Origin": "http://mk.example:8080"}, "", false, true},
		{"token, own origin over TLS", map[string]string{CSRFHeader: "the-token", "Origin": "https://mk.example:8080"}, "", true, true},
		{"token, own origin from the public url", map[string]string{CSRFHeader: "the-token", "Origin": "https://models.example"}, "https://models.example", false, true},
		{"token, same-origin fetch", map[string]string{CSRFHeader: "the-token", "Sec-Fetch-Site": "same-origin"}, "", false, true},
		{"no token", map[string]string{}, "", false, false},
		{"wrong token", map[string]string{CSRFHeader: "the-token-"}, "", false, false},
		{"token of another length", map[string]string{CSRFHeader: "x"}, "", false, false},
		{"foreign origin", map[string]string{CSRFHeader: "the-token", "Origin": "https://evil.example"}, "", false, false},
		{"the host's origin under a public url", map[string]string{CSRFHeader: "the-token", "Origin": "http://mk.example:8080"}, "https://models.example", false, false},
		{"http origin of an https host", map[string]string{CSRFHeader: "the-token", "Origin": "http://mk.example:8080"}, "", true, false},
		{"null origin", map[string]string{CSRFHeader: "the-token", "Origin": "null"}, "", false, false},
		{"cross-site", map[string]string{CSRFHeader: "the-token", "Sec-Fetch-Site": "cross-site"}, "", false, false},
		{"same-site", map[string]string{CSRFHeader: "the-token", "Sec-Fetch-Site": "same-site"}, "", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest("POST", "http://mk.example:8080/api/v1/models", nil)
			if tt.tls {
				req.TLS = &tls.ConnectionState{}
			}
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			err := checkCSRF(req, sess, tt.ownOrigin)
			switch {
			case tt.ok && err != nil:
				t.Fatalf("refused: %v", err)
			case !tt.ok && !errors.Is(err, modelkeep.ErrCSRF):
				t.Fatalf("checkCSRF: %v, want csrf_failed", err)
			}
		})
	}
}
