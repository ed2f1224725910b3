// Package auth signs Modelkeep's bearer tokens and verifies the tokens that
// callers present: Modelkeep's own (EdDSA or HS256, each backed by a record
// in the tokens table so revocation takes effect at once) and, optionally,
// tokens of an external OpenID Connect identity provider.
//
// The package never logs: errors carry short, fixed messages that contain no
// part of the token, so the HTTP layer can show them as they are.
package auth

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/golang-jwt/jwt/v5"

	"github.com/modelkeep/modelkeep"
)

// Signing algorithms of Modelkeep's own tokens (JWS "alg" values).
const (
	AlgEdDSA = "EdDSA"
	AlgHS256 = "HS256"
)

// KeyFileName is the generated key's file name inside the data dir.
const KeyFileName = "jwt-ed25519.pem"

// MinSecretLen is the shortest HMAC secret LoadKey accepts: HS256 gives no
// more security than the secret's entropy, so anything shorter than the hash
// output is refused.
const MinSecretLen = 32

// KeyConfig says where the server's signing key comes from. Secret and
// KeyFile are mutually exclusive; with neither, a key is kept in DataDir.
type KeyConfig struct {
	DataDir string // MODELKEEP_DATA_DIR: holds the generated key
	Secret  string // MODELKEEP_JWT_SECRET: HMAC secret for HS256
	KeyFile string // MODELKEEP_JWT_KEY_FILE: Ed25519 private key, PKCS#8 PEM
}

// Key is the server's signing key: Ed25519 (EdDSA) or an HMAC secret
// (HS256). It is immutable and safe for concurrent use.
type Key struct {
	alg    string
	id     string
	ed     ed25519.PrivateKey // EdDSA only
	edPub  ed25519.PublicKey  // EdDSA only
	secret []byte             // HS256 only
}

// LoadKey returns the signing key cfg describes: the HMAC secret, the
// Ed25519 key in KeyFile, or the Ed25519 key in DataDir/jwt-ed25519.pem,
// generated there on first use.
func LoadKey(cfg KeyConfig) (*Key, error) {
	switch {
	case cfg.Secret != "" && cfg.KeyFile != "":
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "set either the jwt secret or the jwt key file, not both")
	case cfg.Secret != "":
		return NewHMACKey([]byte(cfg.Secret))
	case cfg.KeyFile != "":
		data, err := os.ReadFile(cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("read jwt key file: %w", err)
		}
		k, err := parseEd25519PEM(data)
		if err != nil {
			return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "jwt key file %s: %w", cfg.KeyFile, err)
		}
		return k, nil
	case cfg.DataDir == "":
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "a data dir is required to keep the generated jwt key")
	default:
		return loadOrGenerate(filepath.Join(cfg.DataDir, KeyFileName))
	}
}

// NewEd25519Key wraps an Ed25519 private key.
func NewEd25519Key(priv ed25519.PrivateKey) (*Key, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "ed25519 private key: want %d bytes, got %d", ed25519.PrivateKeySize, len(priv))
	}
	pub := priv.Public().(ed25519.PublicKey)
	sum := sha256.Sum256(pub)
	return &Key{alg: AlgEdDSA, id: hex.EncodeToString(sum[:8]), ed: priv, edPub: pub}, nil
}

// NewHMACKey wraps an HS256 secret of at least MinSecretLen bytes.
func NewHMACKey(secret []byte) (*Key, error) {
	if len(secret) < MinSecretLen {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "the jwt secret must be at least %d bytes", MinSecretLen)
	}
	// The kid is public, so it comes from a domain-separated hash cut to 64
	// bits: it names the secret without helping anyone recover it (a signed
	// token already allows the same offline guessing, and no more).
	h := sha256.New()
	h.Write([]byte("modelkeep jwt kid\x00"))
	h.Write(secret)
	return &Key{alg: AlgHS256, id: hex.EncodeToString(h.Sum(nil)[:8]), secret: bytes.Clone(secret)}, nil
}

// ID is the key id put in the "kid" header of every token this key signs.
func (k *Key) ID() string { return k.id }

// Algorithm is the JWS algorithm: "EdDSA" or "HS256".
func (k *Key) Algorithm() string { return k.alg }

// Ed25519 returns the private key when this is an EdDSA key.
func (k *Key) Ed25519() (ed25519.PrivateKey, bool) {
	return k.ed, k.ed != nil
}

// PublicKeyPEM returns the Ed25519 public key as a PKIX "PUBLIC KEY" PEM
// block. An HMAC key has no public half.
func (k *Key) PublicKeyPEM() ([]byte, error) {
	if k.ed == nil {
		return nil, modelkeep.Errorf(modelkeep.ErrInvalid, "an %s key has no public key", k.alg)
	}
	der, err := x509.MarshalPKIXPublicKey(k.edPub)
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), nil
}

func (k *Key) method() jwt.SigningMethod {
	if k.ed != nil {
		return jwt.SigningMethodEdDSA
	}
	return jwt.SigningMethodHS256
}

func (k *Key) signingKey() any {
	if k.ed != nil {
		return k.ed
	}
	return k.secret
}

// verificationKey returns a key of exactly the type the pinned method wants,
// so a token claiming another algorithm could not be checked against it even
// if the method pinning were bypassed.
func (k *Key) verificationKey() any {
	if k.ed != nil {
		return k.edPub
	}
	return k.secret
}

// parseEd25519PEM reads a PKCS#8 "PRIVATE KEY" block holding an Ed25519 key,
// as `openssl genpkey -algorithm ed25519` writes it.
func parseEd25519PEM(data []byte) (*Key, error) {
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, errors.New("no pem block found")
	}
	if block.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("pem block is %q, want \"PRIVATE KEY\" (pkcs#8)", block.Type)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("parse pkcs#8 key: %w", err)
	}
	priv, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("key is %T, want an ed25519 key", parsed)
	}
	return NewEd25519Key(priv)
}

func marshalEd25519PEM(priv ed25519.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// loadOrGenerate reads the key at path, creating it first if it does not
// exist. Creation writes a temporary file and hard-links it into place: unlike
// a rename, a link never replaces an existing file, so when two processes
// start at once exactly one key wins and the loser reads the winner's.
func loadOrGenerate(path string) (*Key, error) {
	data, err := os.ReadFile(path)
	if err == nil {
		k, err := parseEd25519PEM(data)
		if err != nil {
			return nil, fmt.Errorf("jwt key %s: %w", path, err)
		}
		return k, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read jwt key: %w", err)
	}

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ed25519 key: %w", err)
	}
	pemBytes, err := marshalEd25519PEM(priv)
	if err != nil {
		return nil, err
	}
	if err := writeNew(path, pemBytes); err != nil {
		if !errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("write jwt key: %w", err)
		}
		// Another process created it first: use theirs.
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read jwt key: %w", err)
		}
		k, err := parseEd25519PEM(data)
		if err != nil {
			return nil, fmt.Errorf("jwt key %s: %w", path, err)
		}
		return k, nil
	}
	return NewEd25519Key(priv)
}

// writeNew writes data to path with mode 0600 only if path does not exist
// yet (fs.ErrExist otherwise); readers never see a partial file.
func writeNew(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer func() {
		// The link (if any) holds the data now; the temporary name goes
		// either way.
		if rmErr := os.Remove(tmp); rmErr != nil && err == nil && !errors.Is(rmErr, fs.ErrNotExist) {
			err = rmErr
		}
	}()
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fs.ErrExist
		}
		return err
	}
	// Make the new directory entry durable too.
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
