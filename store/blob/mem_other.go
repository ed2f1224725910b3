//go:build !unix

package blob

// allocPart and freePart: part buffers on the Go heap, where the platform
// has no anonymous mappings.
func allocPart(size int) ([]byte, bool) { return make([]byte, size), false }

func freePart([]byte) {}
