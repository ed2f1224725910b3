package store

import (
	"context"
	"fmt"
	"time"

	"github.com/modelkeep/modelkeep/audit"

	"gorm.io/gorm/clause"
)

// SeedAuditChain appends n synthetic, valid events to the audit chain in
// bulk (thousands per statement), one second apart from start: a fixture for
// benchmarks and load tests of verification and export, which need chains
// of a million events that AppendAudit would take minutes to build. It
// holds the chain head's lock per batch, like AppendAudit, so it may run
// beside a live server.
func SeedAuditChain(ctx context.Context, s *Store, n int, start time.Time) error {
	const batch = 2000
	for done := 0; done < n; {
		k := min(batch, n-done)
		err := s.inTxStore(ctx, func(tx *Store) error {
			db := tx.db.WithContext(ctx)
			var head auditHeadRow
			if err := db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", 1).Take(&head).Error; err != nil {
				return dbErr("seed audit chain: read head", err)
			}
			rows := make([]auditEventRow, k)
			prev := head.Hash
			for i := range rows {
				seq := head.Seq + int64(i) + 1
				details, err := audit.CanonicalDetails(map[string]any{
					"before": map[string]any{"description": "model of the fraud team", "tags": map[string]string{"team": "risk"}},
					"after":  map[string]any{"description": fmt.Sprint("model of the fraud team, revision ", seq), "tags": map[string]string{"team": "risk"}},
				})
				if err != nil {
					return err
				}
				e := audit.Event{
					Seq: seq, Time: utc(start.Add(time.Duration(done+i) * time.Second)), Actor: fmt.Sprint("ci-user-", seq%7),
					Action: "model.update", Resource: fmt.Sprint("models/fraud-detector-", seq%100), Outcome: audit.OutcomeSuccess,
					RequestID: fmt.Sprintf("req-%016x", seq), RemoteAddr: "192.0.2.10", Details: details, PrevHash: prev,
				}
				e.Hash = e.ComputeHash()
				prev = e.Hash
				rows[i] = auditEventRow{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action, Resource: e.Resource,
					Outcome: e.Outcome, RequestID: e.RequestID, RemoteAddr: e.RemoteAddr, Details: string(e.Details),
					PrevHash: e.PrevHash, Hash: e.Hash}
			}
			// Small multi-row inserts: the SQLite driver binds parameters in
			// time quadratic in their number per statement.
			if err := db.CreateInBatches(rows, 50).Error; err != nil {
				return dbErr("seed audit chain", err)
			}
			last := rows[len(rows)-1]
			return dbErr("seed audit chain: move head", db.Model(&auditHeadRow{}).Where("id = ? AND seq = ?", 1, head.Seq).
				Updates(map[string]any{"seq": last.Seq, "hash": last.Hash}).Error)
		})
		if err != nil {
			return err
		}
		done += k
	}
	return nil
}
