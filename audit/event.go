package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is one entry of the append-only, hash-chained audit log.
type Event struct {
	Seq        int64
	Time       time.Time
	Actor      string
	Action     string // e.g. "model.create", "file.download"
	Resource   string // e.g. "models/fraud-detector/versions/3"
	Outcome    string // OutcomeSuccess or OutcomeDenied
	RequestID  string
	RemoteAddr string
	// Details is RFC 8785 canonical JSON (see CanonicalJSON), as stored and
	// as hashed; never secrets.
	Details  json.RawMessage
	PrevHash string
	Hash     string
}

// Outcomes: an event records a change that happened, or a call that was
// refused (an access denial, an approval its gates refused).
const (
	OutcomeSuccess = "success"
	OutcomeDenied  = "denied"
)

// ActionPrune is the event that records a prune; a chain verifies from a
// pruned start only if it holds this event naming the anchor.
const ActionPrune = "audit.prune"

// GenesisHash is the PrevHash of the first event of a chain.
var GenesisHash = strings.Repeat("0", 64)

// TimeFormat is how an event's time is written wherever it is hashed,
// signed or exported: UTC, always six fractional digits (the precision the
// databases keep), so the text of a time is unique.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

// FormatTime writes t in TimeFormat.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }

// ParseTime reads a time written by FormatTime, and nothing else: a hashed
// time must have exactly one spelling.
func ParseTime(s string) (time.Time, error) {
	t, err := time.Parse(TimeFormat, s)
	if err != nil || t.Format(TimeFormat) != s {
		return time.Time{}, fmt.Errorf("time %q: want UTC with six fractional digits, like 2025-01-02T03:04:05.000000Z", s)
	}
	return t, nil
}

// CanonicalDetails encodes details as RFC 8785 canonical JSON.
func CanonicalDetails(details map[string]any) (json.RawMessage, error) {
	if details == nil {
		return json.RawMessage("{}"), nil
	}
	b, err := json.Marshal(details)
	if err != nil {
		return nil, err
	}
	return CanonicalJSON(b)
}

// Normalize returns e as it is stored and hashed: its strings valid UTF-8
// (an invalid byte becomes U+FFFD, as any JSON reader would read it), its
// time in UTC at microseconds, and its details in RFC 8785 canonical form
// ("{}" when empty). Details that are not JSON are an error. Writers call
// it once, before hashing: the chain hashes exactly what is kept.
func (e Event) Normalize() (Event, error) {
	if len(e.Details) == 0 {
		e.Details = json.RawMessage("{}")
	}
	details, err := CanonicalJSON(e.Details)
	if err != nil {
		return Event{}, fmt.Errorf("audit event details: %w", err)
	}
	e.Details = details
	for _, p := range []*string{&e.Actor, &e.Action, &e.Resource, &e.Outcome, &e.RequestID, &e.RemoteAddr} {
		*p = strings.ToValidUTF8(*p, "\uFFFD")
	}
	e.Time = e.Time.UTC().Truncate(time.Microsecond)
	return e, nil
}

// AppendCanonical appends the canonical encoding of the event, the bytes
// its hash covers: the RFC 8785 (JCS) serialisation of the JSON object
//
//	{"action", "actor", "details", "outcome", "remote_addr", "request_id",
//	 "resource", "seq", "time"}
//
// with seq a number, time in TimeFormat and details the stored JSON
// (canonical already; "{}" when empty). prev_hash and hash are not part of
// it. docs/audit.md §2 specifies it for verifiers written in other
// languages.
func (e Event) AppendCanonical(dst []byte) []byte {
	dst = append(dst, `{"action":`...)
	dst = appendJCSString(dst, e.Action)
	dst = append(dst, `,"actor":`...)
	dst = appendJCSString(dst, e.Actor)
	dst = append(dst, `,"details":`...)
	if len(e.Details) == 0 {
		dst = append(dst, "{}"...)
	} else {
		dst = append(dst, e.Details...)
	}
	dst = append(dst, `,"outcome":`...)
	dst = appendJCSString(dst, e.Outcome)
	dst = append(dst, `,"remote_addr":`...)
	dst = appendJCSString(dst, e.RemoteAddr)
	dst = append(dst, `,"request_id":`...)
	dst = appendJCSString(dst, e.RequestID)
	dst = append(dst, `,"resource":`...)
	dst = appendJCSString(dst, e.Resource)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendInt(dst, e.Seq, 10)
	dst = append(dst, `,"time":"`...)
	dst = e.Time.UTC().AppendFormat(dst, TimeFormat)
	return append(dst, `"}`...)
}

// CanonicalBytes is AppendCanonical into a new slice.
func (e Event) CanonicalBytes() []byte { return e.AppendCanonical(nil) }

// ComputeHash returns the event's chain hash: lowercase hex of
// SHA-256(PrevHash || CanonicalBytes()), PrevHash being the 64 ASCII hex
// digits of the previous event's hash (GenesisHash for the first event).
func (e Event) ComputeHash() string {
	var h chainHasher
	return h.hash(e)
}

// chainHasher computes event hashes reusing one buffer: verification hashes
// hundreds of thousands of events a second.
type chainHasher struct{ buf []byte }

func (h *chainHasher) hash(e Event) string {
	h.buf = append(h.buf[:0], e.PrevHash...)
	h.buf = e.AppendCanonical(h.buf)
	sum := sha256.Sum256(h.buf)
	return hex.EncodeToString(sum[:])
}
