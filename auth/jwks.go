package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/modelkeep/modelkeep"
)

// JWKS refresh policy.
const (
	// jwksMinInterval rate-limits fetches: a stream of tokens with made-up
	// kids must not turn Modelkeep into a traffic generator against the
	// identity provider.
	jwksMinInterval = 30 * time.Second
	// jwksMaxAge bounds how long a fetched set is trusted without a refresh,
	// so a key the provider withdraws stops verifying within the hour.
	jwksMaxAge = time.Hour
	// jwksMaxBody bounds discovery and JWKS responses.
	jwksMaxBody = 1 << 20
)

// publicJWK is one usable verification key of the identity provider.
type publicJWK struct {
	key   crypto.PublicKey // *rsa.PublicKey or *ecdsa.PublicKey
	alg   string           // the JWK's alg, "" if it names none
	curve string           // EC only: "P-256" or "P-384"
}

// allows reports whether a token signed with alg may be checked with k: the
// key's type (and curve) must fit the algorithm, and its alg, if the
// provider stated one, must be that algorithm.
func (k publicJWK) allows(alg string) bool {
	if k.alg != "" && k.alg != alg {
		return false
	}
	switch k.key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		return alg == "ES256" && k.curve == "P-256" || alg == "ES384" && k.curve == "P-384"
	}
	return false
}

// jwks caches the identity provider's keys by kid. An unknown kid (or a set
// older than jwksMaxAge) triggers a refresh: discovery, then the JWKS. One
// refresh runs at a time and the others wait for its result, and attempts are
// at least jwksMinInterval apart.
type jwks struct {
	issuer string
	client *http.Client
	now    func() time.Time
	// sem admits one refresh at a time; unlike a mutex, waiting on it
	// respects the request's context.
	sem chan struct{}

	mu         sync.RWMutex
	keys       map[string]publicJWK
	loaded     time.Time // last successful fetch
	attempted  time.Time // last fetch attempt
	attemptErr error     // its error, if it failed
}

func newJWKS(issuer string, client *http.Client, now func() time.Time) *jwks {
	return &jwks{issuer: issuer, client: client, now: now, sem: make(chan struct{}, 1)}
}

// get returns the key with this kid: errUnknownKey if the provider does not
// publish it, an error wrapping modelkeep.ErrUnavailable if its keys cannot
// be fetched and this one is not already known.
func (j *jwks) get(ctx context.Context, kid string) (publicJWK, error) {
	j.mu.RLock()
	k, ok := j.keys[kid]
	fresh := ok && j.now().Sub(j.loaded) < jwksMaxAge
	j.mu.RUnlock()
	if fresh {
		return k, nil
	}

	select {
	case j.sem <- struct{}{}:
		defer func() { <-j.sem }()
	case <-ctx.Done():
		return publicJWK{}, fmt.Errorf("wait for identity provider keys: %w", ctx.Err())
	}

	// The refresh we waited for may have brought the key.
	now := j.now()
	j.mu.RLock()
	k, ok = j.keys[kid]
	loaded, attempted, attemptErr := j.loaded, j.attempted, j.attemptErr
	j.mu.RUnlock()
	switch {
	case ok && now.Sub(loaded) < jwksMaxAge:
		return k, nil
	case !attempted.IsZero() && now.Sub(attempted) < jwksMinInterval:
		if ok {
			return k, nil // stale, but a refresh was just tried
		}
		if attemptErr != nil {
			return publicJWK{}, modelkeep.Errorf(modelkeep.ErrUnavailable, "identity provider keys unavailable: %w", attemptErr)
		}
		return publicJWK{}, errUnknownKey
	}

	// Detached from the request: a client that hangs up must not make the
	// fetch fail and so rate-limit everyone else. The client's timeout
	// bounds it.
	keys, err := j.fetch(context.WithoutCancel(ctx))
	j.mu.Lock()
	j.attempted, j.attemptErr = now, err
	if err == nil {
		j.keys, j.loaded = keys, now
	}
	j.mu.Unlock()
	if err != nil {
		if ok {
			return k, nil // keep using a known key while the provider is down
		}
		return publicJWK{}, modelkeep.Errorf(modelkeep.ErrUnavailable, "identity provider keys unavailable: %w", err)
	}
	if k, ok = keys[kid]; !ok {
		return publicJWK{}, errUnknownKey
	}
	return k, nil
}

