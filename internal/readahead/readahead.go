// Package readahead wraps a listener's connections so that small reads are
// served from one larger read of the socket.
//
// net/http reads a request body through a 4 KiB buffer, and a chunked body
// one chunk at a time: a client streaming from a pipe (32 KiB chunks from
// Go, each arriving as several segments) costs the server two or three
// read(2) calls per chunk, 66,000 per GiB. Each is a system call, a socket
// lock and often a wake-up of the poller. A Conn instead takes whatever the
// socket holds, up to the listener's size, in one call and hands it out
// from memory: one copy more of every byte received, from a buffer the
// cache still holds, against a system call per few KiB.
//
// The buffer is taken from a pool only once the socket has bytes, and goes
// back as soon as they have been read out: a connection waiting for its
// next request, or for its client while a handler runs (net/http's
// one-byte background read), holds none.
package readahead

import (
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
)

// DefaultSize is the read-ahead of a connection.
const DefaultSize = 256 << 10

// Listener accepts connections wrapped in Conn.
type Listener struct {
	net.Listener
	size  int
	pool  sync.Pool
	held  atomic.Int64 // buffers taken from the pool and not yet back
	fills atomic.Int64 // read(2) calls that brought bytes into a buffer
}

// NewListener wraps l; size ≤ 0 means DefaultSize.
func NewListener(l net.Listener, size int) *Listener {
	if size <= 0 {
		size = DefaultSize
	}
	ln := &Listener{Listener: l, size: size}
	ln.pool.New = func() any { b := make([]byte, size); return &b }
	return ln
}

// Accept wraps the next connection. One that offers no raw file
// descriptor (not a socket) is read directly, without read-ahead.
func (l *Listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return l.wrap(c), nil
}

func (l *Listener) wrap(c net.Conn) *Conn {
	conn := &Conn{Conn: c, l: l}
	if sc, ok := c.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			conn.raw = raw
		}
	}
	return conn
}

func (l *Listener) get() *[]byte {
	l.held.Add(1)
	return l.pool.Get().(*[]byte)
}

func (l *Listener) put(b *[]byte) {
	l.pool.Put(b)
	l.held.Add(-1)
}

// Conn serves reads shorter than its listener's size from one read of up
// to that size.
type Conn struct {
	net.Conn
	l   *Listener
	raw syscall.RawConn // nil: reads go straight to Conn

	mu   sync.Mutex // orders Reads (net/http makes one at a time) and Close's return of buf
	buf  *[]byte    // nil while nothing is buffered
	r, w int        // the unread bytes are (*buf)[r:w]
}

// Read returns buffered bytes first, even past a read deadline or after
// Close (net/http only aborts a read that waits). A read at least the
// listener's size long goes straight to the socket; a shorter one waits
// until the socket has bytes, then takes a buffer and reads as much as it
// holds.
func (c *Conn) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf != nil {
		n := copy(p, (*c.buf)[c.r:c.w])
		c.r += n
		if c.r == c.w {
			c.l.put(c.buf)
			c.buf, c.r, c.w = nil, 0, 0
		}
		return n, nil
	}
	if c.raw == nil || len(p) == 0 || len(p) >= c.l.size {
		return c.Conn.Read(p)
	}
	buf, n, err := c.fill()
	if buf == nil {
		return 0, err
	}
	m := copy(p, (*buf)[:n])
	if m == n {
		c.l.put(buf)
		return m, nil
	}
	c.buf, c.r, c.w = buf, m, n
	return m, nil
}

// fill reads what the socket holds into a buffer taken once there is
// something to read: the bytes (buf and n > 0), or the end or an error
// (buf nil).
func (c *Conn) fill() (buf *[]byte, n int, err error) {
	var errno error
	rawErr := c.raw.Read(func(fd uintptr) bool {
		b := c.l.get()
		for {
			n, errno = syscall.Read(int(fd), *b)
			if errno != syscall.EINTR {
				break
			}
		}
		if errno == syscall.EAGAIN {
			c.l.put(b)
			return false // wait until readable, holding nothing
		}
		buf = b
		return true
	})
	if rawErr != nil {
		// A deadline or a close ended the wait: the error a Read of the
		// connection gives for it, which is what net/http expects.
		return nil, 0, c.readError(rawErr)
	}
	if errno != nil || n <= 0 {
		c.l.put(buf)
		if errno == nil {
			return nil, 0, io.EOF
		}
		return nil, 0, c.readError(os.NewSyscallError("read", errno))
	}
	c.l.fills.Add(1)
	return buf, n, nil
}

// readError is err, from the raw connection's wait, as a Read of the
// connection reports it: an *net.OpError of Op "read", keeping what it
// wraps (a timeout, net.ErrClosed).
func (c *Conn) readError(err error) error {
	e := &net.OpError{Op: "read", Net: c.LocalAddr().Network(), Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
	var oe *net.OpError
	if errors.As(err, &oe) {
		e.Err = oe.Err
	}
	return e
}

// Close closes the connection and gives back a buffer still holding bytes
// nobody will read.
func (c *Conn) Close() error {
	err := c.Conn.Close() // first: a read waiting on the socket returns
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.buf != nil {
		c.l.put(c.buf)
		c.buf, c.r, c.w = nil, 0, 0
	}
	return err
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
