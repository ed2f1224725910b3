package modelkeep

import (
	"context"
	"time"

	"github.com/modelkeep/modelkeep/audit"
)

// AuditStore is what the audit log needs from the metadata store beyond
// MetaStore's AppendAudit and ListAudit: reading the chain in order, its
// head, and the signed checkpoints. MetaStore embeds it.
//
// Apart from PruneAudit, nothing here changes or removes an event: the
// application's database user needs only INSERT and SELECT on the audit
// tables (see docs/audit.md).
type AuditStore interface {
	// AuditHead returns the seq and hash of the last event of the chain (0
	// and audit.GenesisHash when nothing was ever appended). It never goes back,
	// even when events are pruned.
	AuditHead(ctx context.Context) (seq int64, hash string, err error)
	// AuditSeqRange returns the smallest stored seq (0 when no event is
	// stored) and the smallest seq of an event with a time at or after t
	// (0 when there is none).
	AuditSeqRange(ctx context.Context, t time.Time) (first, firstAtOrAfter int64, err error)
	// GetAuditEvent reads one event; ErrNotFound when it is not stored.
	GetAuditEvent(ctx context.Context, seq int64) (audit.Event, error)
	// QueryAudit returns up to q.Limit events matching q, ordered by seq.
	QueryAudit(ctx context.Context, q AuditQuery) ([]audit.Event, error)
	// ScanAudit calls fn for every stored event with from <= seq <= to, in
	// seq order, reading in batches so that memory stays constant however
	// long the chain. fn runs with no database connection held; its error
	// stops the scan and is returned as is.
	ScanAudit(ctx context.Context, from, to int64, fn func(audit.Event) error) error

	// AddAuditCheckpoint stores c unless a checkpoint of the same seq
	// exists; it returns the stored one and whether it is c.
	AddAuditCheckpoint(ctx context.Context, c audit.Checkpoint) (audit.Checkpoint, bool, error)
	// LastAuditCheckpoint returns the checkpoint with the greatest seq at or
	// below maxSeq (math.MaxInt64 for any), optionally only of one kind (""
	// for any); ErrNotFound when there is none.
	LastAuditCheckpoint(ctx context.Context, maxSeq int64, kind string) (audit.Checkpoint, error)
	// ListAuditCheckpoints returns up to limit checkpoints, newest first,
	// with seq below beforeSeq when it is not 0.
	ListAuditCheckpoints(ctx context.Context, beforeSeq int64, limit int) ([]audit.Checkpoint, error)
	// AuditCheckpointsBetween returns up to limit checkpoints with from <=
	// seq <= to, oldest first.
	AuditCheckpointsBetween(ctx context.Context, from, to int64, limit int) ([]audit.Checkpoint, error)

	// PruneAudit deletes the events with seq <= throughSeq and the
	// checkpoints below it, returning how many events it deleted. It is the
	// one method that removes audit rows and needs the DELETE privilege;
	// only Service.PruneAudit calls it, after anchoring the chain.
	PruneAudit(ctx context.Context, throughSeq int64) (int64, error)
}

// AuditQuery selects audit events in QueryAudit.
type AuditQuery struct {
	Actor    string
	Action   string
	Resource string // exact, or a prefix when it ends with '*'
	Outcome  string
	Since    time.Time // inclusive
	Until    time.Time // exclusive
	// Keyset: seq above AfterSeq / below BeforeSeq when not 0.
	AfterSeq  int64
	BeforeSeq int64
	// Ascending orders by seq from the oldest; the default is newest first.
	Ascending bool
	Limit     int // all when <= 0
}
