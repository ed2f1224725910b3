package server_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/api"
	"github.com/modelkeep/modelkeep/auth"
	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/store"
	"github.com/modelkeep/modelkeep/store/blob"
)

// BenchmarkAuthMiddleware measures what authentication and authorisation
// add to a request: the same Echo route served without the middleware (the
// baseline, measured in the same run) and with it (signature check, the
// token's revocation looked up in the database, roles and model scope). It
// reports the p50 of each and the p50 overhead; the target is < 50 µs.
// "cached" is the default (token records cached for 1s); "strict" looks the
// token up in the database on every request (MODELKEEP_TOKEN_CACHE_TTL=0).
func BenchmarkAuthMiddleware(b *testing.B) {
	for _, be := range testenv.Backends() {
		for _, mode := range []struct {
			name string
			ttl  time.Duration
		}{{"cached", time.Second}, {"strict", 0}} {
			b.Run(be.Name+"/"+mode.name, func(b *testing.B) { benchAuth(b, be.Name, mode.ttl) })
		}
	}
}

func benchAuth(b *testing.B, backend string, cacheTTL time.Duration) {
	{
		{
			database := benchDatabase(b, backend)
			ctx := context.Background()
			meta, err := store.Open(ctx, store.Options{URL: database, DataDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { meta.Close() })
			blobs, err := blob.NewFS(b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			key, err := auth.LoadKey(auth.KeyConfig{DataDir: b.TempDir()})
			if err != nil {
				b.Fatal(err)
			}
			svc := modelkeep.NewService(meta, blobs, modelkeep.ServiceOptions{
				Signer: auth.NewIssuer(key, auth.DefaultIssuer, auth.DefaultAudience), TokenCacheTTL: cacheTTL})
			verifier, err := auth.NewVerifier(key, auth.VerifierOptions{Lookup: svc.LookupToken})
			if err != nil {
				b.Fatal(err)
			}
			admin := modelkeep.WithActor(ctx, modelkeep.Actor{Subject: "bench", Roles: []string{modelkeep.RoleAdmin}})
			_, token, err := svc.CreateToken(admin, modelkeep.TokenInput{Subject: "reader", Roles: []string{modelkeep.RoleDeployer}, Models: []string{"fraud-*"}})
			if err != nil {
				b.Fatal(err)
			}
			doc, err := api.LoadSpec()
			if err != nil {
				b.Fatal(err)
			}
			authorize, err := api.Authorize(doc, verifier, api.AuthOptions{})
			if err != nil {
				b.Fatal(err)
			}
			ok := func(c echo.Context) error { return c.String(http.StatusOK, "ok") }
			plain, guarded := echo.New(), echo.New()
			plain.GET("/api/v1/models/:model", ok)
			guarded.Use(authorize)
			guarded.GET("/api/v1/models/:model", ok)

			serve := func(e *echo.Echo, n int) []time.Duration {
				durations := make([]time.Duration, n)
				for i := range n {
					req := httptest.NewRequest("GET", "/api/v1/models/fraud-detector", nil)
					req.Header.Set("Authorization", "Bearer "+token)
					rec := httptest.NewRecorder()
					start := time.Now()
					e.ServeHTTP(rec, req)
					durations[i] = time.Since(start)
					if rec.Code != http.StatusOK {
						b.Fatalf("status %d: %s", rec.Code, rec.Body)
					}
				}
				slices.Sort(durations)
				return durations
			}
			serve(guarded, 100) // warm the verified-token cache and the pool
			base := serve(plain, 2000)[1000]
			b.ResetTimer()
			with := serve(guarded, b.N)
			b.StopTimer()
			p50 := with[len(with)/2]
			b.ReportMetric(float64(base.Nanoseconds()), "baseline-p50-ns")
			b.ReportMetric(float64(p50.Nanoseconds()), "auth-p50-ns")
			b.ReportMetric(float64((p50 - base).Nanoseconds()), "overhead-p50-ns")
		}
	}
}

// benchDatabase gives a benchmark a fresh database of the backend.
func benchDatabase(b *testing.B, backend string) string {
	if backend == "sqlite+fs" {
		return "sqlite:" + b.TempDir() + "/mk.db"
	}
	return testenv.MySQLDatabase(b)
}
