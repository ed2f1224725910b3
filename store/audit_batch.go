package store

import (
	"context"
	"time"

	"github.com/modelkeep/modelkeep/internal/groupcommit"
)

// auditBatcher writes the audit events queued outside a transaction (each
// download's file.download, refusals) that arrive together as one
// multi-row INSERT: one statement and one commit for a burst of
// concurrent downloads instead of one of each per download. Every caller
// still returns only once its own event is committed (or failed), so a
// download is never served before its event is stored.
type auditBatcher = groupcommit.Batcher[auditPendingRow, struct{}]

// maxAuditBatch bounds one INSERT's rows (each at most a few KiB).
const maxAuditBatch = 256

// auditBatchTimeout bounds one batch's INSERT. The batch does not run
// under any one caller's context: a caller that went away must not fail
// the others' events.
const auditBatchTimeout = 30 * time.Second

// queueAuditBatched queues row with the others arriving at the same moment
// and returns once the INSERT holding it is committed.
func (s *Store) queueAuditBatched(ctx context.Context, row auditPendingRow) error {
	_, err := s.auditBatch.Do(ctx, row, func(ctx context.Context, batch []groupcommit.Item[auditPendingRow]) []groupcommit.Result[struct{}] {
		ctx, cancel := context.WithTimeout(ctx, auditBatchTimeout)
		defer cancel()
		rows := make([]auditPendingRow, len(batch))
		for i, it := range batch {
			rows[i] = it.Value
		}
		return groupcommit.Same[struct{}](len(batch), s.db.WithContext(ctx).Create(&rows).Error)
	})
	return err
}
