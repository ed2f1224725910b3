package store

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/audit"
)

// TestQueueAuditOutsideTransactions: events queued at once outside
// transactions, as concurrent downloads queue theirs, are each stored once
// and chained by the sequencer.
func TestQueueAuditOutsideTransactions(t *testing.T) {
	forEachDialect(t, func(t *testing.T, newURL func(*testing.T) string) {
		ctx := t.Context()
		s := openReplica(t, newURL(t))
		const n = 120
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				e := audit.Event{Actor: "deployer", Action: "file.download", Resource: fmt.Sprint("models/m/versions/", i+1),
					Outcome: audit.OutcomeSuccess, Details: []byte(`{}`)}
				errs[i] = s.QueueAudit(ctx, e)
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		var pending int64
		if err := s.db.WithContext(ctx).Model(&auditPendingRow{}).Count(&pending).Error; err != nil || pending != n {
			t.Fatalf("%d events pending (%v), want %d", pending, err, n)
		}
		if got, err := s.SequenceAudit(ctx, 1000); err != nil || got != n {
			t.Fatalf("sequenced %d (%v), want %d", got, err, n)
		}
		events, err := s.QueryAudit(ctx, modelkeep.AuditQuery{Action: "file.download"})
		if err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for _, e := range events {
			seen[e.Resource]++
		}
		for i := range n {
			if r := fmt.Sprint("models/m/versions/", i+1); seen[r] != 1 {
				t.Errorf("%s chained %d times", r, seen[r])
			}
		}
	})
}
