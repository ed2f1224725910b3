package auth

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

// BenchmarkAuthenticate measures Authenticate with a map-backed Lookup. The
// p50-ns metric times each call on its own: the budget is 50µs at p50.
func BenchmarkAuthenticate(b *testing.B) {
	hmacKey, err := NewHMACKey([]byte(testSecret))
	if err != nil {
		b.Fatal(err)
	}
	keys := []struct {
		name string
		key  *Key
	}{
		{"EdDSA", testEdKey(b)},
		{"HS256", hmacKey},
	}
	for _, k := range keys {
		for _, cached := range []bool{true, false} {
			name := k.name + "/cached"
			if !cached {
				name = k.name + "/uncached"
			}
			b.Run(name, func(b *testing.B) {
				e := newEnv(b, k.key, func(o *VerifierOptions) {
					o.Now = time.Now
					if !cached {
						o.CacheSize = -1
					}
				})
				now := time.Now()
				rec := modelkeep.Token{
					ID: "0190f3c2-7a41-7d2e-9d4e-3c1f1e2a9b10", Subject: "ci-bot",
					Roles: []string{modelkeep.RolePublisher}, CreatedBy: "admin",
					CreatedAt: now, ExpiresAt: now.Add(24 * time.Hour),
				}
				e.store.put(rec)
				header := "Bearer " + e.sign(b, rec)
				ctx := context.Background()
				if _, err := e.v.Authenticate(ctx, header); err != nil {
					b.Fatal(err)
				}
				durs := make([]time.Duration, b.N)
				b.ReportAllocs()
				b.ResetTimer()
				for i := range b.N {
					start := time.Now()
					if _, err := e.v.Authenticate(ctx, header); err != nil {
						b.Fatal(err)
					}
					durs[i] = time.Since(start)
				}
				b.StopTimer()
				reportPercentiles(b, durs)
			})
		}
	}
	for _, cached := range []bool{true, false} {
		name := "OIDC-RS256/cached"
		if !cached {
			name = "OIDC-RS256/uncached"
		}
		b.Run(name, func(b *testing.B) {
			p := newIDP(b)
			roleMap := map[string][]string{"ml-admins": {modelkeep.RoleAdmin}}
			e := newEnv(b, testEdKey(b), func(o *VerifierOptions) {
				o.Now = time.Now
				o.OIDC = &OIDCConfig{Issuer: p.srv.URL, Audience: testOIDCAudience, RoleMap: roleMap, HTTPClient: p.srv.Client()}
				if !cached {
					o.CacheSize = -1
				}
			})
			e.clock = &clock{t: time.Now()}
			header := "Bearer " + p.token(b, "k1", p.claims(e.clock, "alice", []string{"ml-admins"}))
			ctx := context.Background()
			if _, err := e.v.Authenticate(ctx, header); err != nil {
				b.Fatal(err)
			}
			durs := make([]time.Duration, b.N)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				if _, err := e.v.Authenticate(ctx, header); err != nil {
					b.Fatal(err)
				}
				durs[i] = time.Since(start)
			}
			b.StopTimer()
			reportPercentiles(b, durs)
		})
	}
}

func reportPercentiles(b *testing.B, durs []time.Duration) {
	if len(durs) == 0 {
		return
	}
	slices.Sort(durs)
	b.ReportMetric(float64(durs[len(durs)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(durs[len(durs)*99/100].Nanoseconds()), "p99-ns")
}
