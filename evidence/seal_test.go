package evidence

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/audit"
)

// The file Seal writes is the canonical JSON of the pack, and its integrity
// member holds the SHA-256 of the canonical JSON of everything else and an
// Ed25519 signature of those 32 bytes: checked here from the file alone,
// the way an outside validator would.
func TestSealFromTheOutside(t *testing.T) {
	k := newKeys(t)
	p, file := sealedPack(t, k)
	canon, err := audit.CanonicalJSON(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(canon, file) {
		t.Fatal("the sealed file is not canonical JSON")
	}
	var doc map[string]any
	if err := json.Unmarshal(file, &doc); err != nil {
		t.Fatal(err)
	}
	integrity, _ := doc["integrity"].(map[string]any)
	signature, _ := integrity["signature"].(map[string]any)
	delete(doc, "integrity")
	rest, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	if rest, err = audit.CanonicalJSON(rest); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(rest)
	if got := integrity["sha256"]; got != hex.EncodeToString(sum[:]) {
		t.Errorf("integrity.sha256 %v, want %x", got, sum)
	}
	sig, err := base64.StdEncoding.DecodeString(signature["value"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(k.registry.PublicKey(), sum[:], sig) {
		t.Error("the signature does not verify over the digest's 32 bytes")
	}
	want := map[string]any{"alg": "Ed25519", "key_id": k.registry.KeyID(), "public_key": k.registry.PublicKeyPEM()}
	for name, v := range want {
		if signature[name] != v {
			t.Errorf("signature.%s %v, want %v", name, signature[name], v)
		}
	}
	if d, _ := Digest(p); hex.EncodeToString(d[:]) != integrity["sha256"] {
		t.Errorf("Digest %x differs from the sealed digest", d)
	}
}

// Ed25519 and canonical JSON leave nothing to chance: the same pack seals
// to the same bytes.
func TestSealIsDeterministic(t *testing.T) {
	k := newKeys(t)
	_, a := sealedPack(t, k)
	_, b := sealedPack(t, k)
	if !bytes.Equal(a, b) {
		t.Error("two seals of the same pack differ")
	}
}

// Digest leaves out the integrity member and leaves it in place.
func TestDigestIgnoresIntegrity(t *testing.T) {
	k := newKeys(t)
	p, _ := sealedPack(t, k)
	sealed := *p.Integrity
	with, err := Digest(p)
	if err != nil {
		t.Fatal(err)
	}
	if p.Integrity == nil || *p.Integrity != sealed {
		t.Fatal("Digest changed the integrity member")
	}
	p.Integrity = nil
	without, _ := Digest(p)
	if with != without {
		t.Error("the digest depends on the integrity member")
	}
	p.Model.Description += "."
	if changed, _ := Digest(p); changed == without {
		t.Error("the digest does not cover the model's description")
	}
}

func TestCheckSignature(t *testing.T) {
	k := newKeys(t)
	p, _ := sealedPack(t, k)
	sum, err := Digest(p)
	if err != nil {
		t.Fatal(err)
	}
	stranger := newSigner(t, 3)
	tests := []struct {
		name   string
		change func(in *Integrity)
		nilIn  bool
		want   string // in the error; "" for none
	}{
		{name: "valid", change: func(*Integrity) {}},
		{name: "not sealed", nilIn: true, want: "not sealed"},
		{name: "another digest", change: func(in *Integrity) { in.SHA256 = strings.Repeat("0", 64) }, want: "changed after it was sealed"},
		{name: "digest in capitals", change: func(in *Integrity) { in.SHA256 = strings.ToUpper(in.SHA256) }, want: "changed after it was sealed"},
		{name: "another algorithm", change: func(in *Integrity) { in.Signature.Alg = "RS256" }, want: "want Ed25519"},
		{name: "an untrusted key", change: func(in *Integrity) {
			in.Signature.KeyID, in.Signature.PublicKey = stranger.KeyID(), stranger.PublicKeyPEM()
			in.Signature.Value = base64.StdEncoding.EncodeToString(stranger.Sign(sum[:]))
		}, want: "not among the trusted"},
		{name: "another trusted key's signature", change: func(in *Integrity) {
			in.Signature.Value = base64.StdEncoding.EncodeToString(k.reviewer.Sign(sum[:]))
		}, want: "does not verify"},
		{name: "a signature of other bytes", change: func(in *Integrity) {
			in.Signature.Value = base64.StdEncoding.EncodeToString(k.registry.Sign([]byte(in.SHA256)))
		}, want: "does not verify"},
		{name: "not base64", change: func(in *Integrity) { in.Signature.Value = "*" + in.Signature.Value[1:] }, want: "does not verify"},
		{name: "a truncated signature", change: func(in *Integrity) { in.Signature.Value = in.Signature.Value[:40] }, want: "does not verify"},
		{name: "padding bits set", change: func(in *Integrity) { in.Signature.Value = withPaddingBits(t, in.Signature.Value) }, want: "does not verify"},
		{name: "another public key shown", change: func(in *Integrity) { in.Signature.PublicKey = stranger.PublicKeyPEM() },
			want: "another public key"},
		{name: "public key shown without its newline", change: func(in *Integrity) {
			in.Signature.PublicKey = strings.TrimSuffix(in.Signature.PublicKey, "\n")
		}, want: "another public key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var in *Integrity
			if !tt.nilIn {
				copied := *p.Integrity
				tt.change(&copied)
				in = &copied
			}
			err := CheckSignature(in, sum, k.trusted())
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("error %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("error %v, want one saying %q", err, tt.want)
			}
		})
	}
}

// withPaddingBits writes the same signature bytes as other text: base64 of
// 64 bytes ends in "==", and the character before carries 4 unused bits.
func withPaddingBits(t *testing.T, value string) string {
	t.Helper()
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	last := len(value) - 3
	i := strings.IndexByte(alphabet, value[last])
	if !strings.HasSuffix(value, "==") || i < 0 || i&0xF != 0 {
		t.Fatalf("signature %q does not end as a 64-byte signature does", value)
	}
	other := value[:last] + string(alphabet[i|1]) + "=="
	lax, err := base64.StdEncoding.DecodeString(other)
	orig, _ := base64.StdEncoding.DecodeString(value)
	if err != nil || !bytes.Equal(lax, orig) {
		t.Fatalf("the padding bits are not ignored by lax decoding: %v", err)
	}
	return other
}

func TestSignoffMessage(t *testing.T) {
	at := time.Date(2026, 3, 2, 10, 4, 5, 123456789, time.FixedZone("CET", 3600))
	got := string(SignoffMessage("ab12", "dana \"d\" <d@example>", at))
	want := `{"sha256":"ab12","signed_at":"2026-03-02T09:04:05.123456Z","signer":"dana \"d\" <d@example>"}`
	if got != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
}

func TestCanonical(t *testing.T) {
	got, err := Canonical(map[string]any{"b": 1.50, "a": "<x> & ü", "c": []any{true, nil}, "A": 1e21})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"A":1e+21,"a":"<x> & ü","b":1.5,"c":[true,null]}`; string(got) != want {
		t.Errorf("\n got %s\nwant %s", got, want)
	}
	if _, err := Canonical(func() {}); err == nil {
		t.Error("a function encoded")
	}
}

// insertMember gives what canonicalising the object with the member would
// give, wherever the member sorts to and whatever the other values hold.
func TestInsertMember(t *testing.T) {
	tests := []struct{ name, obj string }{
		{"empty object", `{}`},
		{"sorts first", `{"j":1}`},
		{"sorts last", `{"a":1,"b":[1,2]}`},
		{"in the middle", `{"a":{"x":"}{,[]\"\\"},"z":null}`},
		{"after nested lists", `{"a":[[{"b":[]}],"x,y"],"h":true,"k":"v"}`},
		{"after a long name", `{"integrit":1,"integrityx":2}`},
	}
	value := `{"sha256":"ab","signature":{"alg":"Ed25519"}}`
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := insertMember([]byte(tt.obj), "integrity", []byte(value))
			if err != nil {
				t.Fatal(err)
			}
			var m map[string]any
			if err := json.Unmarshal([]byte(tt.obj), &m); err != nil {
				t.Fatal(err)
			}
			var v any
			_ = json.Unmarshal([]byte(value), &v)
			m["integrity"] = v
			want, err := Canonical(m)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != string(want) {
				t.Errorf("got  %s\nwant %s", got, want)
			}
		})
	}
	if _, err := insertMember([]byte(`[1]`), "integrity", []byte(value)); err == nil {
		t.Error("a list took a member")
	}
}
