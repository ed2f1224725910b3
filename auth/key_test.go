package auth

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

// A throwaway key made by `openssl genpkey -algorithm ed25519`, and its
// `openssl pkey -pubout`.
const (
	opensslKeyPEM = `-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VwBCIEIKPr9kBjrWgknKfMDKVY+i47H+apo2lYg2lmceUP/dwd
-----END PRIVATE KEY-----
`
	opensslPubPEM = `-----BEGIN PUBLIC KEY-----
MCowBQYDK2VwAyEAru+eE5l4b7/bky0bcee4rek/op7dpTLZhyRC2psox2U=
-----END PUBLIC KEY-----
`
	testSecret = "0123456789abcdef0123456789abcdef-test-secret"
)

func writeFile(t *testing.T, name, data string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestSignVerifyRoundTrip(t *testing.T) {
	tests := []struct {
		name    string
		cfg     func(t *testing.T) KeyConfig
		wantAlg string
	}{
		{"EdDSA generated", func(t *testing.T) KeyConfig { return KeyConfig{DataDir: t.TempDir()} }, AlgEdDSA},
		{"EdDSA key file", func(t *testing.T) KeyConfig {
			return KeyConfig{DataDir: t.TempDir(), KeyFile: writeFile(t, "key.pem", opensslKeyPEM)}
		}, AlgEdDSA},
		{"HS256 secret", func(t *testing.T) KeyConfig { return KeyConfig{DataDir: t.TempDir(), Secret: testSecret} }, AlgHS256},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := LoadKey(tt.cfg(t))
			if err != nil {
				t.Fatalf("LoadKey: %v", err)
			}
			if key.Algorithm() != tt.wantAlg {
				t.Fatalf("Algorithm = %q, want %q", key.Algorithm(), tt.wantAlg)
			}
			e := newEnv(t, key, nil)
			rec := e.record("tok-1", "ci-bot", modelkeep.RolePublisher, modelkeep.RoleDeployer)
			rec.Models = []string{"fraud-*"}
			e.store.put(rec)
			signed := e.sign(t, rec)

			actor, err := e.v.Authenticate(context.Background(), "Bearer "+signed)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			want := modelkeep.Actor{Subject: "ci-bot", Roles: rec.Roles, Models: rec.Models, TokenID: "tok-1"}
			if actor.Subject != want.Subject || actor.TokenID != want.TokenID ||
				!slices.Equal(actor.Roles, want.Roles) || !slices.Equal(actor.Models, want.Models) {
				t.Fatalf("actor = %+v, want %+v", actor, want)
			}
			// The scheme is case-insensitive (RFC 9110 §11.1).
			if _, err := e.v.Authenticate(context.Background(), "bearer "+signed); err != nil {
				t.Fatalf("lowercase scheme: %v", err)
			}
		})
	}
}

func TestSignTokenClaims(t *testing.T) {
	key, err := LoadKey(KeyConfig{KeyFile: writeFile(t, "key.pem", opensslKeyPEM)})
	if err != nil {
		t.Fatal(err)
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rec := modelkeep.Token{ID: "jti-1", Subject: "alice", Roles: []string{"admin"}, CreatedAt: created, ExpiresAt: created.Add(time.Hour)}

	tests := []struct {
		name       string
		models     []string
		wantModels bool
	}{
		{"with models", []string{"fraud-*"}, true},
		{"models omitted when empty", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := rec
			rec.Models = tt.models
			s, err := NewIssuer(key, "", "").SignToken(context.Background(), rec)
			if err != nil {
				t.Fatal(err)
			}
			parts := strings.Split(s, ".")
			var header, payload map[string]any
			decodeSegment(t, parts[0], &header)
			decodeSegment(t, parts[1], &payload)
			if header["alg"] != "EdDSA" || header["kid"] != key.ID() {
				t.Errorf("header = %v, want alg EdDSA and kid %s", header, key.ID())
			}
			want := map[string]any{
				"iss": "modelkeep", "aud": []any{"modelkeep"}, "sub": "alice", "jti": "jti-1",
				"iat": float64(created.Unix()), "nbf": float64(created.Unix()), "exp": float64(created.Add(time.Hour).Unix()),
				"roles": []any{"admin"},
			}
			if tt.wantModels {
				want["models"] = []any{"fraud-*"}
			}
			got, _ := json.Marshal(payload)
			wantJSON, _ := json.Marshal(want)
			if !bytes.Equal(got, wantJSON) {
				t.Errorf("claims = %s\nwant     %s", got, wantJSON)
			}
		})
	}
}

