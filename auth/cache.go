package auth

import (
	"sync"
	"time"
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

// tokenCache is a bounded map from SHA-256(token) to what verifying it
// established. It keeps two generations: inserts go to cur, and when cur
// holds half the capacity it becomes prev and the old prev is dropped whole.
// Eviction is O(1) and lookups stay lock-shared; a hot token that ages out
// is simply verified once more.
type tokenCache struct {
	half      int
	mu        sync.RWMutex
	cur, prev map[[32]byte]*verified
}

// newTokenCache returns a cache of about size entries, or nil (no caching)
// when size is not positive.
func newTokenCache(size int) *tokenCache {
	if size <= 0 {
		return nil
	}
	half := max(size/2, 1)
	return &tokenCache{half: half, cur: make(map[[32]byte]*verified, half)}
}

func (c *tokenCache) get(k [32]byte) (*verified, bool) {
	if c == nil {
		return nil, false
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.prev[k]
	return v, ok
}

func (c *tokenCache) put(k [32]byte, v *verified) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.cur) >= c.half {
		c.prev = c.cur
		c.cur = make(map[[32]byte]*verified, c.half)
	}
	c.cur[k] = v
}

// len reports the number of cached entries (for tests).
func (c *tokenCache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.cur) + len(c.prev)
}
