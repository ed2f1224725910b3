package modelkeep

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"time"
)

// An export is the whole retained chain in one self-contained file that an
// outside party can verify offline (docs/audit.md specifies the formats):
//
//   - a header: format, hash and canonicalisation, range, the public key;
//   - the prune anchor (a checkpoint of the event before the first), if the
//     chain was pruned;
//   - every event, each stored checkpoint right after the event it covers;
//   - a seal: (first seq, last seq, head hash, time) signed when the export
//     began, so that a cut export, even one cut right after a checkpoint,
//     does not verify.
//
// JSONL has one JSON object per line; CSV has one record per row with a
// "record" column naming the kind.

// Export formats.
const (
	ExportJSONL = "jsonl"
	ExportCSV   = "csv"
)

// ExportFormatName is the "format" of an export's header.
const ExportFormatName = "modelkeep-audit-export"

// csvColumns are the columns of a CSV export, in order.
var csvColumns = []string{"record", "seq", "time", "actor", "action", "resource", "outcome", "request_id",
	"remote_addr", "details", "prev_hash", "hash", "key_id", "signature"}

// exportHeader opens an export.
type exportHeader struct {
	Format           string `json:"format"`
	Version          int    `json:"version"`
	HashAlgorithm    string `json:"hash_algorithm"`
	Canonicalization string `json:"canonicalization"`
	GenesisHash      string `json:"genesis_hash"`
	FirstSeq         int64  `json:"first_seq"`
	LastSeq          int64  `json:"last_seq"`
	ExportedAt       string `json:"exported_at"`
	KeyID            string `json:"key_id"`
	PublicKey        string `json:"public_key"`
	Specification    string `json:"specification"`
}

// exportSeal closes an export: signed ExportSealMessage.
type exportSeal struct {
	FirstSeq  int64
	LastSeq   int64
	Events    int64
	Head      string
	Time      time.Time
	KeyID     string
	Signature []byte
}

// checkpointJSON and sealJSON are the wire forms in exports.
type checkpointJSON struct {
	Seq       int64  `json:"seq"`
	Hash      string `json:"hash"`
	Time      string `json:"time"`
	Kind      string `json:"kind"`
	KeyID     string `json:"key_id"`
	Signature string `json:"signature"`
}

type sealJSON struct {
	FirstSeq  int64  `json:"first_seq"`
	LastSeq   int64  `json:"last_seq"`
	Events    int64  `json:"events"`
	Head      string `json:"head"`
	Time      string `json:"time"`
	KeyID     string `json:"key_id"`
	Signature string `json:"signature"`
}

func toCheckpointJSON(c AuditCheckpoint) checkpointJSON {
	return checkpointJSON{Seq: c.Seq, Hash: c.Hash, Time: FormatAuditTime(c.Time), Kind: c.Kind, KeyID: c.KeyID,
		Signature: base64.StdEncoding.EncodeToString(c.Signature)}
}

