package audit

import (
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
)

// Encoder writes an export's records in order: the header, the prune
// anchor if any, the events with their checkpoints, the seal; then Flush.
type Encoder interface {
	Header(Header) error
	Event(Event) error
	Checkpoint(Checkpoint) error
	Seal(Seal) error
	Flush() error
}

// NewEncoder returns the encoder of format (FormatJSONL or FormatCSV)
// writing to w.
func NewEncoder(w io.Writer, format string) (Encoder, error) {
	switch format {
	case FormatJSONL:
		return &jsonlEncoder{w: w}, nil
	case FormatCSV:
		return newCSVEncoder(w), nil
	}
	return nil, fmt.Errorf("export format %q: want %s or %s", format, FormatJSONL, FormatCSV)
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

func (j *jsonlEncoder) Header(h Header) error { return j.line("header", h) }

func (j *jsonlEncoder) Checkpoint(c Checkpoint) error {
	return j.line("checkpoint", toCheckpointJSON(c))
}

func (j *jsonlEncoder) Seal(s Seal) error {
	return j.line("end", sealJSON{FirstSeq: s.FirstSeq, LastSeq: s.LastSeq, Events: s.Events, Head: s.Head,
		Time: FormatTime(s.Time), KeyID: s.KeyID, Signature: base64.StdEncoding.EncodeToString(s.Signature)})
}

func (j *jsonlEncoder) Event(e Event) error {
	b := append(j.buf[:0], `{"seq":`...)
	b = strconv.AppendInt(b, e.Seq, 10)
	b = append(b, `,"time":"`...)
	b = e.Time.UTC().AppendFormat(b, TimeFormat)
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

func (j *jsonlEncoder) Flush() error { return nil }

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

func (c *csvEncoder) Header(h Header) error {
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

func (c *csvEncoder) Event(e Event) error {
	return c.write(func(r []string) {
		r[colRecord], r[colSeq], r[colTime] = "event", formatSeq(e.Seq), FormatTime(e.Time)
		r[colActor], r[colAction], r[colResource], r[colOutcome] = e.Actor, e.Action, e.Resource, e.Outcome
		r[colRequestID], r[colRemoteAddr], r[colDetails] = e.RequestID, e.RemoteAddr, string(e.Details)
		r[colPrevHash], r[colHash] = e.PrevHash, e.Hash
	})
}

func (c *csvEncoder) Checkpoint(cp Checkpoint) error {
	j := toCheckpointJSON(cp)
	return c.write(func(r []string) {
		r[colRecord], r[colSeq], r[colTime] = "checkpoint", formatSeq(j.Seq), j.Time
		r[colDetails] = `{"kind":` + string(appendJCSString(nil, j.Kind)) + `}`
		r[colHash], r[colKeyID], r[colSignature] = j.Hash, j.KeyID, j.Signature
	})
}

func (c *csvEncoder) Seal(s Seal) error {
	return c.write(func(r []string) {
		r[colRecord], r[colSeq], r[colTime] = "end", formatSeq(s.LastSeq), FormatTime(s.Time)
		r[colDetails] = fmt.Sprintf(`{"events":%d,"first_seq":%d}`, s.Events, s.FirstSeq)
		r[colHash], r[colKeyID], r[colSignature] = s.Head, s.KeyID, base64.StdEncoding.EncodeToString(s.Signature)
	})
}

func (c *csvEncoder) Flush() error {
	c.w.Flush()
	return c.w.Error()
}

// formatSeq writes a seq for CSV fields and messages.
func formatSeq(n int64) string { return strconv.FormatInt(n, 10) }
