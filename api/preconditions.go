package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
)

// A download's conditional and range headers are judged here, once the file
// is known and before the download is recorded: the answers that move no
// bytes (304, 412, 416) are not downloads, and a range the contract does
// not offer (several at once) gets a clear error rather than a multipart
// body. What passes is served by http.ServeContent, which then agrees: it
// sees only a single satisfiable range, or none.

// errNotModified ends a download whose ETag the client holds.
var errNotModified = errors.New("not modified")

// rangeError is a Range header that cannot be served, for a file of size
// bytes.
type rangeError struct {
	size   int64
	reason string
}

func (e *rangeError) Error() string { return e.reason }

// checkDownload returns errNotModified, a *rangeError or an ErrPrecondition
// error when req's headers settle the answer for f without its bytes, in
// the order RFC 9110 §13.2.2 evaluates them. ranges is false when no
// bytes are served here (a redirect): Range is then the blob store's. A
// Range in another unit than bytes is removed from req, as RFC 9110 §14.2
// asks (the whole file is sent), and the unit of a bytes range is written
// in lower case, as http.ServeContent reads it.
func checkDownload(req *http.Request, f modelkeep.File, ranges bool) error {
	etag := strconv.Quote(f.SHA256)
	if im := req.Header.Get("If-Match"); im != "" && !etagListHas(im, etag, true) {
		return modelkeep.Errorf(modelkeep.ErrPrecondition, "If-Match: the file's ETag is %s", etag)
	}
	if inm := req.Header.Get("If-None-Match"); inm != "" && etagListHas(inm, etag, false) {
		return errNotModified
	}
	r := req.Header.Get("Range")
	if !ranges || r == "" {
		return nil
	}
	if ir := req.Header.Get("If-Range"); ir != "" && strings.TrimSpace(ir) != etag {
		return nil // the client's copy is another file: the whole one is sent
	}
	unit, spec, ok := strings.Cut(r, "=")
	if !ok || !strings.EqualFold(strings.TrimSpace(unit), "bytes") {
		req.Header.Del("Range")
		return nil
	}
	r = "bytes=" + spec
	req.Header.Set("Range", r)
	return checkRange(r, f.Size)
}

// etagListHas reports whether an If-Match / If-None-Match list names etag
// (or is "*"); strong comparison refuses weak tags.
func etagListHas(list, etag string, strong bool) bool {
	for tag := range strings.SplitSeq(list, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" {
			return true
		}
		if weak, ok := strings.CutPrefix(tag, "W/"); ok {
			if strong {
				continue
			}
			tag = weak
		}
		if tag == etag {
			return true
		}
	}
	return false
}

// checkRange accepts a single byte range that overlaps a file of size bytes
// (bytes=a-b, bytes=a-, bytes=-n), as net/http parses it.
func checkRange(header string, size int64) error {
	spec, ok := strings.CutPrefix(header, "bytes=")
	if !ok {
		return &rangeError{size, fmt.Sprintf("invalid Range %q: want bytes=START-END", header)}
	}
	var parts []string
	for p := range strings.SplitSeq(spec, ",") {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	if len(parts) != 1 {
		return &rangeError{size, fmt.Sprintf("invalid Range %q: one range per request", header)}
	}
	start, end, ok := strings.Cut(parts[0], "-")
	start, end = strings.TrimSpace(start), strings.TrimSpace(end)
	if !ok {
		return &rangeError{size, fmt.Sprintf("invalid Range %q: want bytes=START-END", header)}
	}
	if start == "" {
		n, err := strconv.ParseInt(end, 10, 64)
		if err != nil || n < 0 || end[0] == '+' {
			return &rangeError{size, fmt.Sprintf("invalid Range %q: want bytes=-LENGTH", header)}
		}
		if n == 0 || size == 0 {
			return &rangeError{size, fmt.Sprintf("Range %q selects no byte of the %d-byte file", header, size)}
		}
		return nil
	}
	first, err := strconv.ParseInt(start, 10, 64)
	if err != nil || first < 0 || start[0] == '+' {
		return &rangeError{size, fmt.Sprintf("invalid Range %q: want bytes=START-END", header)}
	}
	if end != "" {
		last, err := strconv.ParseInt(end, 10, 64)
		if err != nil || last < first || end[0] == '+' {
			return &rangeError{size, fmt.Sprintf("invalid Range %q: want bytes=START-END with START <= END", header)}
		}
	}
	if first >= size {
		return &rangeError{size, fmt.Sprintf("Range %q starts past the end of the %d-byte file", header, size)}
	}
	return nil
}

// answerUnsent answers a download that checkDownload settled; any other
// error is returned for the error handler.
func answerUnsent(c echo.Context, f modelkeep.File, err error) error {
	var re *rangeError
	switch {
	case errors.Is(err, errNotModified):
		c.Response().Header().Set("ETag", strconv.Quote(f.SHA256))
		return c.NoContent(http.StatusNotModified)
	case errors.As(err, &re):
		c.Response().Header().Set("Content-Range", fmt.Sprintf("bytes */%d", re.size))
		return echo.NewHTTPError(http.StatusRequestedRangeNotSatisfiable, re.reason)
	}
	return err
}