func (c checkpointJSON) checkpoint() (AuditCheckpoint, error) {
	t, err := ParseAuditTime(c.Time)
	if err != nil {
		return AuditCheckpoint{}, err
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil {
		return AuditCheckpoint{}, fmt.Errorf("signature: %w", err)
	}
	return AuditCheckpoint{Seq: c.Seq, Hash: c.Hash, Time: t, Kind: c.Kind, KeyID: c.KeyID, Signature: sig}, nil
}

// AuditExport is an export about to be streamed: its range is fixed and
// sealed when it is made.
type AuditExport struct {
	meta   MetaStore
	format string
	header exportHeader
	anchor *AuditCheckpoint
	seal   exportSeal
}

// ExportAudit prepares an export of the whole retained chain, up to the
// head at this moment, and records it in the log (the event lands after
// the exported range). Stream it with WriteTo.
func (s *Service) ExportAudit(ctx context.Context, format string) (*AuditExport, error) {
	if err := s.requireWholeLog(ctx, "exportAudit"); err != nil {
		return nil, err
	}
	switch format {
	case "":
		format = ExportJSONL
	case ExportJSONL, ExportCSV:
	default:
		return nil, Errorf(ErrInvalid, "format %q: want jsonl or csv", format)
	}
	if s.auditSigner == nil {
		return nil, Errorf(ErrPrecondition, "this server has no audit signing key to seal an export")
	}
	headSeq, headHash, err := s.meta.AuditHead(ctx)
	if err != nil {
		return nil, err
	}
	first, _, err := s.meta.AuditSeqRange(ctx, time.Time{})
	if err != nil {
		return nil, err
	}
	if first == 0 {
		first = headSeq + 1 // nothing stored: an empty range
	}
	x := &AuditExport{meta: s.meta, format: format}
	if first > 1 {
		a, err := s.meta.LastAuditCheckpoint(ctx, first-1, "")
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if err == nil && a.Seq == first-1 {
			x.anchor = &a
		}
	}
	now := s.Now()
	x.seal = s.auditSigner.seal(first, headSeq, headHash, now)
	x.header = exportHeader{
		Format: ExportFormatName, Version: 1, HashAlgorithm: "sha256", Canonicalization: "RFC 8785",
		GenesisHash: GenesisHash, FirstSeq: first, LastSeq: headSeq, ExportedAt: FormatAuditTime(now),
		KeyID: s.auditSigner.KeyID(), PublicKey: s.auditSigner.PublicKeyPEM(),
		Specification: "https://github.com/modelkeep/modelkeep/blob/main/docs/audit.md",
	}
	err = s.meta.InTx(ctx, func(tx MetaStore) error {
		return s.audit(ctx, tx, ActionAuditExport, auditResource, map[string]any{
			"format": format, "first_seq": first, "last_seq": headSeq, "head": headHash})
	})
	if err != nil {
		return nil, err
	}
	return x, nil
}

// ContentType is the export's media type.
func (x *AuditExport) ContentType() string {
	if x.format == ExportCSV {
		return "text/csv; charset=utf-8"
	}
	return "application/x-ndjson"
}

// FileName is a name for the export file.
func (x *AuditExport) FileName() string {
	return fmt.Sprintf("modelkeep-audit-%d-%d.%s", x.seal.FirstSeq, x.seal.LastSeq, x.format)
}

// WriteTo streams the export to w, reading the chain in batches: memory
// stays constant whatever its length. Events are written as stored; a
// damaged chain is exported as it is, for verification to point at.
func (x *AuditExport) WriteTo(ctx context.Context, w io.Writer) error {
	var enc exportEncoder
	if x.format == ExportCSV {
		enc = newCSVEncoder(w)
	} else {
		enc = &jsonlEncoder{w: w}
	}
	if err := enc.header(x.header); err != nil {
		return err
	}
	if x.anchor != nil {
		if err := enc.checkpoint(*x.anchor); err != nil {
			return err
		}
	}
	var werr error
	err := scanChain(ctx, x.meta, x.seal.FirstSeq, x.seal.LastSeq,
		func(e AuditEvent) bool { werr = enc.event(e); return werr == nil },
		func(c AuditCheckpoint) bool { werr = enc.checkpoint(c); return werr == nil })
	if werr != nil {
		return werr
	}
	if err != nil {
		return err
	}
	if err := enc.seal(x.seal); err != nil {
		return err
	}
	return enc.flush()
}

type exportEncoder interface {
	header(exportHeader) error
	event(AuditEvent) error
	checkpoint(AuditCheckpoint) error
	seal(exportSeal) error
	flush() error
}

// jsonlEncoder writes JSON Lines. Events are encoded by hand, with the
// strings in their RFC 8785 form: exports are the hot path of a million
// events.
type jsonlEncoder struct {
	w   io.Writer
	buf []byte
}

func (j *jsonlEncoder) line(key string, v any) error {
	b, err := json.Marshal(map[string]any{key: v})
	if err != nil {
		return err
	}
	_, err = j.w.Write(append(b, '\n'))
	return err
}

func (j *jsonlEncoder) header(h exportHeader) error { return j.line("header", h) }

func (j *jsonlEncoder) checkpoint(c AuditCheckpoint) error {
	return j.line("checkpoint", toCheckpointJSON(c))
}

func (j *jsonlEncoder) seal(s exportSeal) error {
	return j.line("end", sealJSON{FirstSeq: s.FirstSeq, LastSeq: s.LastSeq, Events: s.Events, Head: s.Head,
		Time: FormatAuditTime(s.Time), KeyID: s.KeyID, Signature: base64.StdEncoding.EncodeToString(s.Signature)})
}

func (j *jsonlEncoder) event(e AuditEvent) error {
	b := append(j.buf[:0], `{"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"time":"`...)
	b = e.Time.UTC().AppendFormat(b, AuditTimeFormat)
	b = append(b, `","actor":`...)
	b = appendJCSString(b, e.Actor)
	b = append(b, `,"action":`...)
	b = appendJCSString(b, e.Action)
	b = append(b, `,"resource":`...)
	b = appendJCSString(b, e.Resource)
	b = append(b, `,"outcome":`...)
	b = appendJCSString(b, e.Outcome)
	b = append(b, `,"request_id":`...)
	b = appendJCSString(b, e.RequestID)
	b = append(b, `,"remote_addr":`...)
	b = appendJCSString(b, e.RemoteAddr)
	b = append(b, `,"details":`...)
	if len(e.Details) == 0 || !json.Valid(e.Details) {
		// Not JSON (the row was damaged): keep the bytes, as a string, so
		// the line stays readable and verification fails on this event.
		b = appendJCSString(b, string(e.Details))
	} else {
		b = append(b, e.Details...)
	}
	b = append(b, `,"prev_hash":`...)
	b = appendJCSString(b, e.PrevHash)
	b = append(b, `,"hash":`...)
	b = appendJCSString(b, e.Hash)
	b = append(b, "}\n"...)
	j.buf = b
	_, err := j.w.Write(b)
	return err
}

func (j *jsonlEncoder) flush() error { return nil }

// csvEncoder writes CSV (RFC 4180). Any field that a spreadsheet could run
// as a formula (one starting with = + - @ tab or CR) is prefixed with a
// single quote, and so is any field already starting with one; a reader
// drops one leading quote (csvField undoes csvSafe exactly).
type csvEncoder struct {
	w   *csv.Writer
	row []string
}

func newCSVEncoder(w io.Writer) *csvEncoder {
	return &csvEncoder{w: csv.NewWriter(w), row: make([]string, len(csvColumns))}
}

func csvSafe(s string) string {
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r', '\'':
			return "'" + s
		}
	}
	return s
}

