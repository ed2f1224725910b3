// Package readahead wraps a listener's connections so that small reads are
// served from one larger read of the socket.
//
// net/http reads a request body through a 4 KiB buffer, and a chunked body
// one chunk at a time: a client streaming from a pipe (32 KiB chunks from
// Go, each arriving as several segments) costs the server two or three
// read(2) calls per chunk, 66,000 per GiB. Each is a system call, a socket
// lock and often a wake-up of the poller. A Conn instead takes whatever the
// socket holds, up to Size bytes, in one call and hands it out from memory:
// one copy more of every byte received, from a buffer the cache still
// holds, against a system call per few KiB.
package readahead

import (
	"io"
	"net"
	"sync"
)

// DefaultSize is the read-ahead of a connection.
const DefaultSize = 256 << 10

// Listener accepts connections wrapped in Conn.
type Listener struct {
	net.Listener
	pool *sync.Pool
	size int
}

// NewListener wraps l; size ≤ 0 means DefaultSize.
func NewListener(l net.Listener, size int) *Listener {
	if size <= 0 {
		size = DefaultSize
	}
	return &Listener{Listener: l, size: size, pool: &sync.Pool{New: func() any { b := make([]byte, size); return &b }}}
}

// Accept wraps the next connection.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: c, pool: l.pool, size: l.size}, nil
}

// Conn serves reads shorter than its size from one read of up to size
// bytes. The buffer comes from a pool and goes back as soon as it has been
// read out: an idle connection holds none.
type Conn struct {
	net.Conn
	pool *sync.Pool
	size int

	mu   sync.Mutex // net/http reads from one goroutine at a time; this makes sure
	buf  *[]byte    // nil while nothing is buffered
	r, w int        // the unread bytes are (*buf)[r:w]
	err  error      // the error of the read that filled buf, returned after it
}

// Read returns buffered bytes first; a read at least size long goes
// straight to the socket, a shorter one fills the buffer.
func (c *Conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf != nil {
		n := copy(p, (*c.buf)[c.r:c.w])
		c.r += n
		if c.r == c.w {
			c.release()
		}
		return n, nil
	}
	if c.err != nil {
		err := c.err
		c.err = nil
		return 0, err
	}
	if len(p) == 0 || len(p) >= c.size {
		return c.Conn.Read(p)
	}
	buf := c.pool.Get().(*[]byte)
	n, err := c.Conn.Read(*buf)
	m := copy(p, (*buf)[:n])
	if m == n {
		c.pool.Put(buf)
		return m, err
	}
	c.buf, c.r, c.w, c.err = buf, m, n, err
	return m, nil
}

func (c *Conn) release() {
	c.pool.Put(c.buf)
	c.buf, c.r, c.w = nil, 0, 0
}

// ReadFrom is the connection's own (sendfile and splice for responses
// from files), which embedding the interface would hide from net/http.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}

// CloseWrite half-closes the connection when it can (net/http does, to
// let a client read an error response before the connection goes).
func (c *Conn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
