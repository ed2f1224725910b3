package blob

import (
	"context"
	"io"
	"net"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// A part the store buffered itself (putMultipart) leaves in writes of up to
// 1 MiB straight from its buffer. Left alone, the SDK hands the body to
// net/http inside readers of its own, and net/http copies a body of known
// length to the connection through a 32 KiB buffer: a memmove of every
// byte and a write(2) per 32 KiB. Two pieces undo that: partBodyClient puts
// the part's own body back into the request (found through the request's
// context), and largeWriteConn, the transport's connections, lets that body
// write itself to the socket when net/http copies it.

type partBodyKey struct{}

// withPartBody marks ctx's requests as carrying pb as their body.
func withPartBody(ctx context.Context, pb *partBody) context.Context {
	return context.WithValue(ctx, partBodyKey{}, pb)
}

// partBodyClient sends a request marked by withPartBody with the part's
// own body in place of the SDK's wrapping of it, when the part still holds
// exactly the request's length (nothing has read it yet).
type partBodyClient struct{ next s3.HTTPClient }

// The swap is made on a copy of the request: the SDK closes the body of its
// own request once Do returns, and so still closes its own wrapper, which
// never waits.
func (c partBodyClient) Do(req *http.Request) (*http.Response, error) {
	if pb, ok := req.Context().Value(partBodyKey{}).(*partBody); ok && req.Body != nil && req.ContentLength == int64(pb.Len()) {
		swapped := *req
		swapped.Body, swapped.GetBody = pb, nil
		return c.next.Do(&swapped)
	}
	return c.next.Do(req)
}

// largeWriteConn is a transport connection whose ReadFrom, which net/http
// reaches with the request body limited to its Content-Length, lets a
// partBody of exactly that length write itself. Anything else goes to the
// connection's own ReadFrom (sendfile for a file) as before.
type largeWriteConn struct{ net.Conn }

func (c largeWriteConn) ReadFrom(r io.Reader) (int64, error) {
	if lr, ok := r.(*io.LimitedReader); ok {
		if body, ok := lr.R.(*partBody); ok && int64(body.Len()) == lr.N {
			n, err := body.WriteTo(c.Conn)
			lr.N -= n
			return n, err
		}
	}
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(struct{ io.Writer }{c.Conn}, r)
}
