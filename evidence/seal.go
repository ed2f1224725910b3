package evidence

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"time"

	"github.com/modelkeep/modelkeep/audit"
)

// SignoffMessage is what a document sign-off's signature covers: the RFC
// 8785 JSON object {"sha256", "signed_at", "signer"}, the time written as
// the audit log writes times.
func SignoffMessage(sha256, signer string, signedAt time.Time) []byte {
	b, err := json.Marshal(map[string]string{"sha256": sha256, "signed_at": audit.FormatTime(signedAt), "signer": signer})
	if err == nil {
		b, err = audit.CanonicalJSON(b)
	}
	if err != nil {
		panic("evidence: a map of strings always encodes: " + err.Error())
	}
	return b
}

// Canonical returns the RFC 8785 canonical JSON of v.
func Canonical(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return audit.CanonicalJSON(b)
}

// Digest is the pack's SHA-256: of the canonical JSON of the pack without
// its integrity member.
func Digest(p *Pack) ([32]byte, error) {
	b, err := canonicalBody(p)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}

// canonicalBody is the canonical JSON of the pack without its integrity
// member: what its digest is of.
func canonicalBody(p *Pack) ([]byte, error) {
	saved := p.Integrity
	p.Integrity = nil
	defer func() { p.Integrity = saved }()
	b, err := Canonical(p)
	if err != nil {
		return nil, fmt.Errorf("canonical pack: %w", err)
	}
	return b, nil
}

// Seal signs the pack with signer and returns the pack file: the canonical
// JSON of the pack with its integrity member. The pack is made canonical
// once: the integrity member is put into the digest's bytes at its sorted
// place, which is what canonicalising the whole again would give (half of
// an export's time went to doing that).
func Seal(p *Pack, signer *audit.Signer) ([]byte, error) {
	p.Integrity = nil
	body, err := Canonical(p)
	if err != nil {
		return nil, fmt.Errorf("canonical pack: %w", err)
	}
	sum := sha256.Sum256(body)
	p.Integrity = &Integrity{SHA256: hex.EncodeToString(sum[:]), Signature: Signature{
		Alg: "Ed25519", KeyID: signer.KeyID(), PublicKey: signer.PublicKeyPEM(),
		Value: base64.StdEncoding.EncodeToString(signer.Sign(sum[:])),
	}}
	integrity, err := Canonical(p.Integrity)
	if err != nil {
		return nil, fmt.Errorf("canonical integrity: %w", err)
	}
	return insertMember(body, "integrity", integrity)
}

// insertMember puts the member name:value into obj, the canonical JSON of
// an object without it, at the place RFC 8785 sorts it to. The pack's
// member names are ASCII without escapes, so their byte order is JCS's
// UTF-16 order.
func insertMember(obj []byte, name string, value []byte) ([]byte, error) {
	if len(obj) < 2 || obj[0] != '{' || obj[len(obj)-1] != '}' {
		return nil, fmt.Errorf("insert %s: not a JSON object", name)
	}
	member := append([]byte(`"`+name+`":`), value...)
	at := len(obj) - 1 // before the closing brace, when every name sorts first
	for i := 1; i < len(obj)-1; {
		end, err := stringEnd(obj, i)
		if err != nil {
			return nil, err
		}
		if string(obj[i+1:end-1]) > name {
			at = i
			break
		}
		next, err := valueEnd(obj, end+1) // after the ':'
		if err != nil {
			return nil, err
		}
		if obj[next] != ',' {
			break
		}
		i = next + 1
	}
	out := make([]byte, 0, len(obj)+len(member)+1)
	out = append(out, obj[:at]...)
	switch {
	case at == len(obj)-1 && len(obj) > 2:
		out = append(append(out, ','), member...)
	case at == len(obj)-1:
		out = append(out, member...)
	default:
		out = append(append(out, member...), ',')
	}
	return append(out, obj[at:]...), nil
}

// stringEnd returns the index after the JSON string starting at b[i].
func stringEnd(b []byte, i int) (int, error) {
	if i >= len(b) || b[i] != '"' {
		return 0, fmt.Errorf("canonical JSON: a member name expected at byte %d", i)
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("canonical JSON: unterminated string at byte %d", i)
}

// valueEnd returns the index after the JSON value starting at b[i]
// (canonical JSON: no white space).
func valueEnd(b []byte, i int) (int, error) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			end, err := stringEnd(b, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case '{', '[':
			depth++
		case '}', ']':
			if depth == 0 {
				return j, nil
			}
			depth--
		case ',':
			if depth == 0 {
				return j, nil
			}
		}
		if depth == 0 && j+1 < len(b) && (b[j+1] == ',' || b[j+1] == '}' || b[j+1] == ']') {
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("canonical JSON: unterminated value at byte %d", i)
}

// CheckSignature verifies an integrity member against the digest with the
// trusted keys.
func CheckSignature(in *Integrity, sum [32]byte, keys audit.Keyring) error {
	switch {
	case in == nil:
		return fmt.Errorf("the pack has no integrity member: it is not sealed")
	case in.SHA256 != hex.EncodeToString(sum[:]):
		return fmt.Errorf("the pack's content does not match its SHA-256 (%s recorded, %x computed): the pack was changed after it was sealed", in.SHA256, sum)
	case in.Signature.Alg != "Ed25519":
		return fmt.Errorf("signature algorithm %q: want Ed25519", in.Signature.Alg)
	}
	pub, ok := keys[in.Signature.KeyID]
	if !ok {
		return fmt.Errorf("the pack is signed by key %s, which is not among the trusted public keys", in.Signature.KeyID)
	}
	// The integrity member is outside the digest: each of its bytes must
	// be checked on its own, the embedded key as the trusted key's exact
	// PEM text (a parser would accept other texts of the same key).
	if in.Signature.PublicKey != audit.PublicKeyPEM(pub) {
		return fmt.Errorf("the pack's integrity member shows another public key than the trusted key %s", in.Signature.KeyID)
	}
	// Strict: a signature's base64 with other unused trailing bits is
	// another text for the same bytes.
	sig, err := base64.StdEncoding.Strict().DecodeString(in.Signature.Value)
	if err != nil || !ed25519.Verify(pub, sum[:], sig) {
		return fmt.Errorf("the pack's signature does not verify with key %s", in.Signature.KeyID)
	}
	return nil
}
