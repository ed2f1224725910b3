package store

import (
	"context"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/modelkeep/modelkeep/audit"

	gomysql "github.com/go-sql-driver/mysql"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/modelkeep/modelkeep"
)

// auditScanBatch is how many events ScanAudit reads per query: about half a
// megabyte of rows, so the few batches in flight keep an export's memory
// flat, and still few enough round trips to verify hundreds of thousands of
// events a second.
const auditScanBatch = 1000

// auditEventColumns are the columns ScanAudit reads, in scan order.
const auditEventColumns = "seq, time, actor, action, resource, outcome, request_id, remote_addr, details, prev_hash, hash"

// AppendAudit appends e to the hash chain in the caller's transaction (or in
// one of its own): it locks the audit_head row, so appends serialise and the
// chain stays linear, also across processes sharing the database; sets
// e.Seq to the head's seq + 1 and e.PrevHash to the head's hash; normalises
// the event to what will be stored (audit.Event.Normalize; the store's clock
// when the time is zero) before hashing it; sets e.Hash = e.ComputeHash();
// inserts the event and moves the head, as a compare-and-swap on its seq.
func (s *Store) AppendAudit(ctx context.Context, e audit.Event) (audit.Event, error) {
	e.Time = s.orNow(e.Time)
	e, err := e.Normalize()
	if err != nil {
		return audit.Event{}, modelkeep.Errorf(modelkeep.ErrInvalid, "%v", err)
	}
	err = s.inTxStore(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		var head auditHeadRow
		err := db.Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("id = ?", 1).Take(&head).Error
		if err != nil {
			return dbErr("append audit event: read chain head", err)
		}
		e.Seq, e.PrevHash = head.Seq+1, head.Hash
		e.Hash = e.ComputeHash()
		tx.noteChange(e)
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
			Updates(head.after(e.Seq, e.Hash, e.Time).moveTo())
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
		return audit.Event{}, err
	}
	return e, nil
}

// AuditHead returns the seq and hash of the last event of the chain (0 and
// audit.GenesisHash when it is empty). Verifying the chain against it
// shows events removed from its end, which the links alone cannot.
func (s *Store) AuditHead(ctx context.Context) (seq int64, hash string, err error) {
	db := s.db.WithContext(ctx)
	var head auditHeadRow
	if err := db.Where("id = ?", 1).Take(&head).Error; err != nil {
		return 0, "", dbErr("read audit chain head", err)
	}
	return head.Seq, head.Hash, nil
}

// AuditSeqRange returns the smallest stored seq and the smallest seq of an
// event at or after t (0 for none).
func (s *Store) AuditSeqRange(ctx context.Context, t time.Time) (first, firstAtOrAfter int64, err error) {
	db := s.db.WithContext(ctx)
	var n sql.NullInt64
	if err := db.Model(&auditEventRow{}).Select("MIN(seq)").Scan(&n).Error; err != nil {
		return 0, 0, dbErr("read the first audit event", err)
	}
	first = n.Int64
	if t.IsZero() {
		return first, first, nil
	}
	n = sql.NullInt64{}
	if err := db.Model(&auditEventRow{}).Where("time >= ?", utc(t)).Select("MIN(seq)").Scan(&n).Error; err != nil {
		return 0, 0, dbErr("read the first audit event after a time", err)
	}
	return first, n.Int64, nil
}

// GetAuditEvent reads the event seq.
func (s *Store) GetAuditEvent(ctx context.Context, seq int64) (audit.Event, error) {
	db := s.db.WithContext(ctx)
	var r auditEventRow
	if err := db.Where("seq = ?", seq).Take(&r).Error; err != nil {
		return audit.Event{}, notFound("read audit event", err, "audit event %d not found", seq)
	}
	return toAuditEvent(r), nil
}

