package readahead

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// forwardConn records whether ReadFrom and CloseWrite reached it.
type forwardConn struct {
	net.Conn
	readFrom   bool
	closeWrite bool
}

func (c *forwardConn) ReadFrom(r io.Reader) (int64, error) {
	c.readFrom = true
	return io.Copy(io.Discard, r)
}

func (c *forwardConn) CloseWrite() error { c.closeWrite = true; return nil }

func TestConnForwards(t *testing.T) {
	fc := &forwardConn{}
	c := NewListener(nil, 64).wrap(fc)
	if _, err := c.ReadFrom(strings.NewReader("x")); err != nil || !fc.readFrom {
		t.Errorf("ReadFrom did not reach the connection's (%v)", err)
	}
	if err := c.CloseWrite(); err != nil || !fc.closeWrite {
		t.Errorf("CloseWrite did not reach the connection's (%v)", err)
	}
}

// pair is a loopback TCP connection: the client's end and the server's,
// accepted through a Listener of the given size.
func pair(t *testing.T, size int) (net.Conn, *Conn, *Listener) {
	t.Helper()
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tcp.Close() })
	l := NewListener(tcp, size)
	client, err := net.Dial("tcp", tcp.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return client, c.(*Conn), l
}

// A read waiting for bytes holds no buffer; one that leaves bytes behind
// holds one until they are read out.
func TestConnHoldsBufferOnlyWithBytes(t *testing.T) {
	client, c, l := pair(t, 64)
	got := make(chan string)
	go func() {
		p := make([]byte, 10)
		n, err := c.Read(p)
		if err != nil {
			t.Error(err)
		}
		got <- string(p[:n])
	}()
	time.Sleep(50 * time.Millisecond) // the read is waiting by now
	if n := l.held.Load(); n != 0 {
		t.Errorf("a read waiting for bytes holds %d buffers", n)
	}
	if _, err := client.Write([]byte("0123456789abcdef")); err != nil {
		t.Fatal(err)
	}
	if s := <-got; s != "0123456789" {
		t.Fatalf("read %q", s)
	}
	if n := l.held.Load(); n != 1 {
		t.Errorf("with 6 bytes left the connection holds %d buffers, want 1", n)
	}
	p := make([]byte, 10)
	if n, err := c.Read(p); err != nil || string(p[:n]) != "abcdef" {
		t.Fatalf("then read %q, %v", p[:n], err)
	}
	if n := l.held.Load(); n != 0 {
		t.Errorf("read out, the connection holds %d buffers", n)
	}
}

// A deadline, a close and a reset end a read as a connection's own Read
// reports them: a *net.OpError of Op "read" net/http knows.
func TestConnReadErrors(t *testing.T) {
	tests := []struct {
		name  string
		cause func(client net.Conn, c *Conn)
		check func(error) bool
	}{
		{"deadline", func(_ net.Conn, c *Conn) { c.SetReadDeadline(time.Now().Add(20 * time.Millisecond)) },
			func(err error) bool {
				var ne net.Error
				return errors.Is(err, os.ErrDeadlineExceeded) && errors.As(err, &ne) && ne.Timeout()
			}},
		{"closed", func(_ net.Conn, c *Conn) { time.AfterFunc(20*time.Millisecond, func() { c.Close() }) },
			func(err error) bool { return errors.Is(err, net.ErrClosed) }},
		{"reset", func(client net.Conn, _ *Conn) {
			client.(*net.TCPConn).SetLinger(0)
			time.AfterFunc(20*time.Millisecond, func() { client.Close() })
		}, func(err error) bool { return errors.Is(err, syscall.ECONNRESET) }},
		{"end", func(client net.Conn, _ *Conn) { time.AfterFunc(20*time.Millisecond, func() { client.Close() }) },
			func(err error) bool { return err == io.EOF }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, c, l := pair(t, 64)
			tt.cause(client, c)
			n, err := c.Read(make([]byte, 10))
			if n != 0 || !tt.check(err) {
				t.Fatalf("Read = %d, %v", n, err)
			}
			var oe *net.OpError
			if err != io.EOF && (!errors.As(err, &oe) || oe.Op != "read") {
				t.Errorf("error %#v is not a read *net.OpError", err)
			}
			if n := l.held.Load(); n != 0 {
				t.Errorf("after the error the connection holds %d buffers", n)
			}
		})
	}
}

// An HTTP server on a readahead listener gets a chunked body whole and
// serves a file, over many requests on one connection and several at once.
func TestHTTPServer(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	content := bytes.Repeat([]byte("modelkeep"), 100_000)
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			http.ServeFile(w, r, file)
			return
		}
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Write(append(h.Sum(nil), byte(n>>24), byte(n>>16), byte(n>>8), byte(n)))
	})}
	l := NewListener(ln, 0)
	go srv.Serve(l)
	defer srv.Close()
	url := "http://" + ln.Addr().String()

	body := make([]byte, 5<<20+7)
	for i := range body {
		body[i] = byte(i * 13)
	}
	sum := sha256.Sum256(body)
	want := append(sum[:], byte(len(body)>>24), byte(len(body)>>16), byte(len(body)>>8), byte(len(body)))
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 4 {
				resp, err := http.Post(url, "application/octet-stream", struct{ io.Reader }{bytes.NewReader(body)}) // chunked
				if err != nil {
					t.Error(err)
					return
				}
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || !bytes.Equal(got, want) {
					t.Errorf("the server hashed another body (%v)", err)
				}
				resp, err = http.Get(url)
				if err != nil {
					t.Error(err)
					return
				}
				got, err = io.ReadAll(resp.Body)
				resp.Body.Close()
				if err != nil || !bytes.Equal(got, content) {
					t.Errorf("GET returned %d bytes (%v), want the file's %d", len(got), err, len(content))
				}
			}
		}()
	}
	wg.Wait()
	if l.fills.Load() == 0 {
		t.Error("no read went through the read-ahead")
	}
	srv.Close()
	if n := l.held.Load(); n != 0 {
		t.Errorf("with the server closed, %d buffers are still out", n)
	}
}

// Closing a connection with bytes left unread gives its buffer back.
func TestCloseReturnsBuffer(t *testing.T) {
	client, c, l := pair(t, 64)
	if _, err := client.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Read(make([]byte, 4)); err != nil {
		t.Fatal(err)
	}
	if n := l.held.Load(); n != 1 {
		t.Fatalf("with 6 bytes unread the connection holds %d buffers, want 1", n)
	}
	c.Close()
	if n := l.held.Load(); n != 0 {
		t.Errorf("closed, the connection holds %d buffers", n)
	}
}
