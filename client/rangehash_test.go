package client

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestRangeHasher(t *testing.T) {
	tests := []struct {
		name        string
		size, chunk int64
		order       string // the order ranges are written in
	}{
		{"in order", 10 << 10, 1 << 10, "in order"},
		{"reversed", 10 << 10, 1 << 10, "reversed"},
		{"shuffled, last range short", 10<<10 + 123, 1 << 10, "shuffled"},
		{"shuffled, concurrent", 64 << 10, 1 << 10, "concurrent"},
		{"two ranges", 2 << 10, 1 << 10, "reversed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := make([]byte, tc.size)
			rng := rand.New(rand.NewPCG(1, uint64(tc.size)))
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			path := filepath.Join(t.TempDir(), "f")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			want := sha256.Sum256(data)
			r := newRangeHasher(path, tc.size, tc.chunk)
			n := len(r.have)
			order := make([]int, n)
			for i := range order {
				order[i] = i
			}
			switch tc.order {
			case "reversed":
				for i := range order {
					order[i] = n - 1 - i
				}
			case "shuffled", "concurrent":
				rng.Shuffle(n, func(i, j int) { order[i], order[j] = order[j], order[i] })
			}
			var mu sync.Mutex
			var sums []string
			mark := func(i int) {
				sum, err := r.written(i)
				if err != nil {
					t.Errorf("range %d: %v", i, err)
				}
				if sum != "" {
					mu.Lock()
					sums = append(sums, sum)
					mu.Unlock()
				}
			}
			if tc.order == "concurrent" {
				var wg sync.WaitGroup
				for _, i := range order {
					wg.Go(func() { mark(i) })
				}
				wg.Wait()
			} else {
				for k, i := range order {
					mark(i)
					if k < n-1 && len(sums) > 0 {
						t.Fatalf("a sum after %d of %d ranges", k+1, n)
					}
				}
			}
			if len(sums) != 1 {
				t.Fatalf("%d calls returned the sum, want exactly one", len(sums))
			}
			if sums[0] != hex.EncodeToString(want[:]) {
				t.Errorf("sum %s, want %x", sums[0], want)
			}
		})
	}
}

// TestRangeHasherStreamed writes ranges in pieces, as downloads do, and
// checks the sum and which bytes were hashed from memory.
func TestRangeHasherStreamed(t *testing.T) {
	const size, chunk, piece = 40<<10 + 77, 8 << 10, 1000
	tests := []struct {
		name         string
		order        string
		wantReadBack int64 // -1: any
	}{
		{"one range after another", "sequential", 0},
		{"a later range first", "later first", 8 << 10},
		{"all ranges at once", "concurrent", -1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := make([]byte, size)
			rng := rand.New(rand.NewPCG(2, size))
			for i := range data {
				data[i] = byte(rng.Uint32())
			}
			path := filepath.Join(t.TempDir(), "f")
			f, err := os.Create(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			r := newRangeHasher(path, size, chunk)
			var mu sync.Mutex
			var sums []string
			download := func(i int) {
				w := r.writer(i)
				start := int64(i) * chunk
				end := start + r.rangeLen(i)
				for off := start; off < end; off += piece {
					p := data[off:min(off+piece, end)]
					if _, err := f.WriteAt(p, off); err != nil {
						t.Error(err)
						return
					}
					if _, err := w.Write(p); err != nil {
						t.Error(err)
						return
					}
				}
				sum, err := r.written(i)
				if err != nil {
					t.Error(err)
				}
				if sum != "" {
					mu.Lock()
					sums = append(sums, sum)
					mu.Unlock()
				}
			}
			n := len(r.have)
			switch tc.order {
			case "sequential":
				for i := range n {
					download(i)
				}
			case "later first":
				download(1)
				download(0)
				for i := 2; i < n; i++ {
					download(i)
				}
			case "concurrent":
				var wg sync.WaitGroup
				for i := range n {
					wg.Go(func() { download(i) })
				}
				wg.Wait()
			}
			want := sha256.Sum256(data)
			if len(sums) != 1 || sums[0] != hex.EncodeToString(want[:]) {
				t.Fatalf("sums %v, want exactly one, %x", sums, want)
			}
			if r.hashed != size {
				t.Errorf("hashed %d bytes, want %d", r.hashed, size)
			}
			if tc.wantReadBack >= 0 && r.readBack != tc.wantReadBack {
				t.Errorf("read back %d bytes, want %d", r.readBack, tc.wantReadBack)
			}
		})
	}
}

// TestCopyAtHashFailure: when a range's hasher cannot read back the bytes
// that arrived ahead, the download fails with that error (a local one, not
// retried), rather than hashing on from a wrong offset and reporting a
// checksum mismatch for a good file.
func TestCopyAtHashFailure(t *testing.T) {
	const size, chunk = 2000, 1000
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "f")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	r := newRangeHasher(path, size, chunk)
	d := &downloader{notify: func(Event) {}}
	// Range 1 arrives first: its bytes wait in the file.
	if _, err := d.copyAt(t.Context(), "f", out, r.writer(1), bytes.NewReader(data[chunk:]), chunk, chunk); err != nil {
		t.Fatal(err)
	}
	// The file can no longer be opened to read range 1 back.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	_, err = d.copyAt(t.Context(), "f", out, r.writer(0), bytes.NewReader(data[:chunk]), 0, chunk)
	var local *localError
	if !errors.As(err, &local) || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("copyAt = %v, want the read-back failure as a local error", err)
	}
}
