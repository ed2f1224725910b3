package store

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/modelkeep/modelkeep/audit"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/modelkeep/modelkeep"
)

// auditPendingRow is an audit record committed with its change but not yet
// chained (migration 0069): an audit_events row without seq and hashes.
type auditPendingRow struct {
	ID         int64     `gorm:"column:id;primaryKey"`
	Time       time.Time `gorm:"column:time"`
	Actor      string    `gorm:"column:actor"`
	Action     string    `gorm:"column:action"`
	Resource   string    `gorm:"column:resource"`
	Outcome    string    `gorm:"column:outcome"`
	RequestID  string    `gorm:"column:request_id"`
	RemoteAddr string    `gorm:"column:remote_addr"`
	Details    string    `gorm:"column:details"` // canonical JSON, verbatim
}

func (auditPendingRow) TableName() string { return "audit_pending" }

// auditLeaseRow is the audit sequencer's lease (migration 0070).
type auditLeaseRow struct {
	ID        int    `gorm:"column:id;primaryKey;autoIncrement:false"`
	Holder    string `gorm:"column:holder"`
	ExpiresUS int64  `gorm:"column:expires_us"` // Unix microseconds
}

func (auditLeaseRow) TableName() string { return "audit_sequencer" }

// QueueAudit records e in the caller's transaction (or in one of its own)
// without ordering it: it inserts the normalised event into audit_pending,
// taking no lock that other changes take, and SequenceAudit chains it after
// the transaction commits. If the transaction rolls back, so does the
// record.
func (s *Store) QueueAudit(ctx context.Context, e audit.Event) error {
	e.Time = s.orNow(e.Time)
	e, err := e.Normalize()
	if err != nil {
		return modelkeep.Errorf(modelkeep.ErrInvalid, "%v", err)
	}
	row := auditPendingRow{Time: e.Time, Actor: e.Actor, Action: e.Action, Resource: e.Resource, Outcome: e.Outcome,
		RequestID: e.RequestID, RemoteAddr: e.RemoteAddr, Details: string(e.Details)}
	s.noteChange(e)
	if !s.inTx {
		// An event of its own (a download, a refusal): written with the
		// others arriving at the same moment (auditBatcher).
		if err := s.queueAuditBatched(ctx, row); err != nil {
			return dbErr("queue audit event", err)
		}
		s.signalAuditQueued()
		return nil
	}
	s.txAudit.add(row) // written by inTxStore just before the commit
	return nil
}

// txAuditRows holds the events a transaction queued until inTxStore
// writes them, all in one INSERT just before the commit: a transaction
// that records many changes (creates of versions sharing a transaction,
// store/versions_batch.go) pays one round trip for their events, not one
// each. Nothing reads a transaction's queued events back before it
// commits.
type txAuditRows struct {
	mu    sync.Mutex
	rows  []auditPendingRow
	wrote bool // rows were written (the sequencer is signalled after the commit)
}

func (q *txAuditRows) add(row auditPendingRow) {
	q.mu.Lock()
	q.rows = append(q.rows, row)
	q.mu.Unlock()
}

// write inserts the rows held, if any, through db (the transaction). It
// may run more than once in a transaction (a shared one writes its events
// before inTxStore does); written tells whether any of them wrote rows.
func (q *txAuditRows) write(db *gorm.DB) error {
	q.mu.Lock()
	rows := q.rows
	q.rows = nil
	q.wrote = q.wrote || len(rows) > 0
	q.mu.Unlock()
	if len(rows) == 0 {
		return nil
	}
	if err := db.CreateInBatches(rows, maxAuditBatch).Error; err != nil {
		return dbErr("queue audit events", err)
	}
	return nil
}

// written reports whether the transaction wrote events.
func (q *txAuditRows) written() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.wrote
}

// AuditQueued signals, without blocking the writer, that audit events were
// queued and committed through this store: the sequencer (auditseq) chains
// them at once rather than at its next poll. Commits of other processes
// are not signalled here; the sequencer's poll finds those.
func (s *Store) AuditQueued() <-chan struct{} { return s.auditQueued }

func (s *Store) signalAuditQueued() {
	select {
	case s.auditQueued <- struct{}{}:
	default: // a signal is waiting already
	}
}

// PendingAudit counts the committed records that are not chained yet.
func (s *Store) PendingAudit(ctx context.Context) (int64, error) {
	var n int64
	if err := s.db.WithContext(ctx).Model(&auditPendingRow{}).Count(&n).Error; err != nil {
		return 0, dbErr("count pending audit events", err)
	}
	return n, nil
}

