package blob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
)

// writeLog is a connection that records the size of every write.
type writeLog struct {
	net.Conn // nil unless wrapping a real one
	mu       sync.Mutex
	sizes    []int
	buf      bytes.Buffer
}

func (w *writeLog) Write(p []byte) (int, error) {
	w.mu.Lock()
	w.sizes = append(w.sizes, len(p))
	w.mu.Unlock()
	if w.Conn != nil {
		return w.Conn.Write(p)
	}
	return w.buf.Write(p)
}

func (w *writeLog) largest() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Max(append([]int{0}, w.sizes...))
}

func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i * 7)
	}
	return b
}

func TestLargeWriteConnReadFrom(t *testing.T) {
	const size = 3<<20 + 5
	tests := []struct {
		name      string
		skip      int   // bytes read from the part before (net/http's header buffer)
		limit     int64 // the LimitedReader's N
		plain     bool  // the body is not a partBody
		want      int   // bytes written
		wantLarge bool  // in writes larger than io.Copy's 32 KiB
	}{
		{"whole part", 0, size, false, size, true},
		{"rest after a first read", 4000, size - 4000, false, size - 4000, true},
		{"limit shorter than the part", 0, size - 10, false, size - 10, false},
		{"limit longer than the part", 0, size + 10, false, size, false},
		{"not a part (a reader with WriteTo and Len)", 0, size, true, size, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := pattern(size)
			var body io.Reader = &partBody{b: data}
			if tt.plain {
				body = bytes.NewReader(data)
			}
			if tt.skip > 0 {
				if _, err := io.ReadFull(body, make([]byte, tt.skip)); err != nil {
					t.Fatal(err)
				}
			}
			log := &writeLog{}
			n, err := largeWriteConn{log}.ReadFrom(&io.LimitedReader{R: body, N: tt.limit})
			if err != nil || n != int64(tt.want) {
				t.Fatalf("ReadFrom = %d, %v; want %d, nil", n, err, tt.want)
			}
			if !bytes.Equal(log.buf.Bytes(), data[tt.skip:tt.skip+tt.want]) {
				t.Fatal("the bytes written differ from the body's")
			}
			if large := log.largest() > 32<<10; large != tt.wantLarge {
				t.Errorf("largest write %d bytes (of %d writes): large %v, want %v", log.largest(), len(log.sizes), large, tt.wantLarge)
			}
		})
	}
}

// doerFunc is an httpDoer.
type doerFunc func(*http.Request) (*http.Response, error)

func (f doerFunc) Do(r *http.Request) (*http.Response, error) { return f(r) }

func TestPartBodyClient(t *testing.T) {
	part := &partBody{b: pattern(100)}
	read := &partBody{b: pattern(100), off: 1}
	sdkBody := io.NopCloser(bytes.NewReader(pattern(100)))
	tests := []struct {
		name   string
		ctx    context.Context
		length int64
		want   io.ReadCloser
	}{
		{"marked, whole", withPartBody(context.Background(), part), 100, part},
		{"marked, already read", withPartBody(context.Background(), read), 100, sdkBody},
		{"marked, other length", withPartBody(context.Background(), part), 99, sdkBody},
		{"not marked", context.Background(), 100, sdkBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(tt.ctx, http.MethodPut, "http://s3.invalid/b/k", sdkBody)
			if err != nil {
				t.Fatal(err)
			}
			req.ContentLength = tt.length
			var sent io.ReadCloser
			c := partBodyClient{doerFunc(func(r *http.Request) (*http.Response, error) { sent = r.Body; return nil, nil })}
			if _, err := c.Do(req); err != nil {
				t.Fatal(err)
			}
			if sent != tt.want {
				t.Errorf("sent body %T, want %T", sent, tt.want)
			}
			if req.Body != sdkBody {
				t.Errorf("the caller's request now has body %T: the SDK would close the part's", req.Body)
			}
		})
	}
}

