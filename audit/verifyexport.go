package audit

import (
	"bufio"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"time"
)

// ExportVerification is the outcome of verifying an export file.
type ExportVerification struct {
	Verification
	Format     string // FormatJSONL or FormatCSV
	ExportedAt time.Time
	SealKeyID  string
}

// VerifyExport checks an export read from r, trusting the signatures of
// keys: every event's hash and links, no seq missing, inserted or out of
// order, every checkpoint against its event and signature, the prune anchor
// when the export starts after seq 1, and the seal, which must be signed by
// a trusted key and match the events exactly (so a cut file fails). A file
// that is not an export at all is an error; a damaged export is a result
// with OK false and the first broken seq.
func VerifyExport(r io.Reader, keys Keyring) (ExportVerification, error) {
	dec, format, err := newDecoder(bufio.NewReaderSize(r, 1<<16))
	if err != nil {
		return ExportVerification{}, err
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
	v := NewVerifier(keys)
	finish := func() (ExportVerification, error) {
		out.Verification = v.Finish(h.LastSeq, v.prev)
		return out, nil
	}
	started := h.FirstSeq == 1
	if started {
		v.Start(0, GenesisHash)
	}
	for {
		rec, err := dec.next()
		if errors.Is(err, io.EOF) {
			v.Fail(v.next, fmt.Sprintf("the export ends without its signed seal: it was cut after event %d", v.next-1))
			return finish()
		}
		if err != nil {
			var se syntaxError
			if errors.As(err, &se) {
				v.Fail(v.next, fmt.Sprintf("%v (at or after event %d)", err, v.next))
				return finish()
			}
			return out, err
		}
		switch {
		case rec.header != nil:
			v.Fail(v.next, "a second header follows event "+formatSeq(v.next-1))
			return finish()
		case rec.checkpoint != nil && !started:
			// The prune anchor: the checkpoint of the event before the first.
			if rec.checkpoint.Seq != h.FirstSeq-1 {
				v.Fail(1, fmt.Sprintf("the export starts at seq %d without the signed prune anchor of event %d", h.FirstSeq, h.FirstSeq-1))
				return finish()
			}
			if !v.Anchor(*rec.checkpoint, 0) {
				return finish()
			}
			started = true
		case !started:
			v.Fail(1, fmt.Sprintf("the export starts at seq %d without the signed prune anchor of event %d", h.FirstSeq, h.FirstSeq-1))
			return finish()
		case rec.checkpoint != nil:
			if !v.Checkpoint(*rec.checkpoint) {
				return finish()
			}
		case rec.event != nil:
			if !v.Event(*rec.event) {
				return finish()
			}
		case rec.seal != nil:
			s := *rec.seal
			out.ExportedAt, out.SealKeyID = s.Time, s.KeyID
			pub, ok := keys[s.KeyID]
			switch {
			case !ok:
				v.Fail(v.next, "the seal is signed by key "+s.KeyID+", which is not among the trusted public keys")
			case !ed25519.Verify(pub, SealMessage(s.FirstSeq, s.LastSeq, s.Head, s.Time), s.Signature):
				v.Fail(v.next, "the seal's signature does not verify: the export's range or head was changed")
			case s.FirstSeq != h.FirstSeq || s.LastSeq != h.LastSeq || s.Events != max(0, s.LastSeq-s.FirstSeq+1):
				v.Fail(v.next, fmt.Sprintf("the header (%d to %d) does not match the signed seal (%d to %d)", h.FirstSeq, h.LastSeq, s.FirstSeq, s.LastSeq))
			}
			if _, err := dec.next(); !errors.Is(err, io.EOF) {
				v.Fail(v.next, "data follows the seal")
			}
			out.Verification = v.Finish(s.LastSeq, s.Head)
			return out, nil
		}
	}
}
