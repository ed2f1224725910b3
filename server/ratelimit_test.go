package server_test

import (
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// rateLimitFields reads the RateLimit-Policy and RateLimit fields of an
// answer (draft-ietf-httpapi-ratelimit-headers-11): the policy's name, its
// quota q and window w, the requests left r and the seconds t.
type rateLimitFields struct {
	policy  string
	q, w    int
	r, t    int
	present bool
}

var (
	policyField = regexp.MustCompile(`^"(token|address)";q=([0-9]+);w=([0-9]+)$`)
	limitField  = regexp.MustCompile(`^"(token|address)";r=([0-9]+);t=([0-9]+)$`)
)

func readRateLimit(t *testing.T, h http.Header) rateLimitFields {
	t.Helper()
	p, l := h.Get("RateLimit-Policy"), h.Get("RateLimit")
	if p == "" && l == "" {
		return rateLimitFields{}
	}
	pm, lm := policyField.FindStringSubmatch(p), limitField.FindStringSubmatch(l)
	if pm == nil || lm == nil || pm[1] != lm[1] {
		t.Fatalf("RateLimit-Policy %q, RateLimit %q: not the draft's syntax, or two policies", p, l)
	}
	n := func(s string) int { v, _ := strconv.Atoi(s); return v }
	return rateLimitFields{policy: pm[1], q: n(pm[2]), w: n(pm[3]), r: n(lm[2]), t: n(lm[3]), present: true}
}

// TestRateLimits: a token's requests spend its budget (not another
// token's, and not at all for admins by default); requests without a valid
// token spend their address's; both are answered 429 with Retry-After and
// the RateLimit fields when spent, counted in /metrics; health, readiness,
// metrics and the UI's files have no budget.
func TestRateLimits(t *testing.T) {
	// One request per 100 s after the burst: nothing refills while the
	// test runs, however slow the machine.
	flags := []string{
		"--rate-limit-per-token", "0.01", "--rate-limit-token-burst", "3",
		"--rate-limit-per-address", "0.01", "--rate-limit-address-burst", "4",
	}
	forEachBackendFlags(t, flags, func(t *testing.T, admin *env) {
		admin.mustCreateModel("budget")
		pub := admin.as(admin.issue("ci-job", []string{"publisher"}))
		other := admin.as(admin.issue("ci-job", []string{"publisher"})) // same subject, another token

		t.Run("per token", func(t *testing.T) {
			pub := pub.on(t)
			for i := range 3 {
				resp := pub.do("GET", "/api/v1/models/budget", nil)
				rl := readRateLimit(t, resp.Header)
				pub.expect(resp, http.StatusOK, nil)
				if rl != (rateLimitFields{policy: "token", q: 3, w: 300, r: 2 - i, t: 100 * (i + 1), present: true}) {
					t.Errorf("request %d: %+v", i+1, rl)
				}
			}
			resp := pub.do("GET", "/api/v1/models/budget", nil)
			rl := readRateLimit(t, resp.Header)
			retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || retry < 90 || retry > 100 {
				t.Errorf("Retry-After %q, want about 100 s", resp.Header.Get("Retry-After"))
			}
			if rl.policy != "token" || rl.q != 3 || rl.r != 0 || rl.t != retry {
				t.Errorf("refusal: %+v, want r=0 and t = Retry-After (%d)", rl, retry)
			}
			pub.expectError(resp, http.StatusTooManyRequests, "rate_limited", "token's request budget")
			// Every operation is refused alike, uploads included.
			pub.expectError(pub.do("POST", "/api/v1/models", map[string]any{"name": "not-made"}), http.StatusTooManyRequests, "rate_limited", "")
			admin.expectError(admin.do("GET", "/api/v1/models/not-made", nil), http.StatusNotFound, "not_found", "")

			// Another token of the same subject has its own budget.
			resp = other.do("GET", "/api/v1/models/budget", nil)
			if rl := readRateLimit(t, resp.Header); rl.r != 2 {
				t.Errorf("another token's first request: %+v", rl)
			}
			other.expect(resp, http.StatusOK, nil)
		})

		t.Run("admins are exempt by default", func(t *testing.T) {
			for range 10 {
				resp := admin.do("GET", "/api/v1/models/budget", nil)
				if rl := readRateLimit(t, resp.Header); rl.present {
					t.Errorf("an admin's answer carries a budget: %+v", rl)
				}
				admin.expect(resp, http.StatusOK, nil)
			}
		})

		t.Run("per address", func(t *testing.T) {
			anon := admin.as("")
			// Public operations, unknown paths and refused credentials
			// spend the address's budget.
			for i, r := range []struct {
				method, path, token string
				status              int
			}{
				{"GET", "/openapi.yaml", "", http.StatusOK},
				{"GET", "/api/v1/models", "", http.StatusUnauthorized},
				{"GET", "/api/v1/models", "not-a-token", http.StatusUnauthorized},
				{"GET", "/api/v1/nothing-here", "", http.StatusNotFound},
			} {
				resp := admin.as(r.token).do(r.method, r.path, nil)
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				rl := readRateLimit(t, resp.Header)
				if resp.StatusCode != r.status || rl != (rateLimitFields{policy: "address", q: 4, w: 400, r: 3 - i, t: 100 * (i + 1), present: true}) {
					t.Errorf("%s %s: %d, %+v", r.method, r.path, resp.StatusCode, rl)
				}
			}
			resp := anon.do("GET", "/openapi.yaml", nil)
			if resp.Header.Get("Retry-After") == "" || readRateLimit(t, resp.Header).r != 0 {
				t.Errorf("refusal headers %v", resp.Header)
			}
			anon.expectError(resp, http.StatusTooManyRequests, "rate_limited", "without a valid token")
			// A bad token from a spent address is refused for the budget.
			admin.as("not-a-token").expectError(admin.as("not-a-token").do("GET", "/api/v1/models", nil), http.StatusTooManyRequests, "rate_limited", "")
			// A valid token's requests do not spend the address's budget,
			// nor does its spent address refuse them.
			resp = other.do("GET", "/api/v1/models/budget", nil)
			if rl := readRateLimit(t, resp.Header); rl.policy != "token" {
				t.Errorf("a token's request under the address's policy: %+v", rl)
			}
			other.expect(resp, http.StatusOK, nil)
		})

		t.Run("service endpoints and the UI have no budget", func(t *testing.T) {
			anon := admin.as("")
			for range 10 {
				for _, p := range []string{"/healthz", "/readyz"} {
					resp := anon.do("GET", p, nil)
					if rl := readRateLimit(t, resp.Header); rl.present {
						t.Errorf("%s carries a budget: %+v", p, rl)
					}
					anon.expect(resp, http.StatusOK, nil)
				}
				resp, err := http.Get(admin.http.URL + "/ui/")
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || resp.Header.Get("RateLimit") != "" {
					t.Errorf("/ui/: %d, RateLimit %q", resp.StatusCode, resp.Header.Get("RateLimit"))
				}
			}
		})

		t.Run("refusals are counted", func(t *testing.T) {
			resp := admin.as("").do("GET", "/metrics", nil)
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{`modelkeep_http_rate_limited_total{budget="token"} 2`, `modelkeep_http_rate_limited_total{budget="address"} 2`} {
				if !strings.Contains(string(body), want) {
					t.Errorf("/metrics lacks %q:\n%s", want, grepLines(string(body), "rate_limited"))
				}
			}
		})
	})
}

// TestRateLimitSettings: admins can be given a budget too, and a budget of
// rate 0 is off.
func TestRateLimitSettings(t *testing.T) {
	forEachBackendFlags(t, []string{"--rate-limit-per-token", "0.01", "--rate-limit-token-burst", "2", "--rate-limit-exempt-roles", "none",
		"--rate-limit-per-address", "0"}, func(t *testing.T, admin *env) {
		for i := range 2 {
			resp := admin.do("GET", "/api/v1/models", nil)
			if rl := readRateLimit(t, resp.Header); rl.policy != "token" || rl.r != 1-i {
				t.Errorf("admin's request %d: %+v", i+1, rl)
			}
			admin.expect(resp, http.StatusOK, nil)
		}
		admin.expectError(admin.do("GET", "/api/v1/models", nil), http.StatusTooManyRequests, "rate_limited", "")
		for range 20 {
			resp := admin.as("").do("GET", "/openapi.yaml", nil)
			if rl := readRateLimit(t, resp.Header); rl.present {
				t.Fatalf("no per-address budget, yet %+v", rl)
			}
			admin.expect(resp, http.StatusOK, nil)
		}
	})
}
