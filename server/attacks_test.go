package server_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/auth"
)

// TestAuthAttacks sends forged, broken and stale tokens over HTTP: each is a
// 401 with the error body, and none of them (nor any valid token) ever
// appears in the server's logs.
func TestAuthAttacks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *env) {
		e.mustCreateModel("m")

		serverKey, err := auth.LoadKey(auth.KeyConfig{DataDir: e.dataDir})
		if err != nil {
			t.Fatal(err)
		}
		sign := func(key *auth.Key, tok modelkeep.Token) string {
			s, err := auth.NewIssuer(key, auth.DefaultIssuer, auth.DefaultAudience).SignToken(context.Background(), tok)
			if err != nil {
				t.Fatal(err)
			}
			return s
		}
		now := time.Now()
		_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
		otherKey, err := auth.NewEd25519Key(otherPriv)
		if err != nil {
			t.Fatal(err)
		}
		valid := e.issue("victim", []string{"admin"})
		parts := strings.Split(valid, ".")
		b64 := base64.RawURLEncoding.EncodeToString
		revokedID, revoked := e.issueWithID("revoked", []string{"admin"})
		e.expect(e.do("DELETE", "/api/v1/tokens/"+revokedID, nil), http.StatusNoContent, nil)

		cases := []struct{ name, header string }{
			{"no header", ""},
			{"bare Bearer", "Bearer"},
			{"Bearer and space", "Bearer "},
			{"Basic", "Basic " + b64([]byte("admin:admin"))},
			{"not base64", "Bearer !!!.@@@.###"},
			{"two parts", "Bearer " + parts[0] + "." + parts[1]},
			{"alg none", "Bearer " + b64([]byte(`{"alg":"none","typ":"JWT"}`)) + "." + parts[1] + "."},
			{"tampered payload", "Bearer " + parts[0] + "." + b64([]byte(`{"sub":"root","roles":["admin"],"iss":"modelkeep","aud":"modelkeep","exp":9999999999,"jti":"x"}`)) + "." + parts[2]},
			{"wrong signing key", "Bearer " + sign(otherKey, modelkeep.Token{ID: "0123456789abcdef0123456789abcdef", Subject: "victim", Roles: []string{"admin"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})},
			{"expired", "Bearer " + sign(serverKey, modelkeep.Token{ID: "0123456789abcdef0123456789abcdef", Subject: "victim", Roles: []string{"admin"}, CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)})},
			{"not yet valid", "Bearer " + sign(serverKey, modelkeep.Token{ID: "0123456789abcdef0123456789abcdef", Subject: "victim", Roles: []string{"admin"}, CreatedAt: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour)})},
			{"unknown jti", "Bearer " + sign(serverKey, modelkeep.Token{ID: "0123456789abcdef0123456789abcdef", Subject: "victim", Roles: []string{"admin"}, CreatedAt: now, ExpiresAt: now.Add(time.Hour)})},
			{"revoked", "Bearer " + revoked},
			{"over 8 KiB", "Bearer " + parts[0] + "." + b64([]byte(strings.Repeat("a", 9000))) + "." + parts[2]},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				req, _ := http.NewRequest("GET", e.http.URL+"/api/v1/models/m", nil)
				if tc.header != "" {
					req.Header.Set("Authorization", tc.header)
				}
				resp, err := e.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				ee := e.on(t)
				ee.expectError(resp, http.StatusUnauthorized, "unauthenticated", "")
			})
		}
		// The valid token still works.
		e.as(valid).expect(e.as(valid).do("GET", "/api/v1/models/m", nil), http.StatusOK, nil)

		logs := e.logs.String()
		secrets := []string{valid, revoked, e.token, parts[2]}
		for _, tc := range cases {
			if tok := strings.TrimPrefix(tc.header, "Bearer "); len(tok) > 20 {
				secrets = append(secrets, tok)
			}
		}
		if u, err := url.Parse(e.database); err == nil && u.User != nil {
			if pw, ok := u.User.Password(); ok && pw != "" {
				secrets = append(secrets, pw)
			}
		}
		for _, s := range secrets {
			if strings.Contains(logs, s) {
				t.Errorf("the server logged a secret (%.12s…)", s)
			}
		}
		if !strings.Contains(logs, "status=401") {
			t.Errorf("the capture saw no request log lines:\n%.2000s", logs)
		}
	})
}