func csvField(s string) string {
	if len(s) > 0 && s[0] == '\'' {
		return s[1:]
	}
	return s
}

// write writes one record; set fills the fields it has (the rest stay
// empty). The row is reused: no allocation per event beyond the writer's.
func (c *csvEncoder) write(set func(row []string)) error {
	clear(c.row)
	set(c.row)
	for i, f := range c.row {
		c.row[i] = csvSafe(f)
	}
	return c.w.Write(c.row)
}

// Column indexes of csvColumns.
const (
	colRecord = iota
	colSeq
	colTime
	colActor
	colAction
	colResource
	colOutcome
	colRequestID
	colRemoteAddr
	colDetails
	colPrevHash
	colHash
	colKeyID
	colSignature
)

func (c *csvEncoder) header(h exportHeader) error {
	if err := c.w.Write(csvColumns); err != nil {
		return err
	}
	b, err := json.Marshal(h)
	if err != nil {
		return err
	}
	return c.write(func(r []string) {
		r[colRecord], r[colTime], r[colDetails], r[colKeyID] = "header", h.ExportedAt, string(b), h.KeyID
	})
}

func (c *csvEncoder) event(e AuditEvent) error {
	return c.write(func(r []string) {
		r[colRecord], r[colSeq], r[colTime] = "event", strconvSeq(e.Seq), FormatAuditTime(e.Time)
		r[colActor], r[colAction], r[colResource], r[colOutcome] = e.Actor, e.Action, e.Resource, e.Outcome
		r[colRequestID], r[colRemoteAddr], r[colDetails] = e.RequestID, e.RemoteAddr, string(e.Details)
		r[colPrevHash], r[colHash] = e.PrevHash, e.Hash
	})
}

func (c *csvEncoder) checkpoint(cp AuditCheckpoint) error {
	j := toCheckpointJSON(cp)
	return c.write(func(r []string) {
		r[colRecord], r[colSeq], r[colTime] = "checkpoint", strconvSeq(j.Seq), j.Time
		r[colDetails] = `{"kind":` + string(appendJCSString(nil, j.Kind)) + `}`
		r[colHash], r[colKeyID], r[colSignature] = j.Hash, j.KeyID, j.Signature
	})
}

