//go:build unix

package blob

import "syscall"

// allocPart maps size bytes of anonymous memory for a part buffer, outside
// the Go heap (mapped true); a failed mapping falls back to the heap.
func allocPart(size int) (buf []byte, mapped bool) {
	if size == 0 {
		return []byte{}, false
	}
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, size), false
	}
	return b, true
}

// freePart unmaps a buffer allocPart mapped, returning it to the system at
// once.
func freePart(b []byte) { _ = syscall.Munmap(b[:cap(b)]) }
