package auth

import (
	"time"

	"github.com/modelkeep/modelkeep/internal/boundedmap"
)

// verified is what a successful signature and claims check established about
// a token. The cache keeps it so a token seen before skips the signature
// check (an Ed25519 verification alone takes about as long as the whole
// per-request budget); everything that can change between two requests (the
// clock, the token record) is checked again on every request.
type verified struct {
	oidc      bool
	subject   string   // the sub claim, or the prefixed OIDC subject
	jti       string   // Modelkeep tokens only
	roles     []string // OIDC only: the mapped roles; never modified
	notBefore time.Time
	expiresAt time.Time
}

// verifiedCache maps SHA-256(token) to what verifying its signature and
// claims established (not the token record, which the registry's
// tokenRecordCache keeps): bounded, a nil one caches nothing
// (internal/boundedmap).
type verifiedCache = boundedmap.Map[[32]byte, *verified]

// newVerifiedCache returns a cache of about size entries, or nil (no caching)
// when size is not positive.
func newVerifiedCache(size int) *verifiedCache { return boundedmap.New[[32]byte, *verified](size) }
