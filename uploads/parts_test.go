package uploads

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"testing"
	"testing/iotest"

	"github.com/modelkeep/modelkeep"
)

// TestHashingReader: a part's bytes pass through whole when they match its
// SHA-256; when they do not, the read that completes the part fails and
// its bytes are held back, so a store writing what it reads ends short of
// the part's length and keeps nothing; a body longer than the part is
// refused as such; bytes that come with io.EOF are checked the same way.
func TestHashingReader(t *testing.T) {
	part := bytes.Repeat([]byte("modelkeep"), 1000) // 9,000 bytes
	sum := sha256.Sum256(part)
	right := hex.EncodeToString(sum[:])
	other := sha256.Sum256([]byte("other"))
	wrong := hex.EncodeToString(other[:])
	tests := []struct {
		name      string
		body      io.Reader
		want      string
		wantErr   error // nil: every byte, then io.EOF
		delivered int   // bytes passed on before the error
	}{
		{"matches", bytes.NewReader(part), right, nil, len(part)},
		{"matches, bytes with EOF", iotest.DataErrReader(bytes.NewReader(part)), right, nil, len(part)},
		{"matches, one byte at a time", iotest.OneByteReader(bytes.NewReader(part)), right, nil, len(part)},
		{"other bytes", bytes.NewReader(part), wrong, modelkeep.ErrDigestMismatch, 8192},
		{"other bytes, with EOF", iotest.DataErrReader(bytes.NewReader(part)), wrong, modelkeep.ErrDigestMismatch, 8192},
		{"other bytes, one at a time", iotest.OneByteReader(bytes.NewReader(part)), wrong, modelkeep.ErrDigestMismatch, len(part) - 1},
		{"longer than the part", bytes.NewReader(append(bytes.Clone(part), 'x')), right, modelkeep.ErrInvalid, 8192},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hr := &hashingReader{r: tt.body, part: sha256.New(), size: int64(len(part)), want: tt.want}
			var got []byte
			buf := make([]byte, 4096)
			var err error
			for {
				var n int
				n, err = hr.Read(buf)
				got = append(got, buf[:n]...)
				if err != nil {
					break
				}
			}
			if tt.wantErr == nil {
				if err != io.EOF || !bytes.Equal(got, part) {
					t.Fatalf("read %d bytes, then %v; want all %d, then EOF", len(got), err, len(part))
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if len(got) != tt.delivered {
				t.Errorf("passed on %d bytes before the error, want %d (the part's last read held back)", len(got), tt.delivered)
			}
		})
	}
}
