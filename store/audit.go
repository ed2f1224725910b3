package store

import (
	"context"
	"encoding/json"
	"strings"
	"unicode/utf8"

	"gorm.io/gorm/clause"

	"github.com/modelkeep/modelkeep"
)

// AppendAudit appends e to the hash chain in the caller's transaction (or in
// one of its own): it locks the audit_head row, so appends serialise and the
// chain stays linear; sets e.Seq to the head's seq + 1 and e.PrevHash to the
// head's hash; normalises e.Time to UTC microseconds (the store's clock when
// zero) before hashing, as it will be stored; sets e.Hash = e.ComputeHash();
// inserts the event and moves the head, as a compare-and-swap on its seq.
// Empty Details are stored as "{}", which is what the hash covers for them.
func (s *Store) AppendAudit(ctx context.Context, e modelkeep.AuditEvent) (modelkeep.AuditEvent, error) {
	if len(e.Details) == 0 {
		e.Details = json.RawMessage("{}")
	}
	if !json.Valid(e.Details) {
		return modelkeep.AuditEvent{}, modelkeep.Errorf(modelkeep.ErrInvalid, "audit event details are not valid JSON")
	}
	e.Time = s.orNow(e.Time)
	err := s.inTxStore(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		var head auditHeadRow
		err := db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("id = ?", 1).Take(&head).Error
		if err != nil {
			return dbErr("append audit event: read chain head", err)
		}
		e.Seq, e.PrevHash = head.Seq+1, head.Hash
		e.Hash = e.ComputeHash()
		row := auditEventRow{
			Seq:        e.Seq,
			Time:       e.Time,
			Actor:      e.Actor,
			Action:     e.Action,
			Resource:   e.Resource,
			Outcome:    e.Outcome,
			RequestID:  e.RequestID,
			RemoteAddr: e.RemoteAddr,
			Details:    string(e.Details),
			PrevHash:   e.PrevHash,
			Hash:       e.Hash,
		}
		if err := db.Create(&row).Error; err != nil {
			return dbErr("append audit event", err)
		}
		res := db.Model(&auditHeadRow{}).Where("id = ? AND seq = ?", 1, head.Seq).
			Updates(map[string]any{"seq": e.Seq, "hash": e.Hash})
		if res.Error != nil {
			return dbErr("append audit event: move chain head", res.Error)
		}
		if res.RowsAffected == 0 {
			// Cannot happen while the lock holds; refuse rather than fork the chain.
			return modelkeep.Errorf(modelkeep.ErrConflict, "append audit event: the chain head moved; try again")
		}
		return nil
	})
	if err != nil {
		return modelkeep.AuditEvent{}, err
	}
	return e, nil
}

// AuditHead returns the seq and hash of the last event of the chain (0 and
// modelkeep.GenesisHash when it is empty). Verifying the chain against it
// shows events removed from its end, which the links alone cannot.
func (s *Store) AuditHead(ctx context.Context) (seq int64, hash string, err error) {
	db := s.db.WithContext(ctx)
	var head auditHeadRow
	if err := db.Where("id = ?", 1).Take(&head).Error; err != nil {
		return 0, "", dbErr("read audit chain head", err)
	}
	return head.Seq, head.Hash, nil
}

// ListAudit returns up to f.Limit events (all when Limit <= 0), newest first,
// with seq below f.BeforeSeq when it is not 0. Actor and Action match
// exactly; Resource exactly, or as a case-sensitive prefix when it ends with
// '*'; Since is inclusive and Until exclusive.
func (s *Store) ListAudit(ctx context.Context, f modelkeep.AuditFilter) ([]modelkeep.AuditEvent, error) {
	db := s.db.WithContext(ctx)
	q := db.Model(&auditEventRow{})
	if f.Actor != "" {
		q = q.Where("actor = ?", f.Actor)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if prefix, ok := strings.CutSuffix(f.Resource, "*"); ok {
		if prefix != "" {
			// LIKE lets MySQL use the resource index; SUBSTR keeps the match
			// case-sensitive on SQLite, whose LIKE ignores ASCII case.
			q = q.Where("resource LIKE ? ESCAPE '!' AND SUBSTR(resource, 1, ?) = ?",
				escapeLike(prefix)+"%", utf8.RuneCountInString(prefix), prefix)
		}
	} else if f.Resource != "" {
		q = q.Where("resource = ?", f.Resource)
	}
	if !f.Since.IsZero() {
		q = q.Where("time >= ?", utc(f.Since))
	}
	if !f.Until.IsZero() {
		q = q.Where("time < ?", utc(f.Until))
	}
	if f.BeforeSeq != 0 {
		q = q.Where("seq < ?", f.BeforeSeq)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	var rows []auditEventRow
	if err := q.Order("seq DESC").Find(&rows).Error; err != nil {
		return nil, dbErr("list audit events", err)
	}
	out := make([]modelkeep.AuditEvent, len(rows))
	for i, r := range rows {
		out[i] = toAuditEvent(r)
	}
	return out, nil
}
