package modelkeep

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// The signed statements of the audit log. Both are ASCII lines ending in
// "\n"; docs/audit.md specifies them for outside verifiers.

// CheckpointMessage is what a checkpoint's signature covers: the chain had
// the event seq, whose hash is hash, at time t.
func CheckpointMessage(seq int64, hash string, t time.Time) []byte {
	return fmt.Appendf(nil, "modelkeep-audit-checkpoint/v1\n%d\n%s\n%s\n", seq, hash, FormatAuditTime(t))
}

// ExportSealMessage is what the seal at the end of an export signs: the
// export holds exactly the events firstSeq to lastSeq, the last of which
// has the hash head, and was made at t. It differs from a checkpoint so
// that an export cut after one of its checkpoints cannot pass as whole.
func ExportSealMessage(firstSeq, lastSeq int64, head string, t time.Time) []byte {
	return fmt.Appendf(nil, "modelkeep-audit-export/v1\n%d\n%d\n%s\n%s\n", firstSeq, lastSeq, head, FormatAuditTime(t))
}

// AuditKeyID names an Ed25519 public key: the lowercase hex of the first 8
// bytes of SHA-256 of its 32 raw bytes (the "kid" of the server's tokens
// when the same key signs them).
func AuditKeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// AuditSigner signs checkpoints and export seals with an Ed25519 key. It is
// immutable and safe for concurrent use.
type AuditSigner struct {
	key ed25519.PrivateKey
	pub ed25519.PublicKey
	id  string
}

// NewAuditSigner wraps an Ed25519 private key.
func NewAuditSigner(key ed25519.PrivateKey) (*AuditSigner, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, Errorf(ErrInvalid, "audit signing key: want an ed25519 private key")
	}
	pub := key.Public().(ed25519.PublicKey)
	return &AuditSigner{key: key, pub: pub, id: AuditKeyID(pub)}, nil
}

// KeyID names the signer's key.
func (s *AuditSigner) KeyID() string { return s.id }

// PublicKey is the signer's public key.
func (s *AuditSigner) PublicKey() ed25519.PublicKey { return s.pub }

// PublicKeyPEM is the public key as a PKIX "PUBLIC KEY" PEM block, the form
// `modelkeep audit verify --public-key` reads.
func (s *AuditSigner) PublicKeyPEM() string { return PublicKeyPEM(s.pub) }

// Checkpoint signs (seq, hash, t).
func (s *AuditSigner) Checkpoint(seq int64, hash string, t time.Time, kind string) AuditCheckpoint {
	t = t.UTC().Truncate(time.Microsecond)
	return AuditCheckpoint{
		Seq: seq, Hash: hash, Time: t, Kind: kind, KeyID: s.id, PublicKey: s.pub,
		Signature: ed25519.Sign(s.key, CheckpointMessage(seq, hash, t)),
	}
}

func (s *AuditSigner) seal(first, last int64, head string, t time.Time) exportSeal {
	t = t.UTC().Truncate(time.Microsecond)
	return exportSeal{
		FirstSeq: first, LastSeq: last, Events: max(0, last-first+1), Head: head, Time: t, KeyID: s.id,
		Signature: ed25519.Sign(s.key, ExportSealMessage(first, last, head, t)),
	}
}

// PublicKeyPEM encodes an Ed25519 public key as a PKIX "PUBLIC KEY" PEM block.
func PublicKeyPEM(pub ed25519.PublicKey) string {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "" // cannot happen for a well-formed ed25519.PublicKey
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// ParsePublicKeyPEM reads an Ed25519 public key from a PKIX "PUBLIC KEY" PEM
// block (as `openssl pkey -pubout` writes it); a "PRIVATE KEY" (PKCS#8) block
// is accepted too, for its public half.
func ParsePublicKeyPEM(data []byte) (ed25519.PublicKey, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no pem block found")
	}
	var parsed any
	var err error
	switch block.Type {
	case "PUBLIC KEY":
		parsed, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "PRIVATE KEY":
		var priv any
		if priv, err = x509.ParsePKCS8PrivateKey(block.Bytes); err == nil {
			if k, ok := priv.(ed25519.PrivateKey); ok {
				parsed = k.Public()
			}
		}
	default:
		return nil, fmt.Errorf("pem block is %q, want \"PUBLIC KEY\"", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("parse key: %w", err)
	}
	pub, ok := parsed.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want an ed25519 key", parsed)
	}
	return pub, nil
}

