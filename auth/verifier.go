package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelkeep/modelkeep"
)

// Verifier defaults.
const (
	DefaultLeeway       = 30 * time.Second
	DefaultMaxTokenSize = 8 << 10
	DefaultCacheSize    = 10_000
)

// VerifierOptions configure a Verifier. Lookup is required.
type VerifierOptions struct {
	// Issuer and Audience of Modelkeep's own tokens (DefaultIssuer and
	// DefaultAudience when empty).
	Issuer, Audience string
	// Leeway absorbs clock skew in the exp, nbf and iat checks (default
	// DefaultLeeway).
	Leeway time.Duration
	// MaxTokenSize bounds the bearer token in bytes; larger tokens are
	// refused before any parsing (default DefaultMaxTokenSize).
	MaxTokenSize int
	// CacheSize bounds the cache of already verified tokens (default
	// DefaultCacheSize; negative disables the cache). A cached token skips
	// only the signature and claims checks: time and, for Modelkeep tokens,
	// the record are checked on every request. An identity-provider token
	// stays accepted until its exp even if the provider withdraws its key.
	CacheSize int
	// Lookup returns the record of the token with this jti, an error wrapping
	// modelkeep.ErrNotFound when there is none, or one wrapping
	// modelkeep.ErrUnavailable when the store cannot answer. It runs on every
	// request; revocation and expiry, judged on the record, apply as soon as
	// Lookup sees them (the server's Lookup caches records for
	// MODELKEEP_TOKEN_CACHE_TTL, 1 s by default; revoking through the same
	// process clears its cache at once).
	Lookup func(ctx context.Context, jti string) (modelkeep.Token, error)
	// OIDC, when set, also accepts tokens of that identity provider.
	OIDC *OIDCConfig
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Verifier authenticates bearer tokens. It is safe for concurrent use.
type Verifier struct {
	key     *Key
	methods []string
	leeway  time.Duration
	maxSize int
	lookup  func(ctx context.Context, jti string) (modelkeep.Token, error)
	now     func() time.Time
	parser  *jwt.Parser
	cache   *verifiedCache
	oidc    *oidcVerifier // nil without an identity provider
}

// NewVerifier returns a Verifier of tokens signed by key (and, with
// opts.OIDC, of the identity provider's tokens).
func NewVerifier(key *Key, opts VerifierOptions) (*Verifier, error) {
	if key == nil {
		return nil, errors.New("new verifier: a signing key is required")
	}
	if opts.Lookup == nil {
		return nil, errors.New("new verifier: a token lookup is required")
	}
	if opts.Leeway < 0 || opts.MaxTokenSize < 0 {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "leeway and max token size must not be negative")
	}
	if opts.Issuer == "" {
		opts.Issuer = DefaultIssuer
	}
	if opts.Audience == "" {
		opts.Audience = DefaultAudience
	}
	if opts.Leeway == 0 {
		opts.Leeway = DefaultLeeway
	}
	if opts.MaxTokenSize == 0 {
		opts.MaxTokenSize = DefaultMaxTokenSize
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = DefaultCacheSize
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	v := &Verifier{
		key:     key,
		methods: []string{key.Algorithm()},
		leeway:  opts.Leeway,
		maxSize: opts.MaxTokenSize,
		lookup:  opts.Lookup,
		now:     opts.Now,
		cache:   newVerifiedCache(opts.CacheSize),
	}
	v.parser = jwt.NewParser(
		jwt.WithValidMethods(v.methods),
		jwt.WithIssuer(opts.Issuer),
		jwt.WithAudience(opts.Audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(opts.Leeway),
		jwt.WithTimeFunc(opts.Now),
		jwt.WithStrictDecoding(),
	)
	if opts.OIDC != nil {
		o, err := newOIDCVerifier(*opts.OIDC, opts)
		if err != nil {
			return nil, err
		}
		v.oidc = o
	}
	return v, nil
}

// Authenticate checks the value of an Authorization header ("Bearer <jwt>")
// and returns who presents it. A token that is not acceptable gives an error
// wrapping modelkeep.ErrUnauthenticated whose message is short and fixed:
// it never contains the token or any part of it. A token store or identity
// provider that cannot answer gives an error wrapping modelkeep.ErrUnavailable.
//
// Identity-provider actors have Subject "oidc:<subject claim>", no TokenID,
// and possibly no roles (the route then answers 403).
func (v *Verifier) Authenticate(ctx context.Context, header string) (modelkeep.Actor, error) {
	raw, err := v.bearer(header)
	if err != nil {
		return modelkeep.Actor{}, err
	}
	sum := sha256.Sum256([]byte(raw))
	t, ok := v.cache.Get(sum)
	if ok {
		// Only the clock can have changed what verification established.
		if err := v.checkTimes(t); err != nil {
			return modelkeep.Actor{}, err
		}
	} else {
		if t, err = v.verify(ctx, raw); err != nil {
			return modelkeep.Actor{}, err
		}
		v.cache.Put(sum, t)
	}
	if t.oidc {
		return modelkeep.Actor{Subject: t.subject, Roles: slices.Clone(t.roles)}, nil
	}
	return v.checkRecord(ctx, t)
}

// bearer extracts the token from the header value and rejects, before any
// decoding, what cannot be a compact JWS: wrong scheme, too large, characters
// outside base64url, other than three segments.
func (v *Verifier) bearer(header string) (string, error) {
	scheme, rest, _ := strings.Cut(header, " ")
	switch {
	case strings.TrimSpace(header) == "":
		return "", unauthenticated("missing bearer token")
	case !strings.EqualFold(scheme, "bearer"):
		return "", unauthenticated("authorization scheme must be bearer")
	}
	raw := strings.TrimLeft(rest, " ")
	switch {
	case raw == "":
		return "", unauthenticated("missing bearer token")
	case len(raw) > v.maxSize:
		return "", unauthenticated("token too large")
	case !isCompactJWS(raw):
		return "", unauthenticated("malformed token")
	}
	return raw, nil
}

// isCompactJWS reports whether s is three base64url segments (the signature
// may be empty, so that alg "none" reaches the algorithm check and is named).
func isCompactJWS(s string) bool {
	dots, segLen := 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '.':
			if segLen == 0 {
				return false
			}
			dots++
			segLen = 0
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_':
			segLen++
		default:
			return false
		}
	}
	return dots == 2
}

