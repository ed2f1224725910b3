package client

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"sync"
)

// rangeHasher computes the SHA-256 of a file downloaded as several ranges
// at once, in order, while the ranges are still downloading. The bytes at
// the hash's position are hashed from memory as they arrive (wrote); bytes
// that arrive ahead of it wait in the file and are read back (from the page
// cache) once the bytes before them are hashed. Hashing the whole file after
// its last range would leave the network idle while it runs, and reading
// every byte back costs a copy per byte that hashing on arrival does not.
type rangeHasher struct {
	path        string // the local file
	chunk, size int64

	mu       sync.Mutex
	have     []int64 // bytes of each range in the file, from its start
	hashed   int64   // bytes of the file hashed, from its start
	complete int     // ranges whose downloads ended (written)
	busy     bool    // a goroutine is hashing
	reported bool    // the sum was returned
	h        hash.Hash
	buf      []byte // for reading back, by the goroutine hashing
	readBack int64  // bytes hashed from the file rather than from memory (for tests)
}

func newRangeHasher(path string, size, chunk int64) *rangeHasher {
	n := int((size + chunk - 1) / chunk)
	return &rangeHasher{path: path, chunk: chunk, size: size, have: make([]int64, n), h: sha256.New()}
}

// rangeLen is the length of range i.
func (r *rangeHasher) rangeLen(i int) int64 {
	return min(r.chunk, r.size-int64(i)*r.chunk)
}

// writer is an io.Writer that hands the bytes of range i, in the order the
// range writes them into the file, to wrote: what a range's download
// writes into the file it also writes here, after the file.
func (r *rangeHasher) writer(i int) io.Writer {
	return &rangeWriter{r: r, i: i, off: int64(i) * r.chunk}
}

type rangeWriter struct {
	r   *rangeHasher
	i   int
	off int64 // the file offset of the next byte of the range
}

func (w *rangeWriter) Write(p []byte) (int, error) {
	if err := w.r.wrote(w.i, w.off, p); err != nil {
		return 0, err
	}
	w.off += int64(len(p))
	return len(p), nil
}

// wrote records that p is in the file at off, the next bytes of range i,
// and hashes what can be hashed in order now, p from memory, unless
// another goroutine is at it (it sees the record before it stops).
func (r *rangeHasher) wrote(i int, off int64, p []byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.have[i] = off + int64(len(p)) - int64(i)*r.chunk
	return r.catchUp(off, p)
}

// written records that range i is complete (its download has ended) and
// hashes what can be hashed. It returns the file's SHA-256 to the one call
// that sees the whole file hashed and every range ended, "" to the others
// (and to those that leave the hashing to a goroutine at it: that one is in
// a written call too then, since every range has ended).
func (r *rangeHasher) written(i int) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.have[i] = r.rangeLen(i)
	r.complete++
	if err := r.catchUp(0, nil); err != nil {
		return "", err
	}
	if r.hashed == r.size && r.complete == len(r.have) && !r.busy && !r.reported {
		r.reported = true
		return hex.EncodeToString(r.h.Sum(nil)), nil
	}
	return "", nil
}

// inOrder is the end of the bytes in the file from the start without a
// gap: the bytes that can be hashed. The ranges before the hash's position
// are whole, so the look starts at its range.
func (r *rangeHasher) inOrder() int64 {
	for i := int(r.hashed / r.chunk); i < len(r.have); i++ {
		if n := r.have[i]; n < r.rangeLen(i) {
			return int64(i)*r.chunk + n
		}
	}
	return r.size
}

// catchUp hashes the bytes in order up to inOrder, the ones of p (at off
// in the file) from memory and the others read back from the file. It is
// called with the lock held, which it lets go while hashing; one goroutine
// hashes at a time (busy), and it looks again for bytes recorded meanwhile
// before it stops.
func (r *rangeHasher) catchUp(off int64, p []byte) error {
	if r.busy {
		return nil
	}
	r.busy = true
	defer func() { r.busy = false }()
	end := off + int64(len(p))
	for {
		from, to := r.hashed, r.inOrder()
		if from >= to {
			return nil
		}
		if p != nil && from >= off && from < end {
			seg := p[from-off : min(to, end)-off]
			r.mu.Unlock()
			r.h.Write(seg)
			r.mu.Lock()
			r.hashed += int64(len(seg))
			continue
		}
		if p != nil && off > from && off < to {
			to = off // up to p, which is hashed from memory then
		}
		r.mu.Unlock()
		err := r.hashFile(from, to)
		r.mu.Lock()
		if err != nil {
			return err
		}
		r.hashed = to
		r.readBack += to - from
	}
}

// hashFile feeds bytes [from, to) of the file to the hash. Only the
// goroutine marked busy calls it, so the hash is never written to
// concurrently.
func (r *rangeHasher) hashFile(from, to int64) error {
	f, err := os.Open(r.path)
	if err != nil {
		return err
	}
	defer f.Close()
	if r.buf == nil {
		r.buf = make([]byte, 256<<10)
	}
	got, err := io.CopyBuffer(r.h, io.NewSectionReader(f, from, to-from), r.buf)
	if err != nil {
		return fmt.Errorf("read back %s: %w", r.path, err)
	}
	if got != to-from {
		return fmt.Errorf("read back %s: %d bytes at %d, want %d", r.path, got, from, to-from)
	}
	return nil
}
