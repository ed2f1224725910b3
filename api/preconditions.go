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
// sees only a single satisfiable range, or none (an invalid Range header is
// removed: ignored, the whole file is sent). Files and evidence documents
// are judged alike.

// errNotModified ends a download whose ETag the client holds.
var errNotModified = errors.New("not modified")

// rangeError is a Range header that cannot be served, for a file of size
// bytes.
type rangeError struct {
	size   int64
	reason string
}

func (e *rangeError) Error() string { return e.reason }

// content is what a download serves: a file's or an evidence document's
// bytes, known by their SHA-256 (the ETag) and size.
type content struct {
	sha256 string
	size   int64
}

// checkDownload returns errNotModified, a *rangeError or an ErrPrecondition
// error when req's headers settle the answer for f without its bytes, in
// the order RFC 9110 §13.2.2 evaluates them. ranges is false when no
// bytes are served here (a redirect): Range is then the blob store's. A
// Range in another unit than bytes, or one that is not a valid
// ranges-specifier (errIgnoredRange), is removed from req, as RFC 9110
// §14.2 asks and allows (the whole file is sent), and the unit of a bytes
// range is written in lower case, as http.ServeContent reads it.
func checkDownload(req *http.Request, f content, ranges bool) error {
	etag := strconv.Quote(f.sha256)
	if im := req.Header.Get("If-Match"); im != "" && !etagListHas(im, etag, true) {
		return modelkeep.Errorf(modelkeep.ErrPrecondition, "If-Match: the ETag is %s", etag)
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
	err := checkRange(r, f.size)
	if errors.Is(err, errIgnoredRange) {
		req.Header.Del("Range")
		return nil
	}
	return err
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

// errIgnoredRange is a Range header that is not a valid ranges-specifier
// (RFC 9110 §14.1.1): not digits, a last position before the first, no
// range at all, or a number past 2^63-1. Such a header is ignored and the
// whole file is sent, as RFC 9110 §14.2 allows and HTTP caches and servers
// commonly do: a 416 is kept for ranges that are well formed but select
// nothing this server serves.
var errIgnoredRange = errors.New("invalid Range: ignored")

// checkRange judges a bytes Range header for a file of size bytes: nil for
// a single satisfiable range (bytes=a-b, bytes=a-, bytes=-n), as net/http
// serves it; errIgnoredRange when the header is not a valid
// ranges-specifier; a *rangeError (416) when it is valid but several ranges,
// or none that overlaps the file.
func checkRange(header string, size int64) error {
	spec, ok := strings.CutPrefix(header, "bytes=")
	if !ok {
		return errIgnoredRange
	}
	type byteRange struct {
		first, last int64 // first -1: a suffix of last bytes; last -1: to the end
	}
	var ranges []byteRange
	for p := range strings.SplitSeq(spec, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue // empty list elements are allowed (RFC 9110 §5.6.1)
		}
		start, end, ok := strings.Cut(p, "-")
		if !ok {
			return errIgnoredRange
		}
		start, end = strings.TrimSpace(start), strings.TrimSpace(end)
		r := byteRange{first: -1, last: -1}
		if start != "" {
			if r.first, ok = rangeNumber(start); !ok {
				return errIgnoredRange
			}
		}
		if end != "" {
			if r.last, ok = rangeNumber(end); !ok || start != "" && r.last < r.first {
				return errIgnoredRange
			}
		} else if start == "" {
			return errIgnoredRange // "-" alone
		}
		ranges = append(ranges, r)
	}
	switch {
	case len(ranges) == 0:
		return errIgnoredRange
	case len(ranges) > 1:
		return &rangeError{size, fmt.Sprintf("Range %q asks for %d ranges: one range per request", header, len(ranges))}
	}
	r := ranges[0]
	if r.first < 0 {
		if r.last == 0 || size == 0 {
			return &rangeError{size, fmt.Sprintf("Range %q selects no byte of the %d-byte file", header, size)}
		}
		return nil
	}
	if r.first >= size {
		return &rangeError{size, fmt.Sprintf("Range %q starts past the end of the %d-byte file", header, size)}
	}
	return nil
}

// rangeNumber reads a position of a byte range: digits only (no sign, no
// space), within int64.
func rangeNumber(s string) (int64, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// answerUnsent answers a download that checkDownload settled; any other
// error is returned for the error handler.
func answerUnsent(c echo.Context, f content, err error) error {
	var re *rangeError
	switch {
	case errors.Is(err, errNotModified):
		c.Response().Header().Set("ETag", strconv.Quote(f.sha256))
		return c.NoContent(http.StatusNotModified)
	case errors.As(err, &re):
		c.Response().Header().Set("Content-Range", fmt.Sprintf("bytes */%d", re.size))
		return echo.NewHTTPError(http.StatusRequestedRangeNotSatisfiable, re.reason)
	}
	return err
}
