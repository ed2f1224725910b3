package audit

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"time"
)

// Checkpoint kinds: what made the server sign the head.
const (
	CheckpointInterval = "interval" // the periodic job
	CheckpointRequest  = "request"  // POST /api/v1/audit/checkpoints
	CheckpointPrune    = "prune"    // the anchor of a prune: the last removed event
)

// Checkpoint is a signed statement that the audit chain had the event Seq
// with hash Hash at Time. Signature is Ed25519 over CheckpointMessage(Seq,
// Hash, Time) by the key whose id is KeyID.
type Checkpoint struct {
	Seq       int64
	Hash      string
	Time      time.Time
	Kind      string
	KeyID     string
	PublicKey []byte // the raw 32-byte Ed25519 public key of KeyID
	Signature []byte
}

// The signed statements of the audit log. Both are ASCII lines ending in
// "\n"; docs/audit.md §3 specifies them for outside verifiers.

// CheckpointMessage is what a checkpoint's signature covers: the chain had
// the event seq, whose hash is hash, at time t.
func CheckpointMessage(seq int64, hash string, t time.Time) []byte {
	return fmt.Appendf(nil, "modelkeep-audit-checkpoint/v1\n%d\n%s\n%s\n", seq, hash, FormatTime(t))
}

// SealMessage is what the seal at the end of an export signs: the export
// holds exactly the events firstSeq to lastSeq, the last of which has the
// hash head, and was made at t. It differs from a checkpoint so that an
// export cut after one of its checkpoints cannot pass as whole.
func SealMessage(firstSeq, lastSeq int64, head string, t time.Time) []byte {
	return fmt.Appendf(nil, "modelkeep-audit-export/v1\n%d\n%d\n%s\n%s\n", firstSeq, lastSeq, head, FormatTime(t))
}

// KeyID names an Ed25519 public key: the lowercase hex of the first 8 bytes
// of SHA-256 of its 32 raw bytes (the "kid" of the server's tokens when the
// same key signs them).
func KeyID(pub ed25519.PublicKey) string {
	sum := sha256.Sum256(pub)
	return hex.EncodeToString(sum[:8])
}

// Signer signs checkpoints and export seals with an Ed25519 key. It is
// immutable and safe for concurrent use.
type Signer struct {
	key ed25519.PrivateKey
	pub ed25519.PublicKey
	id  string
}

// NewSigner wraps an Ed25519 private key.
func NewSigner(key ed25519.PrivateKey) (*Signer, error) {
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("audit signing key: want an ed25519 private key")
	}
	pub := key.Public().(ed25519.PublicKey)
	return &Signer{key: key, pub: pub, id: KeyID(pub)}, nil
}

// KeyID names the signer's key.
func (s *Signer) KeyID() string { return s.id }

// PublicKey is the signer's public key.
func (s *Signer) PublicKey() ed25519.PublicKey { return s.pub }

// PublicKeyPEM is the public key as a PKIX "PUBLIC KEY" PEM block, the form
// `modelkeep audit verify --public-key` reads.
func (s *Signer) PublicKeyPEM() string { return PublicKeyPEM(s.pub) }

// Checkpoint signs (seq, hash, t).
func (s *Signer) Checkpoint(seq int64, hash string, t time.Time, kind string) Checkpoint {
	t = t.UTC().Truncate(time.Microsecond)
	return Checkpoint{
		Seq: seq, Hash: hash, Time: t, Kind: kind, KeyID: s.id, PublicKey: s.pub,
		Signature: ed25519.Sign(s.key, CheckpointMessage(seq, hash, t)),
	}
}

// Sign signs msg with the signer's key: the registry's other signed
// statements (document sign-offs, evidence packs, CycloneDX BOMs) are RFC
// 8785 JSON objects, which cannot be mistaken for the text lines of
// checkpoints and seals.
func (s *Signer) Sign(msg []byte) []byte { return ed25519.Sign(s.key, msg) }

// Seal signs the closing statement of an export of the events first to
// last, the last with hash head, made at t.
func (s *Signer) Seal(first, last int64, head string, t time.Time) Seal {
	t = t.UTC().Truncate(time.Microsecond)
	return Seal{
		FirstSeq: first, LastSeq: last, Events: max(0, last-first+1), Head: head, Time: t, KeyID: s.id,
		Signature: ed25519.Sign(s.key, SealMessage(first, last, head, t)),
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

// Keyring holds the public keys whose signatures a verifier trusts, by key
// id.
type Keyring map[string]ed25519.PublicKey

// NewKeyring trusts the given keys.
func NewKeyring(keys ...ed25519.PublicKey) Keyring {
	r := Keyring{}
	for _, k := range keys {
		r[KeyID(k)] = k
	}
	return r
}

// errUnknownKey marks a signature by a key the verifier was not given.
var errUnknownKey = errors.New("signed by an unknown key")

// checkCheckpoint verifies c's signature: nil, errUnknownKey, or why it is
// invalid.
func (r Keyring) checkCheckpoint(c Checkpoint) error {
	pub, ok := r[c.KeyID]
	if !ok {
		return fmt.Errorf("checkpoint at seq %d %w %s", c.Seq, errUnknownKey, c.KeyID)
	}
	if !ed25519.Verify(pub, CheckpointMessage(c.Seq, c.Hash, c.Time), c.Signature) {
		return fmt.Errorf("the signature of the checkpoint at seq %d does not verify with key %s", c.Seq, c.KeyID)
	}
	return nil
}
