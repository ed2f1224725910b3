package uploads

import (
	"io"
)

// Read-ahead of a read-back: completion reads a file back from the blob
// store to hash it (all of it when its parts went straight to S3). Read,
// then hash, then read again, one core waits for the other; with the next
// chunks read while one is hashed, the read-back takes about the longer
// of the two instead of their sum (the last file of a push ends with its
// read-back, which nothing else overlaps). The buffers bound the memory:
// readAheadChunks x readAheadChunk per completion running.
const (
	readAheadChunk  = 1 << 20
	readAheadChunks = 4
)

// chunk is a filled buffer, or the reader's last error.
type chunk struct {
	buf []byte
	err error
}

// copyReadAhead copies r to w as io.Copy does, with r read ahead in a
// goroutine of its own while w takes the chunks before. It returns the
// bytes written and the first error of either side (r's io.EOF is none).
// When w fails, it stops the reader at its next chunk and waits for it,
// so r is not in use any more when copyReadAhead returns.
func copyReadAhead(w io.Writer, r io.Reader) (int64, error) {
	free := make(chan []byte, readAheadChunks)
	for range readAheadChunks {
		free <- make([]byte, readAheadChunk)
	}
	full := make(chan chunk, readAheadChunks)
	stop := make(chan struct{})
	go func() {
		defer close(full)
		for {
			var buf []byte
			select {
			case buf = <-free:
			case <-stop:
				return
			}
			n, err := io.ReadFull(r, buf)
			if n > 0 {
				full <- chunk{buf: buf[:n]}
			}
			switch {
			case err == io.EOF || err == io.ErrUnexpectedEOF:
				return
			case err != nil:
				full <- chunk{err: err}
				return
			}
		}
	}()
	var written int64
	for c := range full {
		if c.err != nil {
			return written, c.err
		}
		n, err := w.Write(c.buf)
		written += int64(n)
		if err != nil {
			close(stop)
			for range full { // let the reader finish its chunk and quit
			}
			return written, err
		}
		free <- c.buf[:cap(c.buf)]
	}
	return written, nil
}
