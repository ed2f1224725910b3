package modelkeep

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/modelkeep/modelkeep/audit"
)

// AuditLog holds the audit log's use cases (listing, verifying,
// checkpointing, exporting and pruning it, auditlog.go and
// auditexport.go) and the one way every use case writes to it (this file).
// It needs only the audit part of the store; Service embeds it.
type AuditLog struct {
	store  AuditStore
	signer *audit.Signer // signs checkpoints and exports; nil: neither can be made
	pager  *Pager
	now    func() time.Time
	logger *slog.Logger
	// seq orders queued events; nil when the store cannot queue them, and
	// every event is chained as it is written.
	seq AuditSequencing
}

// AuditLogOptions tune an AuditLog; the zero value is usable.
type AuditLogOptions struct {
	// Signer signs audit checkpoints and exports; without one, neither can
	// be made.
	Signer *audit.Signer
	// Now is the clock (UTC is applied); time.Now when nil.
	Now    func() time.Time
	Logger *slog.Logger
	// Pager signs and checks the page tokens of the log's lists (see
	// ServiceOptions.Pager); without one, a random key.
	Pager *Pager
}

// NewAuditLog wires the audit log's use cases to the store's audit part.
func NewAuditLog(store AuditStore, opts AuditLogOptions) *AuditLog {
	l := &AuditLog{store: store, signer: opts.Signer, pager: opts.Pager, now: opts.Now, logger: opts.Logger}
	l.seq, _ = store.(AuditSequencing)
	if l.pager == nil {
		l.pager = newLocalPager()
	}
	if l.now == nil {
		l.now = time.Now
	}
	if l.logger == nil {
		l.logger = slog.New(slog.DiscardHandler)
	}
	return l
}

// clock is the audit log's time, at the precision the databases keep.
func (l *AuditLog) clock() time.Time { return l.now().UTC().Truncate(time.Microsecond) }

// AuditAppender is where an event goes: the store inside a use case's
// transaction, or the store itself (an append is a transaction of its own).
type AuditAppender interface {
	AppendAudit(ctx context.Context, e audit.Event) (audit.Event, error)
}

// AuditQueue is the optional part of an AuditAppender (found by type
// assertion) that records an event without ordering it: in the caller's
// transaction, taking no lock other changes take; the audit sequencer
// chains it once committed (see AuditSequencing and docs/audit.md §2).
type AuditQueue interface {
	QueueAudit(ctx context.Context, e audit.Event) error
}

// event is the audit event a use case records: who (ctx's actor), from
// which request, what, on what, and the details, which the store brings
// into RFC 8785 form as it stores them (audit.Event.Normalize).
func (l *AuditLog) event(ctx context.Context, outcome, action, resource string, details map[string]any) (audit.Event, error) {
	raw := json.RawMessage("{}")
	if details != nil {
		var err error
		if raw, err = json.Marshal(details); err != nil {
			return audit.Event{}, fmt.Errorf("encode audit details of %s: %w", action, err)
		}
	}
	ri := RequestInfoFrom(ctx)
	return audit.Event{
		Time: l.clock(), Actor: ActorName(ctx), Action: action, Resource: resource, Outcome: outcome,
		RequestID: ri.RequestID, RemoteAddr: ri.RemoteAddr, Details: raw,
	}, nil
}

// append is the one place audit events are written, for changes (outcome
// success), refused approvals and denied calls (outcome denied) alike. It
// queues the event for the sequencer when the store can (the event gets its
// seq shortly after the commit, and 0 is returned), so that changes do not
// serialise on the chain head; with sequenced, or a store that cannot
// queue, it appends to the chain at once, holding the head until the
// transaction commits, and returns the seq.
func (l *AuditLog) append(ctx context.Context, to AuditAppender, sequenced bool, outcome, action, resource string, details map[string]any) (int64, error) {
	e, err := l.event(ctx, outcome, action, resource, details)
	if err != nil {
		return 0, err
	}
	if q, ok := to.(AuditQueue); ok && !sequenced && l.seq != nil {
		if err := q.QueueAudit(ctx, e); err != nil {
			return 0, fmt.Errorf("record audit event %s: %w", action, err)
		}
		return 0, nil
	}
	e, err = to.AppendAudit(ctx, e)
	if err != nil {
		return 0, fmt.Errorf("append audit event %s: %w", action, err)
	}
	return e.Seq, nil
}

