package audit

import (
	"encoding/base64"
	"fmt"
	"time"
)

// An export is a retained range of the chain in one self-contained file
// that an outside party can verify offline (docs/audit.md §4 specifies the
// formats):
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
	FormatJSONL = "jsonl"
	FormatCSV   = "csv"
)

// ExportFormatName is the "format" of an export's header.
const ExportFormatName = "modelkeep-audit-export"

// specification is where an export's header points its reader.
const specification = "https://github.com/modelkeep/modelkeep/blob/main/docs/audit.md"

// ContentType is the media type of an export in format.
func ContentType(format string) string {
	if format == FormatCSV {
		return "text/csv; charset=utf-8"
	}
	return "application/x-ndjson"
}

// Header opens an export.
type Header struct {
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

// NewHeader is the header of an export of the events first to last made at
// t and sealed by signer.
func NewHeader(first, last int64, t time.Time, signer *Signer) Header {
	return Header{
		Format: ExportFormatName, Version: 1, HashAlgorithm: "sha256", Canonicalization: "RFC 8785",
		GenesisHash: GenesisHash, FirstSeq: first, LastSeq: last, ExportedAt: FormatTime(t),
		KeyID: signer.KeyID(), PublicKey: signer.PublicKeyPEM(), Specification: specification,
	}
}

// Seal closes an export: a signed SealMessage (see Signer.Seal).
type Seal struct {
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

func toCheckpointJSON(c Checkpoint) checkpointJSON {
	return checkpointJSON{Seq: c.Seq, Hash: c.Hash, Time: FormatTime(c.Time), Kind: c.Kind, KeyID: c.KeyID,
		Signature: base64.StdEncoding.EncodeToString(c.Signature)}
}

func (c checkpointJSON) checkpoint() (Checkpoint, error) {
	t, err := ParseTime(c.Time)
	if err != nil {
		return Checkpoint{}, err
	}
	sig, err := base64.StdEncoding.DecodeString(c.Signature)
	if err != nil {
		return Checkpoint{}, fmt.Errorf("signature: %w", err)
	}
	return Checkpoint{Seq: c.Seq, Hash: c.Hash, Time: t, Kind: c.Kind, KeyID: c.KeyID, Signature: sig}, nil
}

// csvColumns are the columns of a CSV export, in order.
var csvColumns = []string{"record", "seq", "time", "actor", "action", "resource", "outcome", "request_id",
	"remote_addr", "details", "prev_hash", "hash", "key_id", "signature"}

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