// fetch reads the discovery document, then the key set it points to.
func (j *jwks) fetch(ctx context.Context) (map[string]publicJWK, error) {
	var disc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := j.getJSON(ctx, strings.TrimSuffix(j.issuer, "/")+"/.well-known/openid-configuration", &disc); err != nil {
		return nil, fmt.Errorf("oidc discovery: %w", err)
	}
	// OpenID Connect Discovery §4.3: the document must name the issuer we
	// asked, or it is not that issuer's.
	if disc.Issuer != j.issuer {
		return nil, fmt.Errorf("oidc discovery: issuer %q does not match %q", disc.Issuer, j.issuer)
	}
	u, err := url.Parse(disc.JWKSURI)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("oidc discovery: jwks_uri %q is not an http(s) url", disc.JWKSURI)
	}
	var set struct {
		Keys []jsonWebKey `json:"keys"`
	}
	if err := j.getJSON(ctx, disc.JWKSURI, &set); err != nil {
		return nil, fmt.Errorf("fetch jwks: %w", err)
	}
	keys := make(map[string]publicJWK, len(set.Keys))
	for _, jk := range set.Keys {
		// Keys this verifier cannot use (encryption keys, other key
		// types, no kid, malformed) are skipped, not fatal: one odd key
		// must not take the others down.
		if jk.Kid == "" || (jk.Use != "" && jk.Use != "sig") {
			continue
		}
		if k, err := jk.publicKey(); err == nil {
			keys[jk.Kid] = k
		}
	}
	if len(keys) == 0 {
		return nil, errors.New("fetch jwks: no usable signing keys")
	}
	return keys, nil
}

func (j *jwks) getJSON(ctx context.Context, u string, v any) error {
	return getJSON(ctx, j.client, u, v)
}

// getJSON reads a JSON document of the identity provider (at most
// jwksMaxBody bytes).
func getJSON(ctx context.Context, client *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, jwksMaxBody))
		return fmt.Errorf("get %s: status %d", u, resp.StatusCode)
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, jwksMaxBody)).Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", u, err)
	}
	return nil
}

// jsonWebKey is the subset of RFC 7517/7518 needed for RSA and EC public keys.
type jsonWebKey struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Use string `json:"use"`
	Alg string `json:"alg"`
	N   string `json:"n"`
	E   string `json:"e"`
	Crv string `json:"crv"`
	X   string `json:"x"`
	Y   string `json:"y"`
}

// minRSABits refuses RSA keys too short to trust (RFC 7518 §3.3 requires 2048).
const minRSABits = 2048

func (jk jsonWebKey) publicKey() (publicJWK, error) {
	switch jk.Kty {
	case "RSA":
		n, err := decodeB64(jk.N)
		if err != nil {
			return publicJWK{}, fmt.Errorf("rsa n: %w", err)
		}
		e, err := decodeB64(jk.E)
		if err != nil {
			return publicJWK{}, fmt.Errorf("rsa e: %w", err)
		}
		if len(e) == 0 || len(e) > 4 {
			return publicJWK{}, errors.New("rsa e: out of range")
		}
		var exp int
		for _, b := range e {
			exp = exp<<8 | int(b)
		}
		if exp < 3 || exp%2 == 0 {
			return publicJWK{}, errors.New("rsa e: out of range")
		}
		key := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: exp}
		if key.N.BitLen() < minRSABits {
			return publicJWK{}, fmt.Errorf("rsa key: %d bits, want at least %d", key.N.BitLen(), minRSABits)
		}
		return publicJWK{key: key, alg: jk.Alg}, nil
	case "EC":
		var curve elliptic.Curve
		var size int
		switch jk.Crv {
		case "P-256":
			curve, size = elliptic.P256(), 32
		case "P-384":
			curve, size = elliptic.P384(), 48
		default:
			return publicJWK{}, fmt.Errorf("ec curve %q not supported", jk.Crv)
		}
		x, err := decodeB64(jk.X)
		if err != nil {
			return publicJWK{}, fmt.Errorf("ec x: %w", err)
		}
		y, err := decodeB64(jk.Y)
		if err != nil {
			return publicJWK{}, fmt.Errorf("ec y: %w", err)
		}
		if len(x) != size || len(y) != size {
			return publicJWK{}, errors.New("ec point: wrong coordinate length")
		}
		// ParseUncompressedPublicKey rejects points not on the curve.
		point := make([]byte, 0, 1+2*size)
		point = append(append(append(point, 4), x...), y...)
		key, err := ecdsa.ParseUncompressedPublicKey(curve, point)
		if err != nil {
			return publicJWK{}, fmt.Errorf("ec point: %w", err)
		}
		return publicJWK{key: key, alg: jk.Alg, curve: jk.Crv}, nil
	default:
		return publicJWK{}, fmt.Errorf("key type %q not supported", jk.Kty)
	}
}

// decodeB64 decodes base64url, tolerating the padding some providers add.
func decodeB64(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}
