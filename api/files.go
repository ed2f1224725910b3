package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/modelkeep/modelkeep"
)

// The byte routes are bound by hand: {path} may contain '/', and bodies must
// stream, so neither the generated binder nor the body validator may touch
// them (both read whole bodies).

// rawParam returns a path parameter decoded. Echo matches on the escaped path
// when the URL has one (RawPath), and then leaves parameters escaped.
func rawParam(c echo.Context, name string) (string, error) {
	v := c.Param(name)
	if c.Request().URL.RawPath == "" {
		return v, nil
	}
	u, err := url.PathUnescape(v)
	if err != nil {
		return "", modelkeep.Errorf(modelkeep.ErrInvalid, "invalid escape in %s", name)
	}
	return u, nil
}

type fileRef struct {
	model   string
	version int
	path    string
}

func parseFileRef(c echo.Context) (fileRef, error) {
	model, err := rawParam(c, "model")
	if err != nil {
		return fileRef{}, err
	}
	verStr, err := rawParam(c, "version")
	if err != nil {
		return fileRef{}, err
	}
	version, ok := CanonicalInt(verStr)
	if !ok || version < 1 || version > modelkeep.MaxVersionNumber {
		return fileRef{}, modelkeep.Errorf(modelkeep.ErrInvalid, "invalid version %q: want a number from 1 to %d, without sign or leading zero",
			verStr, modelkeep.MaxVersionNumber)
	}
	path, err := rawParam(c, "*")
	if err != nil {
		return fileRef{}, err
	}
	return fileRef{model: model, version: int(version), path: path}, nil
}

// checksumHeader is the X-Checksum-Sha256 of an upload: "" when the header
// is absent; sent empty (or more than once) it is a 400, never taken for
// "no checksum".
func checksumHeader(h http.Header) (string, error) {
	values, ok := h[checksumHeaderKey]
	switch {
	case !ok:
		return "", nil
	case len(values) > 1:
		return "", modelkeep.Errorf(modelkeep.ErrInvalid, "header X-Checksum-Sha256 is sent %d times: send it once", len(values))
	case strings.TrimSpace(values[0]) == "":
		return "", modelkeep.Errorf(modelkeep.ErrInvalid, "header X-Checksum-Sha256 is empty: send the body's SHA-256 in hex, or leave the header out")
	}
	return values[0], nil
}

var checksumHeaderKey = http.CanonicalHeaderKey("X-Checksum-Sha256")

// tooLargeReader turns http.MaxBytesReader's error into the domain's 413.
type tooLargeReader struct {
	r     io.Reader
	limit int64
}

func (t tooLargeReader) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = modelkeep.Errorf(modelkeep.ErrTooLarge, "body is larger than the upload limit of %d bytes", t.limit)
	}
	return n, err
}