// verify checks a token the cache does not know: signature, algorithm, key
// and claims.
func (v *Verifier) verify(ctx context.Context, raw string) (*verified, error) {
	// The unverified iss only picks the path; each path then verifies the
	// token in full against its own keys and algorithms.
	if v.oidc != nil && peekIssuer(raw) == v.oidc.cfg.Issuer {
		return v.oidc.verify(ctx, raw)
	}
	return v.verifyLocal(raw)
}

func (v *Verifier) verifyLocal(raw string) (*verified, error) {
	var c claims
	tok, err := v.parser.ParseWithClaims(raw, &c, func(t *jwt.Token) (any, error) {
		if kid, _ := t.Header["kid"].(string); kid != v.key.ID() {
			return nil, errUnknownKey
		}
		return v.key.verificationKey(), nil
	})
	if err != nil {
		return nil, parseError(tok, err, v.methods)
	}
	if c.ID == "" {
		return nil, unauthenticated("token has no jti")
	}
	if c.Subject == "" {
		return nil, unauthenticated("token has no subject")
	}
	t := &verified{subject: c.Subject, jti: c.ID, expiresAt: c.ExpiresAt.Time}
	if c.NotBefore != nil {
		t.notBefore = c.NotBefore.Time
	}
	return t, nil
}

// checkTimes repeats the time checks of verification for a cached token.
func (v *Verifier) checkTimes(t *verified) error {
	now := v.now()
	if !now.Before(t.expiresAt.Add(v.leeway)) {
		return unauthenticated("token expired")
	}
	if !t.notBefore.IsZero() && now.Before(t.notBefore.Add(-v.leeway)) {
		return unauthenticated("token not valid yet")
	}
	return nil
}