// AuditKeyring holds the public keys whose signatures a verifier trusts, by
// key id.
type AuditKeyring map[string]ed25519.PublicKey

// NewAuditKeyring trusts the given keys.
func NewAuditKeyring(keys ...ed25519.PublicKey) AuditKeyring {
	r := AuditKeyring{}
	for _, k := range keys {
		r[AuditKeyID(k)] = k
	}
	return r
}

// errUnknownKey marks a signature by a key the verifier was not given.
var errUnknownKey = errors.New("signed by an unknown key")

// checkCheckpoint verifies c's signature: nil, errUnknownKey, or why it is
// invalid.
func (r AuditKeyring) checkCheckpoint(c AuditCheckpoint) error {
	pub, ok := r[c.KeyID]
	if !ok {
		return fmt.Errorf("checkpoint at seq %d %w %s", c.Seq, errUnknownKey, c.KeyID)
	}
	if !ed25519.Verify(pub, CheckpointMessage(c.Seq, c.Hash, c.Time), c.Signature) {
		return fmt.Errorf("the signature of the checkpoint at seq %d does not verify with key %s", c.Seq, c.KeyID)
	}
	return nil
}

// AuditVerification is the outcome of checking the audit chain.
type AuditVerification struct {
	OK bool
	// Events is how many events were checked, FirstSeq..LastSeq their range.
	Events   int64
	FirstSeq int64
	LastSeq  int64
	// Head is the hash of the last event checked (the chain head when OK).
	Head    string
	HeadSeq int64
	// FirstBrokenSeq is the first seq whose event was changed, removed,
	// inserted or moved (0 when OK); Reason says what was found there.
	FirstBrokenSeq int64
	Reason         string
	// Checkpoints whose signature verified, and those signed by keys the
	// verifier does not know (which prove nothing to it).
	CheckpointsVerified   int
	CheckpointsUnverified int
	// LatestCheckpoint is the last verified checkpoint within the range.
	LatestCheckpoint *AuditCheckpoint
}

// ActionAuditPrune is the event that records a prune; the chain verifies
// from a pruned start only if it holds this event naming the anchor.
const ActionAuditPrune = "audit.prune"

// chainVerifier checks events fed to it in order. It keeps no per-event
// state, so any length of chain takes constant memory.
type chainVerifier struct {
	keys   AuditKeyring
	h      chainHasher
	next   int64  // the seq the next event must have
	prev   string // the hash the next event's prev_hash must equal
	failed bool
	res    AuditVerification
	// pruneAnchor, when not 0, is a prune anchor that an audit.prune event
	// of the chain must name; pruneBase is the seq before the anchor's
	// own prune range (for reporting).
	pruneAnchor int64
	pruneSeen   bool
	pruneBase   int64
}

func newChainVerifier(keys AuditKeyring) *chainVerifier {
	return &chainVerifier{keys: keys, next: 1, prev: GenesisHash}
}

// start makes the chain continue after an event known by its seq and hash
// (0 and GenesisHash for a chain from its beginning).
func (v *chainVerifier) start(afterSeq int64, hash string) {
	v.next, v.prev = afterSeq+1, hash
}

// anchor starts the chain after a prune anchor: a checkpoint of the last
// removed event, signed by a trusted key, that an audit.prune event later in
// the chain must name. base is the seq of the previous prune anchor (0 if
// none is known): events after it are what is missing if the anchor fails.
func (v *chainVerifier) anchor(c AuditCheckpoint, base int64) bool {
	if err := v.keys.checkCheckpoint(c); err != nil {
		return v.fail(base+1, fmt.Sprintf("the events up to seq %d are missing and their prune anchor is not valid: %v", c.Seq, err))
	}
	v.start(c.Seq, c.Hash)
	v.pruneAnchor, v.pruneBase = c.Seq, base
	v.res.CheckpointsVerified++
	v.res.LatestCheckpoint = &c
	return true
}