// SequenceAudit chains up to limit committed records of audit_pending, in
// the order of their ids among those it sees, and returns how many. In one
// transaction it locks the audit_head row (as AppendAudit does, so passes
// and synchronous appends serialise), reads the pending records visible
// now, inserts them into audit_events with consecutive seqs after the head,
// deletes exactly those pending rows and moves the head by compare-and-swap.
//
// Nothing is skipped and nothing chained twice, whatever the order in which
// concurrent changes commit: a record whose id is lower than one already
// chained but that committed later is simply seen by a later pass (no
// high-water mark on ids is kept), and a record leaves audit_pending in the
// transaction that chains it. A pass that dies before its commit (a crash,
// a lost connection, a cancelled context) leaves no trace: the next pass,
// in this process or another, starts from the same head and the same
// pending rows. Outside a transaction only: in one, the head lock would be
// held until the caller commits.
func (s *Store) SequenceAudit(ctx context.Context, limit int) (int, error) {
	// A cheap look first, without locks: most polls find nothing.
	var ids []int64
	if err := s.db.WithContext(ctx).Model(&auditPendingRow{}).Limit(1).Pluck("id", &ids).Error; err != nil {
		return 0, dbErr("look for pending audit events", err)
	}
	if len(ids) == 0 {
		return 0, nil
	}
	var n int
	err := s.inTxStore(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		var head auditHeadRow
		err := db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).Where("id = ?", 1).Take(&head).Error
		if err != nil {
			return dbErr("sequence audit events: read chain head", err)
		}
		// At READ COMMITTED (MySQL) or under SQLite's write lock this reads
		// the records committed by now, whatever their ids.
		var pending []auditPendingRow
		if err := db.Order("id").Limit(limit).Find(&pending).Error; err != nil {
			return dbErr("sequence audit events: read pending", err)
		}
		if len(pending) == 0 {
			return nil
		}
		rows := make([]auditEventRow, len(pending))
		ids := make([]int64, len(pending))
		moved := head
		for i, p := range pending {
			e := audit.Event{Seq: head.Seq + int64(i) + 1, Time: p.Time.UTC(), Actor: p.Actor, Action: p.Action,
				Resource: p.Resource, Outcome: p.Outcome, RequestID: p.RequestID, RemoteAddr: p.RemoteAddr,
				Details: []byte(p.Details), PrevHash: moved.Hash}
			e.Hash = e.ComputeHash()
			rows[i] = auditEventRow{Seq: e.Seq, Time: e.Time, Actor: e.Actor, Action: e.Action, Resource: e.Resource,
				Outcome: e.Outcome, RequestID: e.RequestID, RemoteAddr: e.RemoteAddr, Details: p.Details,
				PrevHash: e.PrevHash, Hash: e.Hash}
			ids[i] = p.ID
			moved = moved.after(e.Seq, e.Hash, e.Time)
		}
		// Small multi-row inserts: the SQLite driver binds parameters in
		// time quadratic in their number per statement.
		if err := db.CreateInBatches(rows, 50).Error; err != nil {
			return dbErr("sequence audit events", err)
		}
		res := db.Where("id IN ?", ids).Delete(&auditPendingRow{})
		if res.Error != nil {
			return dbErr("sequence audit events: remove from pending", res.Error)
		}
		if res.RowsAffected != int64(len(ids)) {
			// Another pass took some of them: impossible while the head lock
			// holds; refuse rather than chain a record twice.
			return modelkeep.Errorf(modelkeep.ErrConflict, "sequence audit events: pending records vanished; try again")
		}
		if s.sequenceHook != nil {
			if err := s.sequenceHook(ctx, len(rows)); err != nil {
				return err
			}
		}
		res = db.Model(&auditHeadRow{}).Where("id = ? AND seq = ?", 1, head.Seq).Updates(moved.moveTo())
		if res.Error != nil {
			return dbErr("sequence audit events: move chain head", res.Error)
		}
		if res.RowsAffected == 0 {
			return modelkeep.Errorf(modelkeep.ErrConflict, "sequence audit events: the chain head moved; try again")
		}
		n = len(rows)
		return nil
	})
	if err != nil {
		return 0, err
	}
	return n, nil
}

// AcquireAuditLease takes or renews the audit sequencer's lease for holder
// until ttl from the store's clock, when the lease is free, expired or
// holder's already; it reports whether holder has it now.
func (s *Store) AcquireAuditLease(ctx context.Context, holder string, ttl time.Duration) (bool, error) {
	if holder == "" {
		return false, errors.New("acquire audit sequencer lease: empty holder")
	}
	now := s.nowUTC()
	res := s.db.WithContext(ctx).Model(&auditLeaseRow{}).
		Where("id = ? AND (holder = ? OR expires_us < ?)", 1, holder, now.UnixMicro()).
		Updates(map[string]any{"holder": holder, "expires_us": now.Add(ttl).UnixMicro()})
	if res.Error != nil {
		return false, dbErr("acquire audit sequencer lease", res.Error)
	}
	return res.RowsAffected == 1, nil
}

// ReleaseAuditLease gives the lease up if holder has it, so that another
// process takes over at once instead of after its expiry.
func (s *Store) ReleaseAuditLease(ctx context.Context, holder string) error {
	err := s.db.WithContext(ctx).Model(&auditLeaseRow{}).Where("id = ? AND holder = ?", 1, holder).
		Updates(map[string]any{"holder": "", "expires_us": 0}).Error
	return dbErr("release audit sequencer lease", err)
}
