package uploads

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

func TestCopyReadAhead(t *testing.T) {
	data := make([]byte, 5*readAheadChunk+12345)
	_, _ = rand.NewChaCha8([32]byte{7}).Read(data)
	errRead, errWrite := errors.New("read failed"), errors.New("write failed")
	tests := []struct {
		name    string
		r       io.Reader
		w       io.Writer
		want    []byte
		wantErr error
	}{
		{"empty", bytes.NewReader(nil), &bytes.Buffer{}, nil, nil},
		{"less than a chunk", bytes.NewReader(data[:100]), &bytes.Buffer{}, data[:100], nil},
		{"several chunks and a rest", bytes.NewReader(data), &bytes.Buffer{}, data, nil},
		{"short reads", iotest.HalfReader(bytes.NewReader(data)), &bytes.Buffer{}, data, nil},
		{"the reader fails", io.MultiReader(bytes.NewReader(data[:2*readAheadChunk]), iotest.ErrReader(errRead)), &bytes.Buffer{}, data[:2*readAheadChunk], errRead},
		{"the writer fails", bytes.NewReader(data), &failAfter{left: readAheadChunk + 10, err: errWrite}, nil, errWrite},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := copyReadAhead(tc.w, tc.r)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("copyReadAhead error %v, want %v", err, tc.wantErr)
			}
			if buf, ok := tc.w.(*bytes.Buffer); ok {
				if sha256.Sum256(buf.Bytes()) != sha256.Sum256(tc.want) || n != int64(len(tc.want)) {
					t.Fatalf("copied %d bytes (%d written), want %d", buf.Len(), n, len(tc.want))
				}
			}
		})
	}
}

// failAfter takes left bytes, then fails.
type failAfter struct {
	left int
	err  error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.left {
		n := f.left
		f.left = 0
		return n, f.err
	}
	f.left -= len(p)
	return len(p), nil
}