func (v *chainVerifier) fail(seq int64, reason string) bool {
	if !v.failed {
		v.failed = true
		v.res.FirstBrokenSeq, v.res.Reason = seq, reason
	}
	return false
}

// event checks the next event; false once the chain is broken.
func (v *chainVerifier) event(e AuditEvent) bool {
	if v.failed {
		return false
	}
	switch {
	case e.Seq > v.next:
		return v.fail(v.next, fmt.Sprintf("event %d is missing (the next stored event is %d)", v.next, e.Seq))
	case e.Seq < v.next:
		return v.fail(v.next, fmt.Sprintf("event %d appears where event %d belongs (inserted or out of order)", e.Seq, v.next))
	case e.PrevHash != v.prev:
		return v.fail(e.Seq, fmt.Sprintf("event %d: prev_hash does not match the hash of event %d", e.Seq, e.Seq-1))
	}
	if h := v.h.hash(e); h != e.Hash {
		return v.fail(e.Seq, fmt.Sprintf("event %d: its content does not match its hash (changed after it was written)", e.Seq))
	}
	if v.res.Events == 0 {
		v.res.FirstSeq = e.Seq
	}
	v.res.Events++
	v.res.LastSeq = e.Seq
	v.next, v.prev = e.Seq+1, e.Hash
	if v.pruneAnchor != 0 && !v.pruneSeen && e.Action == ActionAuditPrune {
		var d struct {
			ThroughSeq int64 `json:"through_seq"`
		}
		if json.Unmarshal(e.Details, &d) == nil && d.ThroughSeq == v.pruneAnchor {
			v.pruneSeen = true
		}
	}
	return true
}

// checkpoint checks a checkpoint of the event just verified.
func (v *chainVerifier) checkpoint(c AuditCheckpoint) bool {
	if v.failed {
		return false
	}
	if c.Seq != v.next-1 || v.res.Events == 0 {
		return v.fail(c.Seq, fmt.Sprintf("checkpoint at seq %d has no event before it", c.Seq))
	}
	if c.Hash != v.prev {
		return v.fail(c.Seq, fmt.Sprintf("event %d does not match its signed checkpoint: the chain up to it was rewritten", c.Seq))
	}
	switch err := v.keys.checkCheckpoint(c); {
	case errors.Is(err, errUnknownKey):
		v.res.CheckpointsUnverified++
	case err != nil:
		return v.fail(c.Seq, err.Error())
	default:
		v.res.CheckpointsVerified++
		v.res.LatestCheckpoint = &c
	}
	return true
}

// finish checks that the chain reached lastSeq with hash head, and returns
// the result.
func (v *chainVerifier) finish(lastSeq int64, head string) AuditVerification {
	v.res.HeadSeq = lastSeq
	switch {
	case v.failed:
	case v.next-1 < lastSeq:
		v.fail(v.next, fmt.Sprintf("events %d to %d are missing: the chain ends before its head", v.next, lastSeq))
	case v.next-1 > lastSeq:
		v.fail(lastSeq+1, fmt.Sprintf("events after the head (seq %d) were found", lastSeq))
	case v.prev != head:
		v.fail(lastSeq, fmt.Sprintf("event %d does not match the recorded chain head", lastSeq))
	case v.pruneAnchor != 0 && !v.pruneSeen:
		v.fail(v.pruneBase+1, fmt.Sprintf("events up to seq %d are missing and no %s event records their removal", v.pruneAnchor, ActionAuditPrune))
	}
	v.res.OK = !v.failed
	v.res.Head = v.prev
	return v.res
}

// strconvSeq formats a seq for messages and file names.
func strconvSeq(n int64) string { return strconv.FormatInt(n, 10) }