// QueryAudit returns up to q.Limit events (all when Limit <= 0) in seq
// order, newest first unless q.Ascending. Actor, Action and Outcome match
// exactly; Resource exactly, or as a case-sensitive prefix when it ends
// with '*'; Since is inclusive and Until exclusive.
//
// A time range is also turned into the range of seqs that holds all its
// events (auditTimeBounds), so that the query reads the events of the range
// in seq order, by the primary key or an index ending in seq, instead of
// scanning the log from its end or sorting every event of the range. The
// bounds rest on the head's max_lag_us; if an append raised it meanwhile,
// the query runs again with the new bounds. (An event whose time was edited
// in the database afterwards, which verification reports, may fall outside
// them.)
func (s *Store) QueryAudit(ctx context.Context, f modelkeep.AuditQuery) ([]audit.Event, error) {
	if f.Since.IsZero() && f.Until.IsZero() {
		return s.queryAudit(ctx, f, auditSeqBounds{})
	}
	for attempt := 0; ; attempt++ {
		if attempt == 3 {
			// The lag keeps rising under us: query without the bounds.
			return s.queryAudit(ctx, f, auditSeqBounds{})
		}
		b, err := s.auditTimeBounds(ctx, f.Since, f.Until)
		if err != nil {
			return nil, err
		}
		events, err := s.queryAudit(ctx, f, b)
		if err != nil || b.before == 0 {
			return events, err // the lower bound holds whatever is appended later
		}
		_, lag, err := s.auditHeadLag(ctx)
		if err != nil {
			return nil, err
		}
		if lag == b.lagUS {
			return events, nil
		}
	}
}

// auditSeqBounds restricts a query to after < seq < before (0: no bound).
type auditSeqBounds struct {
	after, before int64
	lagUS         int64 // the head's max_lag_us they were computed with
}

// auditHeadLag reads the head's seq and max_lag_us.
func (s *Store) auditHeadLag(ctx context.Context) (seq, lagUS int64, err error) {
	var head auditHeadRow
	if err := s.db.WithContext(ctx).Where("id = ?", 1).Take(&head).Error; err != nil {
		return 0, 0, dbErr("read audit chain head", err)
	}
	return head.Seq, head.MaxLagUS, nil
}

// auditTimeBounds returns seqs between which lie all events with since <=
// time < until (a zero time: no bound on that side), found with two reads
// of the time index. No event's time precedes that of an earlier event by
// more than the head's max_lag_us, L, so:
//   - if event k has time < since-L, every event before k has time <
//     since: the range's events come after k. k is the event the time index
//     holds last before since-L.
//   - if event i has time >= until+L, every event after i has time >=
//     until: the range's events come before i, the first event in the time
//     index at or after until+L.
//
// Both events are sought among those up to the head's seq as read with L,
// which L covers. Events appended afterwards are covered only if they did
// not raise L: QueryAudit checks that for the upper bound (the lower one
// bounds events before k, which are all covered).
func (s *Store) auditTimeBounds(ctx context.Context, since, until time.Time) (auditSeqBounds, error) {
	head, lagUS, err := s.auditHeadLag(ctx)
	if err != nil {
		return auditSeqBounds{}, err
	}
	b := auditSeqBounds{lagUS: lagUS}
	lag := time.Duration(lagUS) * time.Microsecond
	db := s.db.WithContext(ctx)
	var seqs []int64
	if !since.IsZero() {
		err := db.Model(&auditEventRow{}).Where("time < ? AND seq <= ?", utc(since.Add(-lag)), head).
			Order("time DESC, seq DESC").Limit(1).Pluck("seq", &seqs).Error
		if err != nil {
			return auditSeqBounds{}, dbErr("bound audit events by time", err)
		}
		if len(seqs) > 0 {
			b.after = seqs[0]
		}
	}
	if !until.IsZero() {
		seqs = seqs[:0]
		err := db.Model(&auditEventRow{}).Where("time >= ? AND seq <= ?", utc(until.Add(lag)), head).
			Order("time, seq").Limit(1).Pluck("seq", &seqs).Error
		if err != nil {
			return auditSeqBounds{}, dbErr("bound audit events by time", err)
		}
		if len(seqs) > 0 {
			b.before = seqs[0]
		}
	}
	return b, nil
}

