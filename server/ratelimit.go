package server

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/ratelimit"
)

// rateLimits gives each caller a budget of requests and answers 429 to the
// requests over it (Config.TokenRate and the others; ratelimit has the
// algorithm):
//
//   - a request authenticated by a token (or a session made from one)
//     spends its token's budget, keyed by the token's id (jti), or by the
//     subject for identity-provider tokens, which have none; a token holding
//     an exempt role (admin, by default) spends nothing;
//   - every other request spends its client address's budget: requests
//     without credentials, to public operations, to paths or methods the
//     server does not have, and requests whose credentials are refused
//     (401). A valid token's requests never spend the address's budget, so
//     that clients sharing an address (a NAT, a CI runner) do not throttle
//     each other, while guessing at tokens from one address is bounded.
//
// The client address is the peer's (X-Forwarded-For is not trusted, see
// newEcho); an IPv6 address counts for its /64, which one client usually
// holds whole. Behind a reverse proxy every request comes from the proxy's
// address: limit per address at the proxy then, or turn the budget off.
//
// The service endpoints and the web UI's files have no budget (healthz,
// readyz and metrics must answer monitoring, and the UI's files are
// static).
//
// Every answer under a budget carries the RateLimit-Policy and RateLimit
// header fields of draft-ietf-httpapi-ratelimit-headers-11 (23 May 2026),
// for the policy applied, "token" or "address":
//
//	RateLimit-Policy: "token";q=500;w=10   q: the burst; w: seconds to refill it
//	RateLimit: "token";r=499;t=1           r: requests left now; t: seconds until the budget is whole
//
// and a refusal, 429 with the error body (code rate_limited), carries
// Retry-After, with RateLimit's t equal to it (r=0), as the draft asks
// (the Retry-After is not earlier than the end of the effective window).
// The admission line's overload answer stays 503 (admission.go): a budget
// is the caller's, the line is the server's.
type rateLimits struct {
	token, address *ratelimit.Limiter // nil: that budget is off
	exemptRoles    []string
	refused        *prometheus.CounterVec
}

// The policies' names, in the RateLimit fields and the refusals metric.
const (
	tokenPolicy   = "token"
	addressPolicy = "address"
)

// newRateLimits builds the budgets of cfg; nil when both are off.
func newRateLimits(cfg Config, registry *prometheus.Registry) (*rateLimits, error) {
	r := &rateLimits{exemptRoles: cfg.RateLimitExemptRoles}
	var err error
	if cfg.TokenRate > 0 {
		if r.token, err = ratelimit.New(ratelimit.Config{Rate: cfg.TokenRate, Burst: cfg.TokenBurst}); err != nil {
			return nil, fmt.Errorf("per-token rate limit: %w", err)
		}
	}
	if cfg.AddressRate > 0 {
		if r.address, err = ratelimit.New(ratelimit.Config{Rate: cfg.AddressRate, Burst: cfg.AddressBurst}); err != nil {
			return nil, fmt.Errorf("per-address rate limit: %w", err)
		}
	}
	if r.token == nil && r.address == nil {
		return nil, nil
	}
	r.refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "modelkeep_http_rate_limited_total",
		Help: "Requests refused with 429 because their budget was spent, by budget (token or address).",
	}, []string{"budget"})
	registry.MustRegister(r.refused)
	return r, nil
}

// limited reports whether requests to path have a budget: all but the
// service endpoints and the web UI's files.
func limited(path string) bool {
	switch {
	case path == "/healthz", path == "/readyz", path == "/metrics", path == "/", path == "/ui", strings.HasPrefix(path, "/ui/"):
		return false
	}
	return true
}

// spentKey marks, in the echo.Context, a request that has spent a budget.
const spentKey = "modelkeep.ratelimit.spent"

// refusedCredentials runs before authentication: a request the
// authentication refuses (401) spends its address's budget, and is
// answered 429 instead when that is spent.
func (r *rateLimits) refusedCredentials() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			err := next(c)
			if err == nil || r.address == nil || c.Get(spentKey) != nil || !limited(c.Request().URL.Path) || !unauthenticated(err) {
				return err
			}
			if refusal := r.spend(c, addressPolicy, r.address, addressKey(c.RealIP())); refusal != nil {
				return refusal
			}
			return err
		}
	}
}

// unauthenticated reports whether err is answered 401.
func unauthenticated(err error) bool {
	var he *echo.HTTPError
	return errors.Is(err, modelkeep.ErrUnauthenticated) || errors.As(err, &he) && he.Code == http.StatusUnauthorized
}

// admitted runs after authentication: the caller's token spends its
// budget, unless it holds an exempt role; a request without one (a public
// operation, an unknown path or method) spends its address's.
func (r *rateLimits) admitted() echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			if !limited(c.Request().URL.Path) {
				return next(c)
			}
			if actor, ok := modelkeep.ActorFrom(c.Request().Context()); ok {
				if r.token == nil || slices.ContainsFunc(actor.Roles, func(role string) bool { return slices.Contains(r.exemptRoles, role) }) {
					return next(c)
				}
				key := "jti:" + actor.TokenID
				if actor.TokenID == "" {
					key = "sub:" + actor.Subject
				}
				if refusal := r.spend(c, tokenPolicy, r.token, key); refusal != nil {
					return refusal
				}
				return next(c)
			}
			if r.address != nil {
				if refusal := r.spend(c, addressPolicy, r.address, addressKey(c.RealIP())); refusal != nil {
					return refusal
				}
			}
			return next(c)
		}
	}
}

// spend takes one request from key's budget under policy and writes the
// RateLimit fields; it returns the refusal (429) when the budget is spent.
func (r *rateLimits) spend(c echo.Context, policy string, l *ratelimit.Limiter, key string) error {
	c.Set(spentKey, true)
	d := l.Allow(key)
	h := c.Response().Header()
	h.Set("RateLimit-Policy", fmt.Sprintf(`"%s";q=%d;w=%d`, policy, l.Burst(), seconds(l.Window())))
	if d.Allowed {
		h.Set("RateLimit", fmt.Sprintf(`"%s";r=%d;t=%d`, policy, d.Remaining, seconds(d.Reset)))
		return nil
	}
	retry := seconds(d.RetryAfter)
	h.Set("RateLimit", fmt.Sprintf(`"%s";r=0;t=%d`, policy, retry))
	h.Set("Retry-After", strconv.Itoa(retry))
	r.refused.WithLabelValues(policy).Inc()
	rate := float64(l.Burst()) / l.Window().Seconds()
	if policy == tokenPolicy {
		return modelkeep.Errorf(modelkeep.ErrRateLimited, "the token's request budget is spent (%d at once, %.4g per second after that): retry in %d s", l.Burst(), rate, retry)
	}
	return modelkeep.Errorf(modelkeep.ErrRateLimited, "this address's budget of requests without a valid token is spent (%d at once, %.4g per second after that): retry in %d s", l.Burst(), rate, retry)
}

// seconds rounds a duration up to whole seconds, at least 1 (the RateLimit
// fields and Retry-After count in delay-seconds).
func seconds(d time.Duration) int {
	return max(int(math.Ceil(d.Seconds())), 1)
}

// addressKey is the budget key of a client address: an IPv4 address, or
// the /64 of an IPv6 one.
func addressKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return "ip:" + ip
	}
	a = a.Unmap()
	if a.Is4() {
		return "ip:" + a.String()
	}
	p, _ := a.WithZone("").Prefix(64)
	return "ip:" + p.String()
}