func (c *csvEncoder) seal(s exportSeal) error {
	return c.write(func(r []string) {
		r[colRecord], r[colSeq], r[colTime] = "end", strconvSeq(s.LastSeq), FormatAuditTime(s.Time)
		r[colDetails] = fmt.Sprintf(`{"events":%d,"first_seq":%d}`, s.Events, s.FirstSeq)
		r[colHash], r[colKeyID], r[colSignature] = s.Head, s.KeyID, base64.StdEncoding.EncodeToString(s.Signature)
	})
}

func (c *csvEncoder) flush() error {
	c.w.Flush()
	return c.w.Error()
}

// ExportVerification is the outcome of verifying an export file.
type ExportVerification struct {
	AuditVerification
	Format     string // jsonl or csv
	ExportedAt time.Time
	SealKeyID  string
}

// VerifyAuditExport checks an export read from r, trusting the signatures
// of keys: every event's hash and links, no seq missing, inserted or out of
// order, every checkpoint against its event and signature, the prune anchor
// when the export starts after seq 1, and the seal, which must be signed by
// a trusted key and match the events exactly (so a cut file fails). A file
// that is not an export at all is an error; a damaged export is a result
// with OK false and the first broken seq.
func VerifyAuditExport(r io.Reader, keys AuditKeyring) (ExportVerification, error) {
	br := bufio.NewReaderSize(r, 1<<16)
	first, err := br.Peek(1)
	if err != nil {
		return ExportVerification{}, fmt.Errorf("read export: %w", err)
	}
	var dec exportDecoder
	format := ExportCSV
	if first[0] == '{' {
		format, dec = ExportJSONL, &jsonlDecoder{r: br}
	} else {
		cr := csv.NewReader(br)
		cr.FieldsPerRecord = len(csvColumns)
		cr.ReuseRecord = true
		dec = &csvDecoder{r: cr}
	}
	out := ExportVerification{Format: format}
	rec, err := dec.next()
	if err != nil {
		return out, fmt.Errorf("read export header: %w", err)
	}
	if rec.header == nil {
		return out, errors.New("not a modelkeep audit export: it does not start with its header")
	}
	h := *rec.header
	if h.Format != ExportFormatName || h.Version != 1 {
		return out, fmt.Errorf("not a modelkeep audit export (version 1): format %q version %d", h.Format, h.Version)
	}
	if h.FirstSeq < 1 || h.LastSeq < h.FirstSeq-1 {
		return out, fmt.Errorf("export header: invalid range %d to %d", h.FirstSeq, h.LastSeq)
	}
	v := newChainVerifier(keys)
	finish := func() (ExportVerification, error) {
		out.AuditVerification = v.finish(h.LastSeq, v.prev)
		return out, nil
	}
	started := h.FirstSeq == 1
	if started {
		v.start(0, GenesisHash)
	}
	for {
		rec, err := dec.next()
		if errors.Is(err, io.EOF) {
			v.fail(v.next, fmt.Sprintf("the export ends without its signed seal: it was cut after event %d", v.next-1))
			return finish()
		}
		if err != nil {
			var se syntaxError
			if errors.As(err, &se) {
				v.fail(v.next, fmt.Sprintf("%v (at or after event %d)", err, v.next))
				return finish()
			}
			return out, err
		}
		switch {
		case rec.header != nil:
			v.fail(v.next, "a second header follows event "+strconvSeq(v.next-1))
			return finish()
		case rec.checkpoint != nil && !started:
			// The prune anchor: the checkpoint of the event before the first.
			if rec.checkpoint.Seq != h.FirstSeq-1 {
				v.fail(1, fmt.Sprintf("the export starts at seq %d without the signed prune anchor of event %d", h.FirstSeq, h.FirstSeq-1))
				return finish()
			}
			if !v.anchor(*rec.checkpoint, 0) {
				return finish()
			}
			started = true
		case !started:
			v.fail(1, fmt.Sprintf("the export starts at seq %d without the signed prune anchor of event %d", h.FirstSeq, h.FirstSeq-1))
			return finish()
		case rec.checkpoint != nil:
			if !v.checkpoint(*rec.checkpoint) {
				return finish()
			}
		case rec.event != nil:
			if !v.event(*rec.event) {
				return finish()
			}
		case rec.seal != nil:
			s := *rec.seal
			out.ExportedAt, out.SealKeyID = s.Time, s.KeyID
			pub, ok := keys[s.KeyID]
			switch {
			case !ok:
				v.fail(v.next, "the seal is signed by key "+s.KeyID+", which is not among the trusted public keys")
			case !ed25519.Verify(pub, ExportSealMessage(s.FirstSeq, s.LastSeq, s.Head, s.Time), s.Signature):
				v.fail(v.next, "the seal's signature does not verify: the export's range or head was changed")
			case s.FirstSeq != h.FirstSeq || s.LastSeq != h.LastSeq || s.Events != max(0, s.LastSeq-s.FirstSeq+1):
				v.fail(v.next, fmt.Sprintf("the header (%d to %d) does not match the signed seal (%d to %d)", h.FirstSeq, h.LastSeq, s.FirstSeq, s.LastSeq))
			}
			if _, err := dec.next(); !errors.Is(err, io.EOF) {
				v.fail(v.next, "data follows the seal")
			}
			out.AuditVerification = v.finish(s.LastSeq, s.Head)
			return out, nil
		}
	}
}