// TestPartLeavesInLargeWrites sends a part through net/http as the SDK
// does (its body wrapped, the request marked): the server gets the part's
// bytes, and they left in writes larger than net/http's 32 KiB copy. It
// fails if net/http stops handing the body to the connection's ReadFrom
// limited to its length, which is what largeWriteConn relies on.
func TestPartLeavesInLargeWrites(t *testing.T) {
	data := pattern(8<<20 + 3)
	want := sha256.Sum256(data)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		if _, err := io.Copy(h, r.Body); err != nil || !bytes.Equal(h.Sum(nil), want[:]) {
			http.Error(w, "body differs", http.StatusBadRequest)
		}
	}))
	defer srv.Close()
	var log *writeLog
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		log = &writeLog{Conn: c}
		return log, nil
	}}
	largeWriteConns(tr)
	defer tr.CloseIdleConnections()
	client := partBodyClient{&http.Client{Transport: tr}}

	pb := &partBody{b: data}
	req, err := http.NewRequestWithContext(withPartBody(context.Background(), pb), http.MethodPut, srv.URL, struct{ io.Reader }{pb})
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(data))
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d: the server got other bytes", resp.StatusCode)
	}
	if got := log.largest(); got <= 32<<10 {
		t.Errorf("largest write %d bytes in %d writes: the part went through net/http's copy", got, len(log.sizes))
	}
}

// NewS3's client dials connections that write parts in large writes and
// close with a reset, whatever the environment changed in the resolved
// client before (a custom CA bundle replaces the client, a defaults mode
// its dialer).
func TestTransferClientConns(t *testing.T) {
	tlsSrv := httptest.NewTLSServer(http.NotFoundHandler())
	tlsSrv.Close()
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsSrv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
	}{
		{"plain", nil},
		{"custom CA bundle", map[string]string{"AWS_CA_BUNDLE": bundle}},
		{"defaults mode", map[string]string{"AWS_DEFAULTS_MODE": "standard"}},
		{"both", map[string]string{"AWS_CA_BUNDLE": bundle, "AWS_DEFAULTS_MODE": "in-region"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_CA_BUNDLE", "")
			t.Setenv("AWS_DEFAULTS_MODE", "")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			s, err := NewS3(t.Context(), S3Options{Bucket: "b", Endpoint: "http://127.0.0.1:1", Region: "us-east-1", AccessKey: "k", SecretKey: "s"})
			if err != nil {
				t.Fatalf("NewS3: %v", err)
			}
			pbc, ok := s.client.Options().HTTPClient.(partBodyClient)
			if !ok {
				t.Fatalf("client %T, want partBodyClient", s.client.Options().HTTPClient)
			}
			bc, ok := pbc.next.(*awshttp.BuildableClient)
			if !ok {
				t.Fatalf("wrapped client %T, want the SDK's buildable one", pbc.next)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			c, err := bc.GetTransport().DialContext(t.Context(), "tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := c.(largeWriteConn); !ok {
				c.Close()
				t.Fatalf("dialled %T, want largeWriteConn", c)
			}
			peer, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()
			c.Close()
			if _, err := peer.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("the peer read %v after the close, want a connection reset", err)
			}
		})
	}
}

// net/http may close a request body while its write is blocked (a server
// that answered early and stopped reading): Close returns at once and the
// write stops after the chunk in flight; close, which frees the buffer,
// waits for that chunk.
func TestPartBodyCloseDuringWrite(t *testing.T) {
	pb := &partBody{b: pattern(3 << 20)}
	server, client := net.Pipe() // a write blocks until it is read
	defer server.Close()
	written := make(chan error, 1)
	go func() {
		_, err := pb.WriteTo(client)
		written <- err
	}()
	first := make([]byte, 1000)
	if _, err := io.ReadFull(server, first); err != nil { // the first chunk is being written
		t.Fatal(err)
	}
	closed := make(chan struct{})
	go func() { pb.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close waited for the blocked write")
	}
	freed := make(chan struct{})
	go func() { pb.close(); close(freed) }()
	select {
	case <-freed:
		t.Fatal("close returned while the write still reads the buffer")
	case <-time.After(50 * time.Millisecond):
	}
	rest, err := io.ReadAll(io.LimitReader(server, 1<<20-1000)) // the rest of the chunk in flight
	if err != nil || len(rest) != 1<<20-1000 {
		t.Fatalf("read %d bytes of the first chunk's rest: %v", len(rest), err)
	}
	if err := <-written; err == nil {
		t.Error("WriteTo went on after Close")
	}
	<-freed
}
