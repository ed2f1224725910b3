package audit

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// record is one decoded record of an export: exactly one field set.
type record struct {
	header     *Header
	event      *Event
	checkpoint *Checkpoint
	seal       *Seal
}

type decoder interface {
	// next returns the next record, io.EOF at the end, a syntaxError for a
	// malformed record.
	next() (record, error)
}

// syntaxError is a record that cannot be read: damage to report, not a
// failure of the reader.
type syntaxError struct{ msg string }

func (e syntaxError) Error() string { return e.msg }

// newDecoder picks the decoder by the export's first byte: a JSONL export
// starts with its header object, a CSV export with its column names.
func newDecoder(br *bufio.Reader) (decoder, string, error) {
	first, err := br.Peek(1)
	if err != nil {
		return nil, "", fmt.Errorf("read export: %w", err)
	}
	if first[0] == '{' {
		return &jsonlDecoder{r: br}, FormatJSONL, nil
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = len(csvColumns)
	cr.ReuseRecord = true
	return &csvDecoder{r: cr}, FormatCSV, nil
}

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

// decodeStrict decodes raw into v, refusing fields v does not have.
func decodeStrict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (d *jsonlDecoder) next() (record, error) {
	line, err := d.r.ReadBytes('\n')
	if errors.Is(err, io.EOF) && len(line) == 0 {
		return record{}, io.EOF
	}
	if err != nil && !errors.Is(err, io.EOF) {
		return record{}, fmt.Errorf("read export: %w", err)
	}
	d.line++
	bad := func(format string, args ...any) (record, error) {
		return record{}, syntaxError{fmt.Sprintf("line %d: ", d.line) + fmt.Sprintf(format, args...)}
	}
	var probe map[string]json.RawMessage
	if err := json.Unmarshal(line, &probe); err != nil {
		return bad("not a JSON object: %v", err)
	}
	if len(probe) == 1 {
		for k, raw := range probe {
			switch k {
			case "header":
				var h Header
				if err := decodeStrict(raw, &h); err != nil {
					return bad("header: %v", err)
				}
				return record{header: &h}, nil
			case "checkpoint":
				var j checkpointJSON
				if err := decodeStrict(raw, &j); err != nil {
					return bad("checkpoint: %v", err)
				}
				c, err := j.checkpoint()
				if err != nil {
					return bad("checkpoint: %v", err)
				}
				return record{checkpoint: &c}, nil
			case "end":
				var j sealJSON
				if err := decodeStrict(raw, &j); err != nil {
					return bad("seal: %v", err)
				}
				t, err := ParseTime(j.Time)
				if err != nil {
					return bad("seal: %v", err)
				}
				sig, err := base64.StdEncoding.DecodeString(j.Signature)
				if err != nil {
					return bad("seal: signature: %v", err)
				}
				return record{seal: &Seal{FirstSeq: j.FirstSeq, LastSeq: j.LastSeq, Events: j.Events,
					Head: j.Head, Time: t, KeyID: j.KeyID, Signature: sig}}, nil
			}
		}
	}
	var j eventJSON
	if err := decodeStrict(line, &j); err != nil {
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
	return record{event: &e}, nil
}

// decodeEvent builds an event from exported fields, canonicalising details
// as the hash covers them.
func decodeEvent(seq int64, tm, actor, action, resource, outcome, requestID, remoteAddr string,
	details []byte, prevHash, hash string) (Event, error) {
	t, err := ParseTime(tm)
	if err != nil {
		return Event{}, err
	}
	canon, err := CanonicalJSON(details)
	if err != nil {
		return Event{}, fmt.Errorf("details: %w", err)
	}
	return Event{Seq: seq, Time: t, Actor: actor, Action: action, Resource: resource, Outcome: outcome,
		RequestID: requestID, RemoteAddr: remoteAddr, Details: canon, PrevHash: prevHash, Hash: hash}, nil
}

type csvDecoder struct {
	r *csv.Reader
}

func (d *csvDecoder) next() (record, error) {
	row, err := d.r.Read()
	var pe *csv.ParseError
	switch {
	case errors.Is(err, io.EOF):
		return record{}, io.EOF
	case errors.As(err, &pe):
		return record{}, syntaxError{pe.Error()}
	case err != nil:
		return record{}, fmt.Errorf("read export: %w", err)
	}
	line, _ := d.r.FieldPos(0)
	bad := func(format string, args ...any) (record, error) {
		return record{}, syntaxError{fmt.Sprintf("row at line %d: ", line) + fmt.Sprintf(format, args...)}
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
		var h Header
		if err := decodeStrict([]byte(f(colDetails)), &h); err != nil {
			return bad("header: %v", err)
		}
		return record{header: &h}, nil
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
		return record{event: &e}, nil
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
		return record{checkpoint: &c}, nil
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
		t, err := ParseTime(f(colTime))
		if err != nil {
			return bad("seal: %v", err)
		}
		sig, err := base64.StdEncoding.DecodeString(f(colSignature))
		if err != nil {
			return bad("seal: signature: %v", err)
		}
		return record{seal: &Seal{FirstSeq: d.FirstSeq, LastSeq: n, Events: d.Events, Head: f(colHash),
			Time: t, KeyID: f(colKeyID), Signature: sig}}, nil
	}
	return bad("unknown record %q", f(colRecord))
}
