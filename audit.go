package modelkeep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// AuditEvent is one entry of the append-only, hash-chained audit log.
type AuditEvent struct {
	Seq        int64
	Time       time.Time
	Actor      string
	Action     string // e.g. "model.create", "file.download"
	Resource   string // e.g. "models/fraud-detector/versions/3"
	Outcome    string // "success" or "denied"
	RequestID  string
	RemoteAddr string
	// Details is canonical JSON (compact, object keys sorted), as stored and
	// as hashed; never secrets.
	Details  json.RawMessage
	PrevHash string
	Hash     string
}

// GenesisHash is the PrevHash of the first event of a chain.
var GenesisHash = strings.Repeat("0", 64)

// CanonicalDetails encodes details as canonical JSON: encoding/json writes
// map keys sorted and compact, so equal values give equal bytes.
func CanonicalDetails(details map[string]any) (json.RawMessage, error) {
	if details == nil {
		return json.RawMessage("{}"), nil
	}
	b, err := json.Marshal(details)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// CanonicalBytes is the encoding of an event that its hash covers: the
// fields joined by "\n" in a fixed order, strings quoted as JSON strings,
// time as RFC 3339 with microseconds in UTC, details as stored.
func (e AuditEvent) CanonicalBytes() []byte {
	var b strings.Builder
	q := func(s string) {
		enc, _ := json.Marshal(s) // marshalling a string cannot fail
		b.Write(enc)
		b.WriteByte('\n')
	}
	b.WriteString(strconv.FormatInt(e.Seq, 10))
	b.WriteByte('\n')
	q(e.Time.UTC().Format("2006-01-02T15:04:05.000000Z"))
	q(e.Actor)
	q(e.Action)
	q(e.Resource)
	q(e.Outcome)
	q(e.RequestID)
	q(e.RemoteAddr)
	details := e.Details
	if len(details) == 0 {
		details = json.RawMessage("{}")
	}
	b.Write(details)
	return []byte(b.String())
}

// ComputeHash returns hex(SHA-256(PrevHash || "\n" || CanonicalBytes())).
func (e AuditEvent) ComputeHash() string {
	h := sha256.New()
	h.Write([]byte(e.PrevHash))
	h.Write([]byte("\n"))
	h.Write(e.CanonicalBytes())
	return hex.EncodeToString(h.Sum(nil))
}
