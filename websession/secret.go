package websession

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// valueBytes is the entropy of every secret made here (cookie values, CSRF
// tokens, OIDC states, nonces and PKCE verifiers): 256 bits.
const valueBytes = 32

// valueLen is the length of such a secret in unpadded base64url.
var valueLen = base64.RawURLEncoding.EncodedLen(valueBytes)

// randomValue returns a fresh secret, base64url without padding (43
// characters, also a valid PKCE code verifier: RFC 7636 §4.1).
func randomValue() (string, error) {
	b := make([]byte, valueBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("random value: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// validValue reports whether s has the shape of a secret made by
// randomValue; anything else is refused before it reaches the database.
func validValue(s string) bool {
	if len(s) != valueLen {
		return false
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(s)
	return err == nil
}

// hashValue is how the store knows a secret: the hex SHA-256 of it. The
// secrets carry 256 bits of entropy, so a plain hash cannot be reversed.
func hashValue(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// pkceChallenge is the S256 code challenge of a verifier (RFC 7636 §4.2).
func pkceChallenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// equalSecret compares two secrets in constant time (for equal lengths).
func equalSecret(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// EqualCSRF reports whether a request's X-CSRF-Token is the session's, in
// constant time.
func (s Session) EqualCSRF(token string) bool { return equalSecret(s.CSRFToken, token) }

// expiryClaim reads the exp claim of a JWT without checking it: only for a
// token the Authenticator has just verified.
func expiryClaim(token string) (time.Time, bool) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return time.Time{}, false
	}
	var c struct {
		Exp *json.Number `json:"exp"`
	}
	if err := json.Unmarshal(payload, &c); err != nil || c.Exp == nil {
		return time.Time{}, false
	}
	f, err := c.Exp.Float64()
	if err != nil || f <= 0 {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)).UTC(), true
}
