// Package blob implements modelkeep.BlobStore on a local directory (FS) and
// on S3 or an S3-compatible server (S3). Both pass the conformance suite in
// store/blob/blobtest, so the service cannot tell them apart except through
// the optional interfaces (modelkeep.Presigner, modelkeep.BlobLister).
package blob

import (
	"context"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/modelkeep/modelkeep"
)

// maxKeyLen is S3's limit on object key length; FS keeps to it too so a key
// that works on one store works on the other.
const maxKeyLen = 1024

// validateKey accepts only clean, relative, slash-separated keys. Keys are
// opaque to the stores, but a key that is not already in canonical form is
// refused rather than cleaned: silently mapping "a/./b" and "a/b" to the same
// blob, or letting "../x" leave the FS root, would be worse than an error.
func validateKey(key string) error {
	switch {
	case key == "":
		return modelkeep.Errorf(modelkeep.ErrInvalid, "empty blob key")
	case len(key) > maxKeyLen:
		return modelkeep.Errorf(modelkeep.ErrInvalid, "blob key longer than %d bytes", maxKeyLen)
	case !utf8.ValidString(key):
		return modelkeep.Errorf(modelkeep.ErrInvalid, "blob key %q is not valid utf-8", key)
	case strings.HasPrefix(key, "/"):
		return modelkeep.Errorf(modelkeep.ErrInvalid, "blob key %q is absolute", key)
	case strings.ContainsAny(key, "\\\x00"):
		return modelkeep.Errorf(modelkeep.ErrInvalid, "blob key %q contains a backslash or nul byte", key)
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch seg {
		case "":
			return modelkeep.Errorf(modelkeep.ErrInvalid, "blob key %q has an empty segment", key)
		case ".", "..":
			return modelkeep.Errorf(modelkeep.ErrInvalid, "blob key %q has a %q segment", key, seg)
		}
	}
	return nil
}

// checkedReader wraps the caller's body on its way into a store. It stops at
// the first read after ctx is done (so a cancelled upload stops promptly even
// when the body never blocks), enforces the declared size, and remembers the
// error it returned so Put can tell a failing body (the caller's problem)
// from a failing store (ours).
type checkedReader struct {
	ctx  context.Context
	r    io.Reader
	size int64 // declared length, or -1 when unknown
	n    int64 // bytes read so far
	err  error // first non-EOF error handed out
}

func newCheckedReader(ctx context.Context, r io.Reader, size int64) *checkedReader {
	return &checkedReader{ctx: ctx, r: r, size: size}
}

func (c *checkedReader) Read(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	if err := c.ctx.Err(); err != nil {
		c.err = err
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	switch {
	case c.size >= 0 && c.n > c.size:
		c.err = modelkeep.Errorf(modelkeep.ErrInvalid, "body is longer than the declared %d bytes", c.size)
		return n, c.err
	case c.size >= 0 && err == io.EOF && c.n < c.size:
		c.err = modelkeep.Errorf(modelkeep.ErrInvalid, "body ended after %d of the declared %d bytes", c.n, c.size)
		return n, c.err
	case err != nil && err != io.EOF:
		c.err = err
	}
	return n, err
}

// bodyErr is the body's own error when reading it failed (or the context
// ended while it was being read), wrapped for op: what Put returns then,
// whatever the store's client made of it (the S3 SDK does not always keep
// a reader's error in its chain). An error of no kind (a client that went
// away) is ErrInvalid: a failing body is the caller's fault, never the
// store's. nil when the body was read cleanly.
func (c *checkedReader) bodyErr(op, key string) error {
	switch {
	case c.err == nil:
		return nil
	case modelkeep.KindOf(c.err) != nil:
		return fmt.Errorf("%s %q: %w", op, key, c.err)
	}
	return fmt.Errorf("%s %q: %w", op, key, modelkeep.Errorf(modelkeep.ErrInvalid, "reading the body failed: %w", c.err))
}