func (s *Store) queryAudit(ctx context.Context, f modelkeep.AuditQuery, b auditSeqBounds) ([]audit.Event, error) {
	db := s.db.WithContext(ctx)
	q := db.Model(&auditEventRow{})
	// On MySQL an exact match is written as the closed range col >= v AND
	// col <= v (the same rows, also under PAD SPACE collations), and the
	// page is ordered by the matched columns of one index before seq (the
	// same order: they are constant), so that MariaDB reads that index's
	// range (col = v, seq within the page's bounds) in order and stops
	// after a page. Given col = v it may read the index by ref instead,
	// from the newest event of v back, row by row down to the page asked
	// for (a busy actor's page in the middle of the log read 274,000 rows);
	// given only the range, it sorts all the rows in it. SQLite uses the
	// rowid bounds and the order of its indexes with col = v.
	var lead []string // the columns ordering the page before seq (MySQL)
	eq := func(col, v string) {
		if s.dialect != dialectMySQL {
			q = q.Where(col+" = ?", v)
			return
		}
		q = q.Where(col+" >= ? AND "+col+" <= ?", v, v)
		// One index's columns: (actor, action), else the first matched.
		if len(lead) == 0 || len(lead) == 1 && lead[0] == "actor" && col == "action" {
			lead = append(lead, col)
		}
	}
	if f.Actor != "" {
		eq("actor", f.Actor)
	}
	if f.Action != "" {
		eq("action", f.Action)
	}
	if prefix, ok := strings.CutSuffix(f.Resource, "*"); ok {
		if prefix != "" {
			// LIKE lets MySQL use the resource index; SUBSTR keeps the match
			// case-sensitive on SQLite, whose LIKE ignores ASCII case.
			q = q.Where("resource LIKE ? ESCAPE '!' AND SUBSTR(resource, 1, ?) = ?",
				escapeLike(prefix)+"%", utf8.RuneCountInString(prefix), prefix)
			// Every resource under a model's prefix has the model's root:
			// its events in seq order, from the resource_root index.
			if root, ok := resourceRoot(prefix); ok {
				eq("resource_root", root)
			}
		}
	} else if f.Resource != "" {
		q = q.Where("resource = ?", f.Resource)
	}
	if f.Outcome != "" {
		eq("outcome", f.Outcome)
	}
	if !f.Since.IsZero() {
		q = q.Where("time >= ?", utc(f.Since))
	}
	if !f.Until.IsZero() {
		q = q.Where("time < ?", utc(f.Until))
	}
	after, before := max(f.AfterSeq, b.after), f.BeforeSeq
	if b.before != 0 && (before == 0 || b.before < before) {
		before = b.before
	}
	if after != 0 {
		q = q.Where("seq > ?", after)
	}
	if before != 0 {
		q = q.Where("seq < ?", before)
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	dir := " DESC"
	if f.Ascending {
		dir = ""
	}
	var order string
	for _, col := range append(lead, "seq") {
		order += col + dir + ", "
	}
	order = strings.TrimSuffix(order, ", ")
	var rows []auditEventRow
	if err := q.Order(order).Find(&rows).Error; err != nil {
		return nil, dbErr("list audit events", err)
	}
	out := make([]audit.Event, len(rows))
	for i, r := range rows {
		out[i] = toAuditEvent(r)
	}
	return out, nil
}

// resourceRoot returns the resource_root (migration 0068) of every resource
// that starts with prefix, when prefix reaches the resource's second '/':
// the text before that '/', cut to 512 characters.
func resourceRoot(prefix string) (string, bool) {
	i := strings.IndexByte(prefix, '/')
	if i < 0 {
		return "", false
	}
	j := strings.IndexByte(prefix[i+1:], '/')
	if j < 0 {
		return "", false
	}
	root := prefix[:i+1+j]
	if utf8.RuneCountInString(root) > 512 {
		root = string([]rune(root)[:512])
	}
	return root, true
}

// auditScanReaders is how many batches ScanAudit reads at once. The
// drivers spend more CPU per row than hashing does, so reading in parallel
// is what lifts verification and export speed.
const auditScanReaders = 2

// ScanAudit calls fn for the events from..to in seq order. It reads them in
// batches of consecutive seqs (auditScanBatch), each with one range query on
// the primary key, and closes a batch's rows before fn sees it: a slow
// consumer (an export to a slow client) holds no connection, and events
// appended meanwhile cannot disturb the order. Outside a transaction (which
// has a single connection) the next batches are read in parallel while fn
// works through the current one; memory stays at a few batches.
func (s *Store) ScanAudit(ctx context.Context, from, to int64, fn func(audit.Event) error) error {
	emit := func(batch []audit.Event) error {
		for _, e := range batch {
			if err := fn(e); err != nil {
				return err
			}
		}
		return nil
	}
	if s.inTx {
		for lo := from; lo <= to; lo += auditScanBatch {
			batch, err := s.readAuditBatch(ctx, lo, min(to, lo+auditScanBatch-1))
			if err != nil {
				return err
			}
			if err := emit(batch); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type result struct {
		events []audit.Event
		err    error
	}
	// One future per batch, queued in seq order; the queue's capacity
	// bounds the reads in flight.
	futures := make(chan chan result, auditScanReaders)
	go func() {
		defer close(futures)
		for lo := from; lo <= to; lo += auditScanBatch {
			f := make(chan result, 1)
			select {
			case futures <- f:
			case <-ctx.Done():
				return
			}
			go func(lo, hi int64) {
				batch, err := s.readAuditBatch(ctx, lo, hi)
				f <- result{batch, err}
			}(lo, min(to, lo+auditScanBatch-1))
		}
	}()
	for f := range futures {
		r := <-f
		if r.err != nil {
			return r.err
		}
		if err := emit(r.events); err != nil {
			return err // the deferred cancel stops the readers
		}
	}
	return ctx.Err()
}

// readAuditBatch reads the events with from <= seq <= to, scanning rows by
// hand: reflection-free, it keeps verification above 200,000 events a second.
func (s *Store) readAuditBatch(ctx context.Context, from, to int64) ([]audit.Event, error) {
	db := s.db.WithContext(ctx)
	rows, err := db.Model(&auditEventRow{}).Select(auditEventColumns).
		Where("seq >= ? AND seq <= ?", from, to).Order("seq").Rows()
	if err != nil {
		return nil, dbErr("read audit events", err)
	}
	defer rows.Close()
	out := make([]audit.Event, 0, to-from+1)
	for rows.Next() {
		var (
			e       audit.Event
			details []byte
		)
		if err := rows.Scan(&e.Seq, &e.Time, &e.Actor, &e.Action, &e.Resource, &e.Outcome, &e.RequestID,
			&e.RemoteAddr, &details, &e.PrevHash, &e.Hash); err != nil {
			return nil, dbErr("read audit events", err)
		}
		e.Time = e.Time.UTC()
		e.Details = details
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("read audit events", err)
	}
	return out, nil
}

// auditCheckpointRow is a signed checkpoint; key and signature in base64.
type auditCheckpointRow struct {
	Seq       int64     `gorm:"column:seq;primaryKey;autoIncrement:false"`
	Hash      string    `gorm:"column:hash"`
	Time      time.Time `gorm:"column:time"`
	Kind      string    `gorm:"column:kind"`
	KeyID     string    `gorm:"column:key_id"`
	PublicKey string    `gorm:"column:public_key"`
	Signature string    `gorm:"column:signature"`
}

func (auditCheckpointRow) TableName() string { return "audit_checkpoints" }

func fromAuditCheckpoint(c audit.Checkpoint) auditCheckpointRow {
	return auditCheckpointRow{
		Seq: c.Seq, Hash: c.Hash, Time: utc(c.Time), Kind: c.Kind, KeyID: c.KeyID,
		PublicKey: base64.StdEncoding.EncodeToString(c.PublicKey),
		Signature: base64.StdEncoding.EncodeToString(c.Signature),
	}
}

func toAuditCheckpoint(r auditCheckpointRow) (audit.Checkpoint, error) {
	pub, err := base64.StdEncoding.DecodeString(r.PublicKey)
	if err != nil {
		return audit.Checkpoint{}, fmt.Errorf("decode public key of audit checkpoint %d: %w", r.Seq, err)
	}
	sig, err := base64.StdEncoding.DecodeString(r.Signature)
	if err != nil {
		return audit.Checkpoint{}, fmt.Errorf("decode signature of audit checkpoint %d: %w", r.Seq, err)
	}
	return audit.Checkpoint{
		Seq: r.Seq, Hash: r.Hash, Time: r.Time.UTC(), Kind: r.Kind, KeyID: r.KeyID, PublicKey: pub, Signature: sig,
	}, nil
}

func toAuditCheckpoints(rows []auditCheckpointRow) ([]audit.Checkpoint, error) {
	out := make([]audit.Checkpoint, 0, len(rows))
	for _, r := range rows {
		c, err := toAuditCheckpoint(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// AddAuditCheckpoint stores c unless a checkpoint of c.Seq exists (two
// instances may sign the same head); it returns the stored checkpoint and
// whether it is c.
func (s *Store) AddAuditCheckpoint(ctx context.Context, c audit.Checkpoint) (audit.Checkpoint, bool, error) {
	row := fromAuditCheckpoint(c)
	db := s.db.WithContext(ctx)
	// A plain insert and its duplicate-key error, not an upsert clause: on
	// MySQL with found-rows reporting an ignored upsert still counts a row.
	// Neither dialect aborts the transaction on this error.
	err := db.Create(&row).Error
	created := err == nil
	if errors.Is(err, gorm.ErrDuplicatedKey) {
		err = db.Where("seq = ?", c.Seq).Take(&row).Error
	}
	if err != nil {
		return audit.Checkpoint{}, false, dbErr("store audit checkpoint", err)
	}
	out, err := toAuditCheckpoint(row)
	return out, created, err
}

// LastAuditCheckpoint returns the checkpoint with the greatest seq at or
// below maxSeq, of kind when it is not "".
func (s *Store) LastAuditCheckpoint(ctx context.Context, maxSeq int64, kind string) (audit.Checkpoint, error) {
	db := s.db.WithContext(ctx)
	q := db.Where("seq <= ?", maxSeq)
	if kind != "" {
		q = q.Where("kind = ?", kind)
	}
	var r auditCheckpointRow
	if err := q.Order("seq DESC").Take(&r).Error; err != nil {
		return audit.Checkpoint{}, notFound("read audit checkpoint", err, "no audit checkpoint")
	}
	return toAuditCheckpoint(r)
}

// ListAuditCheckpoints returns up to limit checkpoints, newest first, below
// beforeSeq when it is not 0.
func (s *Store) ListAuditCheckpoints(ctx context.Context, beforeSeq int64, limit int) ([]audit.Checkpoint, error) {
	db := s.db.WithContext(ctx)
	q := db.Model(&auditCheckpointRow{})
	if beforeSeq != 0 {
		q = q.Where("seq < ?", beforeSeq)
	}
	var rows []auditCheckpointRow
	if err := q.Order("seq DESC").Limit(limit).Find(&rows).Error; err != nil {
		return nil, dbErr("list audit checkpoints", err)
	}
	return toAuditCheckpoints(rows)
}

// AuditCheckpointsBetween returns up to limit checkpoints with from <= seq
// <= to, oldest first.
func (s *Store) AuditCheckpointsBetween(ctx context.Context, from, to int64, limit int) ([]audit.Checkpoint, error) {
	db := s.db.WithContext(ctx)
	var rows []auditCheckpointRow
	err := db.Where("seq >= ? AND seq <= ?", from, to).Order("seq").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, dbErr("list audit checkpoints", err)
	}
	return toAuditCheckpoints(rows)
}

// PruneAudit deletes the events up to throughSeq and the checkpoints below
// it (they name events that are gone; the one at throughSeq is the anchor
// of what remains). It needs DELETE on both tables, which the server's
// database user should not have: a permission error is reported as such.
func (s *Store) PruneAudit(ctx context.Context, throughSeq int64) (int64, error) {
	var deleted int64
	err := s.inTxStore(ctx, func(tx *Store) error {
		db := tx.db.WithContext(ctx)
		res := db.Where("seq <= ?", throughSeq).Delete(&auditEventRow{})
		if res.Error != nil {
			return pruneErr(res.Error)
		}
		deleted = res.RowsAffected
		if err := db.Where("seq < ?", throughSeq).Delete(&auditCheckpointRow{}).Error; err != nil {
			return pruneErr(err)
		}
		return nil
	})
	return deleted, err
}

// pruneErr explains a refused DELETE: the least-privilege database user
// cannot prune, by design.
func pruneErr(err error) error {
	if isAccessDenied(err) {
		return modelkeep.Errorf(modelkeep.ErrForbidden,
			"the database user may not delete audit rows (as intended for the server): run `modelkeep audit prune` with a privileged --database URL")
	}
	return dbErr("prune audit log", err)
}

// isAccessDenied reports MySQL's "command denied" errors (1142 for a table,
// 1143 for a column).
func isAccessDenied(err error) bool {
	var me *gomysql.MySQLError
	return errors.As(err, &me) && (me.Number == 1142 || me.Number == 1143)
}