// checkRecord judges a verified Modelkeep token on its record: the record,
// not the claims, says whether it is revoked or expired and what it may do.
func (v *Verifier) checkRecord(ctx context.Context, t *verified) (modelkeep.Actor, error) {
	rec, err := v.lookup(ctx, t.jti)
	switch {
	case err == nil:
	case errors.Is(err, modelkeep.ErrUnavailable):
		return modelkeep.Actor{}, fmt.Errorf("look up token: %w", err)
	case errors.Is(err, modelkeep.ErrNotFound):
		return modelkeep.Actor{}, unauthenticated("unknown token")
	default:
		return modelkeep.Actor{}, fmt.Errorf("look up token: %w", err)
	}
	switch {
	case rec.ID != t.jti:
		return modelkeep.Actor{}, unauthenticated("unknown token")
	case rec.RevokedAt != nil:
		return modelkeep.Actor{}, unauthenticated("token revoked")
	case !rec.Active(v.now()):
		return modelkeep.Actor{}, unauthenticated("token expired")
	case rec.Subject != t.subject:
		return modelkeep.Actor{}, unauthenticated("token subject does not match its record")
	}
	return modelkeep.Actor{Subject: rec.Subject, Roles: rec.Roles, Models: rec.Models, TokenID: rec.ID}, nil
}

// peekIssuer returns the iss claim of a token without verifying anything,
// or "" if it has none.
func peekIssuer(raw string) string {
	_, rest, _ := strings.Cut(raw, ".")
	payload, _, _ := strings.Cut(rest, ".")
	b, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return ""
	}
	var c struct {
		Iss string `json:"iss"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.Iss
}

// Reasons a key function refuses a token.
var (
	errUnknownKey  = errors.New("unknown signing key")
	errMissingKid  = errors.New("token has no key id")
	errKeyMismatch = errors.New("signing algorithm does not match the key")
)

// parseError turns a jwt parse error into a fixed message. jwt's own
// messages are not passed on: some quote header fields, which the caller
// controls.
func parseError(tok *jwt.Token, err error, methods []string) error {
	var mkErr *modelkeep.Error
	switch {
	case errors.Is(err, modelkeep.ErrUnavailable) && errors.As(err, &mkErr):
		// From a key function: the identity provider's keys cannot be
		// fetched, which is an outage (503), not a bad token.
		return mkErr
	case errors.Is(err, errMissingKid):
		return unauthenticated("token has no key id")
	case errors.Is(err, errUnknownKey):
		return unauthenticated("unknown signing key")
	case errors.Is(err, errKeyMismatch):
		return unauthenticated("signing algorithm does not match the key")
	case errors.Is(err, jwt.ErrTokenMalformed) && tok != nil && badSignatureOnly(tok.Raw):
		// The header and claims read, the signature does not decode (an
		// edited character, one cut off): it is the signature that is
		// wrong, as when it decodes to the wrong bytes.
		return unauthenticated("invalid signature")
	case errors.Is(err, jwt.ErrTokenMalformed):
		return unauthenticated("malformed token")
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		// Missing or unknown alg (the key function's errors are handled above).
		return unauthenticated("signing algorithm not allowed")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		if tok != nil && tok.Method != nil && !slices.Contains(methods, tok.Method.Alg()) {
			return unauthenticated("signing algorithm not allowed")
		}
		return unauthenticated("invalid signature")
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return unauthenticated("invalid token issuer")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return unauthenticated("invalid token audience")
	case errors.Is(err, jwt.ErrTokenExpired):
		return unauthenticated("token expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return unauthenticated("token not valid yet")
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return unauthenticated("token issued in the future")
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		return unauthenticated("token is missing a required claim (iss, aud or exp)")
	default:
		return unauthenticated("invalid token")
	}
}

func unauthenticated(msg string) error {
	return modelkeep.Errorf(modelkeep.ErrUnauthenticated, "%s", msg)
}

// badSignatureOnly reports whether a compact JWS has a header and claims
// that decode to JSON objects and a signature that does not decode (as
// strict base64url, as the parser reads it).
func badSignatureOnly(raw string) bool {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts[:2] {
		b, err := base64.RawURLEncoding.Strict().DecodeString(p)
		if err != nil || !json.Valid(b) || !bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
			return false
		}
	}
	_, err := base64.RawURLEncoding.Strict().DecodeString(parts[2])
	return err != nil
}
