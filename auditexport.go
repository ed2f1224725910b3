package modelkeep

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/modelkeep/modelkeep/audit"
)

// AuditExport is an export about to be streamed: its range is fixed and
// sealed when it is made. The format is package audit's (docs/audit.md §4).
type AuditExport struct {
	meta   AuditStore
	format string
	header audit.Header
	anchor *audit.Checkpoint
	seal   audit.Seal
	// Pending is how many recorded events were not chained yet when the
	// export was made: they come after its range.
	Pending int64
}

// ExportAudit prepares an export of the whole retained chain, up to the
// head at this moment, and records it in the log (the event lands after
// the exported range). Stream it with WriteTo.
func (l *AuditLog) ExportAudit(ctx context.Context, format string) (*AuditExport, error) {
	if err := l.requireWholeLog(ctx, "exportAudit"); err != nil {
		return nil, err
	}
	switch format {
	case "":
		format = audit.FormatJSONL
	case audit.FormatJSONL, audit.FormatCSV:
	default:
		return nil, Errorf(ErrInvalid, "format %q: want jsonl or csv", format)
	}
	if l.signer == nil {
		return nil, Errorf(ErrPrecondition, "this server has no audit signing key to seal an export")
	}
	pending, err := l.SyncAudit(ctx)
	if err != nil {
		return nil, err
	}
	headSeq, headHash, err := l.store.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	first, _, err := l.store.AuditSeqRange(ctx, time.Time{})
	if err != nil {
		return nil, err
	}
	if first == 0 {
		first = headSeq + 1 // nothing stored: an empty range
	}
	x := &AuditExport{meta: l.store, format: format, Pending: pending}
	if first > 1 {
		a, err := l.store.LastAuditCheckpoint(ctx, first-1, "")
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if err == nil && a.Seq == first-1 {
			x.anchor = &a
		}
	}
	now := l.clock()
	x.seal = l.signer.Seal(first, headSeq, headHash, now)
	x.header = audit.NewHeader(first, headSeq, now, l.signer)
	err = l.recordNow(ctx, l.store, ActionAuditExport, auditResource, map[string]any{
		"format": format, "first_seq": first, "last_seq": headSeq, "head": headHash})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// ContentType is the export's media type.
func (x *AuditExport) ContentType() string { return audit.ContentType(x.format) }

// FileName is a name for the export file.
func (x *AuditExport) FileName() string {
	return fmt.Sprintf("modelkeep-audit-%d-%d.%s", x.seal.FirstSeq, x.seal.LastSeq, x.format)
}

// WriteTo streams the export to w, reading the chain in batches: memory
// stays constant whatever its length. Events are written as stored; a
// damaged chain is exported as it is, for verification to point at.
func (x *AuditExport) WriteTo(ctx context.Context, w io.Writer) error {
	enc, err := audit.NewEncoder(w, x.format)
	if err != nil {
		return err
	}
	if err := enc.Header(x.header); err != nil {
		return err
	}
	if x.anchor != nil {
		if err := enc.Checkpoint(*x.anchor); err != nil {
			return err
		}
	}
	var werr error
	err = scanChain(ctx, x.meta, x.seal.FirstSeq, x.seal.LastSeq,
		func(e audit.Event) bool { werr = enc.Event(e); return werr == nil },
		func(c audit.Checkpoint) bool { werr = enc.Checkpoint(c); return werr == nil })
	if werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if err := enc.Seal(x.seal); err != nil {
		return err
	}
	return enc.Flush()
}