// record records the success event of a change in tx, the change's own
// transaction: if the change commits, its event exists, and if it rolls
// back, neither does. The event is chained after the commit (append).
func (l *AuditLog) record(ctx context.Context, tx AuditAppender, action, resource string, details map[string]any) error {
	_, err := l.append(ctx, tx, false, audit.OutcomeSuccess, action, resource, details)
	return err
}

// recordNow is record for the audit log's own events (a checkpoint on
// request, an export, a prune): they are about the chain itself, rare, and
// chained at once, in tx, right after the head they name.
func (l *AuditLog) recordNow(ctx context.Context, tx AuditAppender, action, resource string, details map[string]any) error {
	_, err := l.append(ctx, tx, true, audit.OutcomeSuccess, action, resource, details)
	return err
}

// Record is record for the use cases of other packages (compliance) that
// keep the event's seq as its id: the event is chained at once, in tx, so
// tx holds the chain head until it commits. Use RecordChange when the seq
// is not needed.
func (l *AuditLog) Record(ctx context.Context, tx AuditAppender, action, resource string, details map[string]any) (int64, error) {
	return l.append(ctx, tx, true, audit.OutcomeSuccess, action, resource, details)
}

// RecordChange is record for the use cases of other packages: the event is
// committed with tx and chained by the sequencer after it.
func (l *AuditLog) RecordChange(ctx context.Context, tx AuditAppender, action, resource string, details map[string]any) error {
	_, err := l.append(ctx, tx, false, audit.OutcomeSuccess, action, resource, details)
	return err
}

// recordRefusal records a denied event for a refused call in a transaction
// of its own (the call itself changes nothing). Failing to record it is
// logged, not returned: the caller is refused either way.
func (l *AuditLog) recordRefusal(ctx context.Context, action, resource string, details map[string]any) {
	if _, err := l.append(ctx, l.store, false, audit.OutcomeDenied, action, resource, details); err != nil {
		l.logger.WarnContext(ctx, "record refusal in the audit log", "err", err)
	}
}

// ActionAccessDenied records a call refused for lack of rights (HTTP 403).
const ActionAccessDenied = "access.denied"

// RecordRefusal records a call refused for another reason than rights (a
// gate that failed), with details saying why.
func (l *AuditLog) RecordRefusal(ctx context.Context, action, resource string, details map[string]any) {
	l.recordRefusal(ctx, action, resource, details)
}

// RecordDenied records a call refused for lack of rights: the operation,
// what it was on, and why.
func (l *AuditLog) RecordDenied(ctx context.Context, operation, resource, reason string) {
	l.recordRefusal(ctx, ActionAccessDenied, clipResource(resource), map[string]any{"operation": operation, "reason": reason})
}

// maxAuditResource is the longest resource the audit table keeps (MySQL
// VARCHAR(2048), in characters).
const maxAuditResource = 2048

// clipResource shortens a resource named by a client (the path of a refused
// request may be of any length) to what the audit table keeps, marking the
// cut, so that the refusal is still recorded.
func clipResource(r string) string {
	if utf8.RuneCountInString(r) <= maxAuditResource {
		return r
	}
	runes := []rune(r)
	return string(runes[:maxAuditResource-1]) + "…"
}

// ActorName is the subject of ctx's actor, as audit events and records
// name who did something ("anonymous" without one).
func ActorName(ctx context.Context) string {
	if a, ok := ActorFrom(ctx); ok && a.Subject != "" {
		return a.Subject
	}
	return "anonymous"
}