func TestSignTokenRejectsIncompleteRecords(t *testing.T) {
	key, err := NewHMACKey([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	good := modelkeep.Token{ID: "j", Subject: "s", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	tests := []struct {
		name string
		mod  func(*modelkeep.Token)
	}{
		{"no id", func(t *modelkeep.Token) { t.ID = "" }},
		{"no subject", func(t *modelkeep.Token) { t.Subject = "" }},
		{"no expiry", func(t *modelkeep.Token) { t.ExpiresAt = time.Time{} }},
		{"expires before creation", func(t *modelkeep.Token) { t.ExpiresAt = now.Add(-time.Hour) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := good
			tt.mod(&rec)
			if _, err := NewIssuer(key, "", "").SignToken(context.Background(), rec); !errors.Is(err, modelkeep.ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func decodeSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

func TestLoadKeyGeneratesAndPersists(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data") // does not exist yet
	k1, err := LoadKey(KeyConfig{DataDir: dir})
	if err != nil {
		t.Fatalf("first LoadKey: %v", err)
	}
	path := filepath.Join(dir, KeyFileName)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %v, want 0600", perm)
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := di.Mode().Perm(); perm != 0o700 {
		t.Errorf("data dir mode %v, want 0700", perm)
	}

	k2, err := LoadKey(KeyConfig{DataDir: dir})
	if err != nil {
		t.Fatalf("second LoadKey: %v", err)
	}
	p1, _ := k1.Ed25519()
	p2, _ := k2.Ed25519()
	if k1.ID() != k2.ID() || !p1.Equal(p2) {
		t.Fatal("reloaded key differs from the generated one")
	}
	// The file is what `openssl pkey` reads: PKCS#8 PEM.
	data, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(data), "-----BEGIN PRIVATE KEY-----") {
		t.Errorf("key file is not a PKCS#8 PEM: %.40q", data)
	}
}

// Processes starting at once on a fresh data dir must agree on one key.
func TestLoadKeyConcurrentFirstStart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	const n = 16
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, err := LoadKey(KeyConfig{DataDir: dir})
			errs[i] = err
			if err == nil {
				ids[i] = k.ID()
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("LoadKey %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("LoadKey %d got key %s, LoadKey 0 got %s", i, ids[i], ids[0])
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 || entries[0].Name() != KeyFileName {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("data dir holds %v, want only %s", names, KeyFileName)
	}
}

func TestLoadKeyErrors(t *testing.T) {
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ecKey)
	ecPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))

	tests := []struct {
		name    string
		cfg     func(t *testing.T) KeyConfig
		invalid bool // wraps ErrInvalid
	}{
		{"secret and key file", func(t *testing.T) KeyConfig {
			return KeyConfig{Secret: testSecret, KeyFile: writeFile(t, "k.pem", opensslKeyPEM)}
		}, true},
		{"short secret", func(t *testing.T) KeyConfig { return KeyConfig{Secret: "too-short"} }, true},
		{"no data dir", func(t *testing.T) KeyConfig { return KeyConfig{} }, true},
		{"key file missing", func(t *testing.T) KeyConfig {
			return KeyConfig{KeyFile: filepath.Join(t.TempDir(), "nope.pem")}
		}, false},
		{"key file not pem", func(t *testing.T) KeyConfig { return KeyConfig{KeyFile: writeFile(t, "k.pem", "hello")} }, true},
		{"key file public key", func(t *testing.T) KeyConfig { return KeyConfig{KeyFile: writeFile(t, "k.pem", opensslPubPEM)} }, true},
		{"key file ecdsa key", func(t *testing.T) KeyConfig { return KeyConfig{KeyFile: writeFile(t, "k.pem", ecPEM)} }, true},
		{"corrupt generated key", func(t *testing.T) KeyConfig {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, KeyFileName), []byte("garbage"), 0o600); err != nil {
				t.Fatal(err)
			}
			return KeyConfig{DataDir: dir}
		}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := LoadKey(tt.cfg(t))
			if err == nil {
				t.Fatalf("LoadKey = %v, want an error", k)
			}
			if tt.invalid && !errors.Is(err, modelkeep.ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestKeyIDAndPublicKey(t *testing.T) {
	ed, err := LoadKey(KeyConfig{KeyFile: writeFile(t, "k.pem", opensslKeyPEM)})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := ed.PublicKeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	if string(pub) != opensslPubPEM {
		t.Errorf("PublicKeyPEM = %s, want openssl's %s", pub, opensslPubPEM)
	}
	priv, ok := ed.Ed25519()
	if !ok {
		t.Fatal("Ed25519() not ok for an EdDSA key")
	}
	sum := sha256.Sum256(priv.Public().(ed25519.PublicKey))
	if ed.ID() != hex.EncodeToString(sum[:8]) {
		t.Errorf("ID = %s, want the SHA-256 prefix of the public key", ed.ID())
	}

	hs, err := NewHMACKey([]byte(testSecret))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := hs.PublicKeyPEM(); !errors.Is(err, modelkeep.ErrInvalid) {
		t.Errorf("HS256 PublicKeyPEM err = %v, want ErrInvalid", err)
	}
	if _, ok := hs.Ed25519(); ok {
		t.Error("Ed25519() ok for an HMAC key")
	}
	plain := sha256.Sum256([]byte(testSecret))
	if strings.Contains(hex.EncodeToString(plain[:]), hs.ID()) || strings.Contains(testSecret, hs.ID()) {
		t.Error("HS256 kid is a plain hash or part of the secret")
	}
	hs2, _ := NewHMACKey([]byte(testSecret + "x"))
	if hs2.ID() == hs.ID() || len(hs.ID()) != 16 {
		t.Errorf("HS256 kids %q and %q: want distinct 16-hex ids", hs.ID(), hs2.ID())
	}
}
