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

// rangeHasher computes the SHA-256 of a file downloaded as several ranges,
// in order, while later ranges are still downloading: whichever download
// finishes the next range in order reads it back (from the page cache) and
// hashes it, then any finished ranges after it. Hashing the whole file
// after its last range would leave the network idle while it runs.
type rangeHasher struct {
	path        string // the local file
	chunk, size int64

	mu       sync.Mutex
	done     []bool // ranges written
	next     int    // the first range not hashed yet
	busy     bool   // a goroutine is hashing
	complete bool   // the last range was hashed
	h        hash.Hash
}

func newRangeHasher(path string, size, chunk int64) *rangeHasher {
	n := int((size + chunk - 1) / chunk)
	return &rangeHasher{path: path, chunk: chunk, size: size, done: make([]bool, n), h: sha256.New()}
}

// written records that range i is on disk and hashes the ranges now in
// order, unless another goroutine is at it (it will see range i: it checks
// done under the lock before it stops). It returns the file's SHA-256 to
// the one call that hashed the last range, "" to the others.
func (r *rangeHasher) written(i int) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.done[i] = true
	if r.busy {
		return "", nil
	}
	r.busy = true
	defer func() { r.busy = false }()
	for r.next < len(r.done) && r.done[r.next] {
		n := r.next
		r.mu.Unlock()
		err := r.hashRange(n)
		r.mu.Lock()
		if err != nil {
			return "", err
		}
		r.next++
	}
	if r.next == len(r.done) && !r.complete {
		r.complete = true
		return hex.EncodeToString(r.h.Sum(nil)), nil
	}
	return "", nil
}

// hashRange feeds range n of the file to the hash. Only the goroutine
// marked busy calls it, so the hash is never written to concurrently.
func (r *rangeHasher) hashRange(n int) error {
	f, err := os.Open(r.path)
	if err != nil {
		return &localError{err}
	}
	defer f.Close()
	off := int64(n) * r.chunk
	length := min(r.chunk, r.size-off)
	got, err := io.CopyBuffer(r.h, io.NewSectionReader(f, off, length), make([]byte, 256<<10))
	if err != nil {
		return &localError{fmt.Errorf("read back %s: %w", r.path, err)}
	}
	if got != length {
		return &localError{fmt.Errorf("read back %s: %d bytes of range %d, want %d", r.path, got, n, length)}
	}
	return nil
}
