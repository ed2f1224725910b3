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
	"testing"
)

// scriptConn is a connection whose reads return the given arrivals, one per
// read (cut to the reader's buffer), then err. It records the length of
// every read it was asked for, and whether ReadFrom and CloseWrite reached
// it.
type scriptConn struct {
	net.Conn
	arrivals   [][]byte
	err        error
	asked      []int
	readFrom   bool
	closeWrite bool
}

func (c *scriptConn) Read(p []byte) (int, error) {
	c.asked = append(c.asked, len(p))
	if len(c.arrivals) == 0 {
		return 0, c.err
	}
	n := copy(p, c.arrivals[0])
	if c.arrivals[0] = c.arrivals[0][n:]; len(c.arrivals[0]) == 0 {
		c.arrivals = c.arrivals[1:]
	}
	return n, nil
}

func (c *scriptConn) ReadFrom(r io.Reader) (int64, error) {
	c.readFrom = true
	return io.Copy(io.Discard, r)
}

func (c *scriptConn) CloseWrite() error { c.closeWrite = true; return nil }

func newConn(sc *scriptConn, size int) *Conn {
	l := NewListener(nil, size)
	return &Conn{Conn: sc, pool: l.pool, size: l.size}
}

func TestConnRead(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 10) // 100 bytes
	tests := []struct {
		name      string
		size      int
		arrivals  [][]byte
		readLen   int
		wantAsked []int // the reads the socket saw
	}{
		{"small reads share one socket read", 64, [][]byte{data}, 10, []int{64, 64, 64}},
		{"a read as long as the buffer goes straight", 64, [][]byte{data}, 64, []int{64, 64, 64}},
		{"a longer read goes straight", 32, [][]byte{data}, 100, []int{100, 100}},
		{"arrivals shorter than the buffer", 64, [][]byte{data[:30], data[30:]}, 10, []int{64, 64, 64, 64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			arrivals := make([][]byte, len(tt.arrivals))
			for i, a := range tt.arrivals {
				arrivals[i] = bytes.Clone(a)
			}
			sc := &scriptConn{arrivals: arrivals, err: io.EOF}
			c := newConn(sc, tt.size)
			var got []byte
			buf := make([]byte, tt.readLen)
			for {
				n, err := c.Read(buf)
				got = append(got, buf[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if n == 0 {
					t.Fatal("a read returned nothing and no error")
				}
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("read %q, want %q", got, data)
			}
			if !slicesEqual(sc.asked, tt.wantAsked) {
				t.Errorf("socket reads %v, want %v", sc.asked, tt.wantAsked)
			}
			if c.buf != nil {
				t.Error("a drained connection still holds its buffer")
			}
		})
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// errConn returns its bytes together with an error, as a reader may.
type errConn struct {
	net.Conn
	data []byte
	err  error
}

func (c *errConn) Read(p []byte) (int, error) {
	n := copy(p, c.data)
	c.data = c.data[n:]
	return n, c.err
}

// An error that comes with bytes is returned after them, once.
func TestConnReadErrorAfterBytes(t *testing.T) {
	boom := errors.New("boom")
	l := NewListener(nil, 64)
	c := &Conn{Conn: &errConn{data: []byte("abcdefghij"), err: boom}, pool: l.pool, size: l.size}
	buf := make([]byte, 4)
	var got []byte
	for range 3 {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("read %d: %v before the buffered bytes were out", len(got), err)
		}
		got = append(got, buf[:n]...)
	}
	if string(got) != "abcdefghij" {
		t.Fatalf("read %q", got)
	}
	if _, err := c.Read(buf); !errors.Is(err, boom) {
		t.Fatalf("then %v, want boom", err)
	}
}

func TestConnForwards(t *testing.T) {
	sc := &scriptConn{}
	c := newConn(sc, 64)
	if _, err := c.ReadFrom(strings.NewReader("x")); err != nil || !sc.readFrom {
		t.Errorf("ReadFrom did not reach the connection's (%v)", err)
	}
	if err := c.CloseWrite(); err != nil || !sc.closeWrite {
		t.Errorf("CloseWrite did not reach the connection's (%v)", err)
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
	go srv.Serve(NewListener(ln, 0))
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
}
