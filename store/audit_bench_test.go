package store

import (
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/audit"
	"github.com/modelkeep/modelkeep/internal/testenv"
)

// benchDialects runs fn per dialect like forEachDialect, for benchmarks.
func benchDialects(b *testing.B, fn func(b *testing.B, s *Store)) {
	b.Run("sqlite", func(b *testing.B) {
		s, err := Open(b.Context(), Options{URL: "sqlite:" + b.TempDir() + "/modelkeep.db"})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		fn(b, s)
	})
	b.Run("mysql", func(b *testing.B) {
		s, err := Open(b.Context(), Options{URL: testenv.MySQLDatabase(b)})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		fn(b, s)
	})
}

// BenchmarkAuditAppendOverhead measures what recording a mutation in the
// audit chain adds to it: the p50 latency of a model update in its own
// transaction, with and without the audit event (lock the head, insert,
// move the head), as the Service runs it.
//
//	go test ./store/ -run '^$' -bench AuditAppendOverhead -benchtime 2000x
func BenchmarkAuditAppendOverhead(b *testing.B) {
	benchDialects(b, func(b *testing.B, s *Store) {
		ctx := b.Context()
		if err := s.CreateModel(ctx, modelkeep.Model{Name: "m", Tags: map[string]string{}}); err != nil {
			b.Fatal(err)
		}
		details, _ := audit.CanonicalDetails(map[string]any{
			"before": map[string]any{"description": "old", "tags": map[string]string{"team": "risk"}},
			"after":  map[string]any{"description": "new", "tags": map[string]string{"team": "risk"}},
		})
		mutate := func(i int, withAudit bool) time.Duration {
			start := time.Now()
			err := s.InTx(ctx, func(tx modelkeep.MetaStore) error {
				m, err := tx.GetModel(ctx, "m")
				if err != nil {
					return err
				}
				m.Description = fmt.Sprint("description ", i)
				if err := tx.UpdateModel(ctx, m); err != nil {
					return err
				}
				if !withAudit {
					return nil
				}
				_, err = tx.AppendAudit(ctx, audit.Event{
					Actor: "bench", Action: "model.update", Resource: "models/m", Outcome: audit.OutcomeSuccess,
					RequestID: "req", RemoteAddr: "127.0.0.1", Details: details,
				})
				return err
			})
			if err != nil {
				b.Fatal(err)
			}
			return time.Since(start)
		}
		var with, without []time.Duration
		for i := 0; b.Loop(); i++ {
			// Alternate, so that both see the same database state and noise.
			without = append(without, mutate(i, false))
			with = append(with, mutate(i, true))
		}
		p50 := func(d []time.Duration) time.Duration { slices.Sort(d); return d[len(d)/2] }
		pw, pwo := p50(with), p50(without)
		b.ReportMetric(float64(pwo.Microseconds()), "p50-without-µs")
		b.ReportMetric(float64(pw.Microseconds()), "p50-with-µs")
		b.ReportMetric(float64((pw - pwo).Microseconds()), "p50-added-µs")
	})
}

// BenchmarkVerifyAudit measures verification throughput over a chain of
// MODELKEEP_BENCH_AUDIT_EVENTS events (default 200,000).
//
//	go test ./store/ -run '^$' -bench VerifyAudit -benchtime 3x
func BenchmarkVerifyAudit(b *testing.B) {
	n := 200_000
	if v := os.Getenv("MODELKEEP_BENCH_AUDIT_EVENTS"); v != "" {
		fmt.Sscan(v, &n)
	}
	benchDialects(b, func(b *testing.B, s *Store) {
		if err := SeedAuditChain(b.Context(), s, n, time.Now().Add(-time.Hour)); err != nil {
			b.Fatal(err)
		}
		svc := modelkeep.NewService(s, nil, modelkeep.ServiceOptions{})
		for b.Loop() {
			res, err := svc.VerifyAudit(b.Context(), 0)
			if err != nil || !res.OK || res.Events != int64(n) {
				b.Fatalf("%+v %v", res, err)
			}
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "events/s")
	})
}