// exportRecord is one decoded record of an export: exactly one field set.
type exportRecord struct {
	header     *exportHeader
	event      *AuditEvent
	checkpoint *AuditCheckpoint
	seal       *exportSeal
}

type exportDecoder interface {
	// next returns the next record, io.EOF at the end, a syntaxError for a
	// malformed record.
	next() (exportRecord, error)
}

// syntaxError is a record that cannot be read: damage to report, not a
// failure of the reader.
type syntaxError struct{ msg string }

func (e syntaxError) Error() string { return e.msg }

type jsonlDecoder struct {
	r    *bufio.Reader
	line int
}

// eventJSON is an event line; pointers tell absent fields from empty ones.
type eventJSON struct {
	Seq        *int64          `json:"seq"`
	Time       *string         `json:"time"`
	Actor      *string         `json:"actor"`
	Action     *string         `json:"action"`
	Resource   *string         `json:"resource"`
	Outcome    *string         `json:"outcome"`
	RequestID  *string         `json:"request_id"`
	RemoteAddr *string         `json:"remote_addr"`
	Details    json.RawMessage `json:"details"`
	PrevHash   *string         `json:"prev_hash"`
	Hash       *string         `json:"hash"`
}

func (d *jsonlDecoder) next() (exportRecord, error) {
	line, err := d.r.ReadBytes('\n')
	if errors.Is(err, io.EOF) && len(line) == 0 {
		return exportRecord{}, io.EOF
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return exportRecord{}, fmt.Errorf("read export: %w", err)
	}
	d.line++
	bad := func(format string, args ...any) (exportRecord, error) {
		return exportRecord{}, syntaxError{fmt.Sprintf("line %d: ", d.line) + fmt.Sprintf(format, args...)}
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(line, &probe); err != nil {
		return bad("not a JSON object: %v", err)
	}
	strict := func(raw []byte, v any) error {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		return dec.Decode(v)
	}
	if len(probe) == 1 {
		for k, raw := range probe {
			switch k {
			case "header":
				var h exportHeader
				if err := strict(raw, &h); err != nil {
					return bad("header: %v", err)
				}
				return exportRecord{header: &h}, nil
			case "checkpoint":
				var j checkpointJSON
				if err := strict(raw, &j); err != nil {
					return bad("checkpoint: %v", err)
				}
				c, err := j.checkpoint()
				if err != nil {
					return bad("checkpoint: %v", err)
				}
				return exportRecord{checkpoint: &c}, nil
			case "end":
				var j sealJSON
				if err := strict(raw, &j); err != nil {
					return bad("seal: %v", err)
				}
				t, err := ParseAuditTime(j.Time)
				if err != nil {
					return bad("seal: %v", err)
				}
				sig, err := base64.StdEncoding.DecodeString(j.Signature)
				if err != nil {
					return bad("seal: signature: %v", err)
				}
				return exportRecord{seal: &exportSeal{FirstSeq: j.FirstSeq, LastSeq: j.LastSeq, Events: j.Events,
					Head: j.Head, Time: t, KeyID: j.KeyID, Signature: sig}}, nil
			}
		}
	}
	var j eventJSON
	if err := strict(line, &j); err != nil {
		return bad("event: %v", err)
	}
	if j.Seq == nil || j.Time == nil || j.Actor == nil || j.Action == nil || j.Resource == nil || j.Outcome == nil ||
		j.RequestID == nil || j.RemoteAddr == nil || j.Details == nil || j.PrevHash == nil || j.Hash == nil {
		return bad("event: a field is missing")
	}
	e, err := decodeEvent(*j.Seq, *j.Time, *j.Actor, *j.Action, *j.Resource, *j.Outcome, *j.RequestID,
		*j.RemoteAddr, j.Details, *j.PrevHash, *j.Hash)
	if err != nil {
		return bad("event %d: %v", *j.Seq, err)
	}
	return exportRecord{event: &e}, nil
}

// decodeEvent builds an event from exported fields, canonicalising details
// as the hash covers them.
func decodeEvent(seq int64, tm, actor, action, resource, outcome, requestID, remoteAddr string,
	details []byte, prevHash, hash string) (AuditEvent, error) {
	t, err := ParseAuditTime(tm)
	if err != nil {
		return AuditEvent{}, err
	}
	canon, err := CanonicalJSON(details)
	if err != nil {
		return AuditEvent{}, fmt.Errorf("details: %w", err)
	}
	return AuditEvent{Seq: seq, Time: t, Actor: actor, Action: action, Resource: resource, Outcome: outcome,
		RequestID: requestID, RemoteAddr: remoteAddr, Details: canon, PrevHash: prevHash, Hash: hash}, nil
}

type csvDecoder struct {
	r *csv.Reader
}

func (d *csvDecoder) next() (exportRecord, error) {
	row, err := d.r.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return exportRecord{}, io.EOF
	case errors.As(err, &pe):
		return exportRecord{}, syntaxError{pe.Error()}
	case err != nil:
		return exportRecord{}, fmt.Errorf("read export: %w", err)
	}
	line, _ := d.r.FieldPos(0)
	bad := func(format string, args ...any) (exportRecord, error) {
		return exportRecord{}, syntaxError{fmt.Sprintf("row at line %d: ", line) + fmt.Sprintf(format, args...)}
	}
	f := func(i int) string { return csvField(row[i]) }
	if row[colRecord] == "record" { // the column names
		return d.next()
	}
	seq := func() (int64, error) {
		n, err := strconv.ParseInt(f(colSeq), 10, 64)
		if err != nil || n < 0 || n == math.MaxInt64 {
			return 0, fmt.Errorf("invalid seq %q", f(colSeq))
		}
		return n, nil
	}
	switch f(colRecord) {
	case "header":
		var h exportHeader
		dec := json.NewDecoder(bytes.NewReader([]byte(f(colDetails))))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&h); err != nil {
			return bad("header: %v", err)
		}
		return exportRecord{header: &h}, nil
	case "event":
		n, err := seq()
		if err != nil {
			return bad("%v", err)
		}
		e, err := decodeEvent(n, f(colTime), f(colActor), f(colAction), f(colResource), f(colOutcome),
			f(colRequestID), f(colRemoteAddr), []byte(f(colDetails)), f(colPrevHash), f(colHash))
		if err != nil {
			return bad("event %d: %v", n, err)
		}
		return exportRecord{event: &e}, nil
	case "checkpoint":
		n, err := seq()
		if err != nil {
			return bad("%v", err)
		}
		var d struct {
			Kind string `json:"kind"`
		}
		if err := json.Unmarshal([]byte(f(colDetails)), &d); err != nil {
			return bad("checkpoint: details: %v", err)
		}
		c, err := checkpointJSON{Seq: n, Hash: f(colHash), Time: f(colTime), Kind: d.Kind, KeyID: f(colKeyID),
			Signature: f(colSignature)}.checkpoint()
		if err != nil {
			return bad("checkpoint: %v", err)
		}
		return exportRecord{checkpoint: &c}, nil
	case "end":
		n, err := seq()
		if err != nil {
			return bad("%v", err)
		}
		var d struct {
			Events   int64 `json:"events"`
			FirstSeq int64 `json:"first_seq"`
		}
		if err := json.Unmarshal([]byte(f(colDetails)), &d); err != nil {
			return bad("seal: details: %v", err)
		}
		t, err := ParseAuditTime(f(colTime))
		if err != nil {
			return bad("seal: %v", err)
		}
		sig, err := base64.StdEncoding.DecodeString(f(colSignature))
		if err != nil {
			return bad("seal: signature: %v", err)
		}
		return exportRecord{seal: &exportSeal{FirstSeq: d.FirstSeq, LastSeq: n, Events: d.Events, Head: f(colHash),
			Time: t, KeyID: f(colKeyID), Signature: sig}}, nil
	}
	return bad("unknown record %q", f(colRecord))
}