// UploadFile handles PUT .../files/{path}.
func (h *Handlers) UploadFile(c echo.Context) error {
	ref, err := parseFileRef(c)
	if err != nil {
		return err
	}
	req := c.Request()
	body, checksum, err := h.uploadBody(c)
	if err != nil {
		return err
	}
	f, err := h.svc.PutFile(req.Context(), modelkeep.PutFileInput{
		Model: ref.model, Version: ref.version, Path: ref.path,
		Body: body, Size: req.ContentLength, ExpectedSHA256: checksum,
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toFile(f))
}

// uploadBody is the body of a streamed upload (a file's PUT, a document's
// POST) and its X-Checksum-Sha256: refused at once when its Content-Length
// is over the upload limit, failing with ErrTooLarge once a chunked one
// goes over it, and without a read deadline, since large bodies take long
// (for this request only).
func (h *Handlers) uploadBody(c echo.Context) (io.Reader, string, error) {
	req := c.Request()
	if req.ContentLength > h.maxUploadSize {
		return nil, "", modelkeep.Errorf(modelkeep.ErrTooLarge, "body of %d bytes is larger than the upload limit of %d bytes", req.ContentLength, h.maxUploadSize)
	}
	checksum, err := checksumHeader(req.Header)
	if err != nil {
		return nil, "", err
	}
	_ = http.NewResponseController(c.Response()).SetReadDeadline(time.Time{})
	return tooLargeReader{r: http.MaxBytesReader(c.Response(), req.Body, h.maxUploadSize), limit: h.maxUploadSize}, checksum, nil
}

// DownloadFile handles GET .../files/{path}.
func (h *Handlers) DownloadFile(c echo.Context) error {
	ref, err := parseFileRef(c)
	if err != nil {
		return err
	}
	redirect := false
	if s := c.QueryParam("redirect"); s != "" {
		if redirect, err = strconv.ParseBool(s); err != nil {
			return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid redirect %q: want true or false", s)
		}
	}
	req := c.Request()
	var file content
	d, err := h.svc.DownloadFile(req.Context(), modelkeep.DownloadInput{
		Model: ref.model, Version: ref.version, Path: ref.path, Redirect: redirect, PresignTTL: h.presignTTL,
		Check: func(f modelkeep.File, redirect bool) error {
			file = content{sha256: f.SHA256, size: f.Size}
			return checkDownload(req, file, !redirect)
		},
	})
	if err != nil {
		return answerUnsent(c, file, err)
	}
	if d.URL != "" {
		c.Response().Header().Set("Cache-Control", "no-store")
		return c.Redirect(http.StatusTemporaryRedirect, d.URL)
	}
	defer d.Content.Close()
	_ = http.NewResponseController(c.Response()).SetWriteDeadline(time.Time{})
	setDownloadHeaders(c.Response().Header(), d.File)
	// ServeContent answers Range and If-Range against the ETag set above
	// (checkDownload has refused what it would answer without the bytes);
	// with a lazy S3 reader, seeking costs no I/O.
	http.ServeContent(largeCopyWriter{c.Response()}, req, "", time.Time{}, d.Content)
	return nil
}

// HeadFile handles HEAD .../files/{path}: the download's headers, as
// DownloadFile sets them and http.ServeContent completes them
// (Content-Length, Accept-Ranges, Content-Range), from the file's record
// alone: the content handed to ServeContent only knows its size, and
// ServeContent reads no body for HEAD. Not a download, so not recorded.
func (h *Handlers) HeadFile(c echo.Context) error {
	ref, err := parseFileRef(c)
	if err != nil {
		return err
	}
	if s := c.QueryParam("redirect"); s != "" {
		if _, err := strconv.ParseBool(s); err != nil {
			return modelkeep.Errorf(modelkeep.ErrInvalid, "invalid redirect %q: want true or false", s)
		}
	}
	req := c.Request()
	f, err := h.svc.StatFile(req.Context(), ref.model, ref.version, ref.path)
	if err != nil {
		return err
	}
	file := content{sha256: f.SHA256, size: f.Size}
	if err := checkDownload(req, file, true); err != nil {
		return answerUnsent(c, file, err)
	}
	setDownloadHeaders(c.Response().Header(), f)
	http.ServeContent(c.Response(), req, "", time.Time{}, io.NewSectionReader(noBytes{}, 0, f.Size))
	return nil
}

// noBytes is the content of a HEAD answer: never read.
type noBytes struct{}

func (noBytes) ReadAt([]byte, int64) (int, error) {
	return 0, errors.New("a HEAD answer reads no content")
}

// setDownloadHeaders sets the headers of a file's download that are the
// file's own; ServeContent adds those of the answer.
func setDownloadHeaders(hdr http.Header, f modelkeep.File) {
	hdr.Set("ETag", fmt.Sprintf("%q", f.SHA256))
	hdr.Set("X-Checksum-Sha256", f.SHA256)
	hdr.Set("Content-Type", "application/octet-stream")
	hdr.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", baseName(f.Path)))
}

// DeleteFile handles DELETE .../files/{path}.
func (h *Handlers) DeleteFile(c echo.Context) error {
	ref, err := parseFileRef(c)
	if err != nil {
		return err
	}
	if _, err := h.svc.DeleteFile(c.Request().Context(), ref.model, ref.version, ref.path); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// copyBufSize is the buffer of artifact downloads. ServeContent copies with
// io.CopyN, which uses a 32 KiB buffer when the writer has no ReadFrom (Echo's
// has none): a system call per 32 KiB made the server's CPU the bottleneck
// of a 1 GiB download (bench/README.md at commit 8f700e0); 1 MiB cuts it by
// about two thirds.
const copyBufSize = 1 << 20

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// largeCopyWriter gives the response a ReadFrom that copies with a pooled
// large buffer.
type largeCopyWriter struct{ http.ResponseWriter }

func (w largeCopyWriter) ReadFrom(r io.Reader) (int64, error) {
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	// The anonymous struct hides ReadFrom, so CopyBuffer uses the buffer
	// instead of calling back into this method.
	return io.CopyBuffer(struct{ io.Writer }{w.ResponseWriter}, r, *bp)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w largeCopyWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func baseName(p string) string {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return p[i+1:]
		}
	}
	return p
}
