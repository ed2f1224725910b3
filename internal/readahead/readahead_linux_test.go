package readahead

import (
	"bytes"
	"io"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// queued is the number of bytes waiting in c's socket (FIONREAD).
func queued(t *testing.T, c *Conn) int {
	t.Helper()
	var n int
	err := c.raw.Control(func(fd uintptr) {
		var v int32
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&v))); e != 0 {
			t.Fatal(e)
		}
		n = int(v)
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// Reads shorter than the size share one read(2) of what the socket holds;
// longer ones go straight to the socket.
func TestConnReadAhead(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 10) // 100 bytes
	tests := []struct {
		name      string
		size      int
		readLen   int
		wantReads int // read(2) calls into the connection's buffer
	}{
		{"short reads, all in one", 256, 10, 1},
		{"short reads, buffer smaller than what waits", 64, 10, 2},
		{"one byte at a time", 256, 1, 1},
		{"reads as long as the buffer go straight", 64, 64, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, c, l := pair(t, tt.size)
			if _, err := client.Write(data); err != nil {
				t.Fatal(err)
			}
			client.Close()
			for deadline := time.Now().Add(5 * time.Second); queued(t, c) < len(data); {
				if time.Now().After(deadline) {
					t.Fatalf("only %d of %d bytes arrived", queued(t, c), len(data))
				}
				time.Sleep(time.Millisecond)
			}
			var got []byte
			p := make([]byte, tt.readLen)
			for {
				n, err := c.Read(p)
				got = append(got, p[:n]...)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("read %q, want %q", got, data)
			}
			if n := l.fills.Load(); n != int64(tt.wantReads) {
				t.Errorf("%d read(2) calls into the buffer, want %d", n, tt.wantReads)
			}
			if n := l.held.Load(); n != 0 {
				t.Errorf("read out, the connection holds %d buffers", n)
			}
		})
	}
}
