package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/modelkeep/modelkeep"
)

// EventKind says what a transfer Event is about.
type EventKind int

// The events of Push and Pull, in the order a file sees them.
const (
	FileQueued  EventKind = iota // the file will be transferred (Size set)
	FileSkipped                  // the version holds it already with the same SHA-256
	FileResumed                  // an open session was found; Bytes is what it received before
	Bytes                        // Bytes more sent or received (negative: an attempt failed and is repeated)
	FileDone                     // the file is in the version (push) or verified (pull)
)

// Event reports the progress of a transfer. Events of different files
// come from different goroutines, at the same time.
type Event struct {
	Kind  EventKind
	Path  string
	Size  int64
	Bytes int64
}

// PushOptions says what to push where.
type PushOptions struct {
	Model   string
	Version int    // a pending version
	Dir     string // every regular file under it, path relative to it
	// Parallel is how many requests run at once (4 when 0).
	Parallel int
	// Threshold: files of at least this size go as resumable uploads in
	// parts, smaller ones in one PUT (8 MiB when 0).
	Threshold int64
	// ThroughServer sends every part through the server even where the
	// blob store would take parts straight from the client (presigned
	// URLs, S3).
	ThroughServer bool
	Progress      func(Event)
}

// PushResult is what a push did.
type PushResult struct {
	Model          string   `json:"model"`
	Version        int      `json:"version"`
	ManifestDigest string   `json:"manifest_digest"`
	Files          []File   `json:"files"`
	Uploaded       []string `json:"uploaded"`
	Skipped        []string `json:"skipped"`
	BytesSent      int64    `json:"bytes_sent"`
}

type localFile struct {
	path    string // in the version
	local   string // on disk
	size    int64
	modTime time.Time
	sha     string // "" until hashed (large files are hashed only when needed, see Push)
}

// Scan lists the regular files under dir (symbolic links to files
// followed) with their paths in a version, sorted.
func Scan(dir string) ([]localFile, error) {
	var out []localFile
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		info, err := os.Stat(p) // follows a link
		if err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if err := modelkeep.ValidateFilePath(rel); err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, localFile{path: rel, local: p, size: info.Size(), modTime: info.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("scan %s: %w", dir, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// ManifestDigest is the digest the server gives a version holding files.
func ManifestDigest(files []File) string {
	mf := make([]modelkeep.File, len(files))
	for i, f := range files {
		mf[i] = modelkeep.File{Path: f.Path, Size: f.Size, SHA256: f.SHA256}
	}
	return modelkeep.ManifestDigest(mf)
}

// Push sends every file under opts.Dir into a pending version. Files the
// version holds with the same SHA-256 are skipped; files of at least
// Threshold bytes go through resumable upload sessions whose parts are
// sent Parallel at a time; an open session of an earlier, interrupted
// push is resumed, sending only the parts it lacks. When it fails (or ctx
// ends) the sessions stay open, so that pushing again resumes.
func (c *Client) Push(ctx context.Context, opts PushOptions) (PushResult, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.Threshold <= 0 {
		opts.Threshold = 8 << 20
	}
	notify := opts.Progress
	if notify == nil {
		notify = func(Event) {}
	}
	res := PushResult{Model: opts.Model, Version: opts.Version}
	files, err := Scan(opts.Dir)
	if err != nil {
		return res, err
	}
	if len(files) == 0 {
		return res, fmt.Errorf("%s holds no files to push", opts.Dir)
	}
	have, err := c.ListFiles(ctx, opts.Model, opts.Version)
	if err != nil {
		return res, err
	}
	existing := map[string]File{}
	for _, f := range have.Files {
		existing[f.Path] = f
	}
	open := map[string]Upload{}
	if slices.ContainsFunc(files, func(f localFile) bool { return resumable(f, opts.Threshold) }) {
		ups, err := c.ListOpenUploads(ctx, opts.Model, opts.Version)
		if err != nil {
			return res, err
		}
		for _, u := range ups {
			if _, ok := open[u.Path]; !ok { // newest first
				open[u.Path] = u
			}
		}
	}
	// A large file is hashed whole only when that decides something: the
	// version holds a file of that path and size (skip it when the same),
	// an open session announced a SHA-256 for it (resume it when the
	// same), or an open session of CRC32C parts is resumed (its parts are
	// compared by CRC32C, so the completion's SHA-256 is checked against
	// the file's). Otherwise its parts' checksums (SHA-256 through the
	// server, CRC32C straight to the blob store), each checked there,
	// carry the bytes, and the server hashes the whole file at completion:
	// hashing it here too was a third of a push's CPU.
	var toHash []int
	for i, f := range files {
		e, inVersion := existing[f.path]
		u, inSession := open[f.path]
		if !resumable(f, opts.Threshold) || (inVersion && e.Size == f.size) || (inSession && u.Size == f.size && (u.SHA256 != "" || u.PartChecksum == "crc32c")) {
			toHash = append(toHash, i)
		}
	}
	if err := hashAll(ctx, files, toHash, opts.Parallel); err != nil {
		return res, err
	}
	var todo []localFile
	for _, f := range files {
		if e, ok := existing[f.path]; ok && f.sha != "" && e.SHA256 == f.sha && e.Size == f.size {
			res.Skipped = append(res.Skipped, f.path)
			notify(Event{Kind: FileSkipped, Path: f.path, Size: f.size})
			continue
		}
		todo = append(todo, f)
		notify(Event{Kind: FileQueued, Path: f.path, Size: f.size})
	}

	p := &pusher{c: c, model: opts.Model, version: opts.Version, notify: notify, stored: map[string]string{}}
	if opts.ThroughServer {
		p.noDirect.Store(true)
	}
	var small, large, direct []func(context.Context) error
	var largeParts [][]func(context.Context) error
	for _, f := range todo {
		if !resumable(f, opts.Threshold) {
			small = append(small, func(ctx context.Context) error { return p.putSmall(ctx, f) })
			continue
		}
		up, received, err := p.session(ctx, f, open[f.path])
		if err != nil {
			return res, err
		}
		if p.direct(up) {
			// Parts that go straight to the blob store are not hashed by
			// the server as they arrive (it reads the file back at
			// completion): all requests serve one file after the other,
			// so that one file's completion overlaps the next one's parts.
			direct = append(direct, p.partTasks(f, up, received)...)
			continue
		}
		largeParts = append(largeParts, p.partTasks(f, up, received))
	}
	// Parallel requests are shared out among the large files: with as many
	// large files as requests, each file's parts go one at a time, in
	// order, so that the server hashes the file as it arrives and need not
	// read it back at completion (docs/uploads.md, section 2); with fewer,
	// a file's parts go several at a time.
	lanes := 1
	if n := len(largeParts); n > 0 {
		lanes = max(1, opts.Parallel/n)
	}
	for _, parts := range largeParts {
		large = append(large, func(ctx context.Context) error { return runLimited(ctx, parts, lanes) })
	}
	// Parts that go straight to the blob store are interleaved with the
	// small files, each a round trip to the server that records it: the
	// two overlap to the end.
	tasks := append(large, interleave(direct, small)...)

	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Parallel)
	for _, t := range tasks {
		g.Go(func() error { return t(gctx) })
	}
	err = g.Wait()
	res.BytesSent = p.sent.Load()
	if err != nil {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, err
	}
	for _, f := range todo {
		res.Uploaded = append(res.Uploaded, f.path)
	}
	res.Files = make([]File, len(files))
	for i, f := range files {
		if f.sha == "" {
			f.sha = p.stored[f.path] // what the server hashed at completion
		}
		res.Files[i] = File{Path: f.path, Size: f.size, SHA256: f.sha}
	}
	res.ManifestDigest = ManifestDigest(res.Files)
	return res, nil
}

// resumable reports whether f goes through a resumable upload session.
func resumable(f localFile, threshold int64) bool { return f.size >= threshold && f.size > 0 }

// runLimited runs tasks, n at a time, started in order.
func runLimited(ctx context.Context, tasks []func(context.Context) error, n int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for _, t := range tasks {
		g.Go(func() error { return t(gctx) })
	}
	return g.Wait()
}

// hashAll computes the SHA-256 of the files at the indexes which, n at a
// time.
func hashAll(ctx context.Context, files []localFile, which []int, n int) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for _, i := range which {
		g.Go(func() error {
			f := &files[i]
			sum, size, err := hashRange(gctx, f.local, 0, -1)
			if err != nil {
				return err
			}
			if size != f.size {
				return fmt.Errorf("%s changed while it was read", f.local)
			}
			f.sha = sum
			return nil
		})
	}
	return g.Wait()
}

// hashRange is the hex SHA-256 of length bytes of a file from off (to the
// end when length < 0) and how many bytes it read.
func hashRange(ctx context.Context, name string, off, length int64) (string, int64, error) {
	return sumRange(ctx, name, off, length, sha256.New())
}

// castagnoli is the CRC32C table (hardware-assisted where the CPU has it).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cRange is hashRange with CRC32C (Castagnoli, big-endian hex, as S3
// checks it).
func crc32cRange(ctx context.Context, name string, off, length int64) (string, int64, error) {
	return sumRange(ctx, name, off, length, crc32.New(castagnoli))
}

func sumRange(ctx context.Context, name string, off, length int64, h hash.Hash) (string, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	var r io.Reader = f
	if length >= 0 {
		r = io.NewSectionReader(f, off, length)
	}
	n, err := io.Copy(h, ctxReader{ctx, r})
	if err != nil {
		return "", n, fmt.Errorf("read %s: %w", name, err)
	}
	if length >= 0 && n != length {
		return "", n, fmt.Errorf("%s became shorter while it was read", name)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// ctxReader stops a long local read when the context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (r ctxReader) Read(p []byte) (int, error) {
	if err := r.ctx.Err(); err != nil {
		return 0, err
	}
	return r.r.Read(p)
}

type pusher struct {
	c       *Client
	model   string
	version int
	notify  func(Event)
	sent    atomic.Int64
	// noDirect: parts go through the server (asked for, or the blob store
	// turned out unreachable from here).
	noDirect atomic.Bool
	// stored holds the SHA-256 the server found at completion for the
	// files pushed without one of their own, by path.
	mu     sync.Mutex
	stored map[string]string
}

// direct reports whether a session's parts go straight to the blob store.
func (p *pusher) direct(up Upload) bool { return up.PresignedParts && !p.noDirect.Load() }

// session finds the session to send f through: the open one of an earlier
// push when it announced the same size and SHA-256 (with the parts it
// received), else a new one (a stale one is aborted first).
func (p *pusher) session(ctx context.Context, f localFile, prev Upload) (Upload, map[int]UploadPart, error) {
	if prev.ID != "" {
		// "" and "": both unhashed, the parts decide (by their SHA-256); a
		// session of CRC32C parts that announced none is resumed with the
		// file hashed whole, checked at completion.
		if prev.Size == f.size && (prev.SHA256 == f.sha || (prev.SHA256 == "" && prev.PartChecksum == "crc32c")) {
			full, err := p.c.GetUpload(ctx, p.model, p.version, prev.ID)
			if err != nil {
				return Upload{}, nil, err
			}
			if full.Status == "open" {
				received := map[int]UploadPart{}
				var bytes int64
				for _, part := range full.Parts {
					received[part.Number] = part
					bytes += part.Size
				}
				p.notify(Event{Kind: FileResumed, Path: f.path, Size: f.size, Bytes: bytes})
				return full, received, nil
			}
		} else if err := p.c.AbortUpload(ctx, p.model, p.version, prev.ID); err != nil && StatusOf(err) != http.StatusConflict {
			return Upload{}, nil, err
		}
	}
	up, err := p.c.CreateUpload(ctx, p.model, p.version, f.path, f.size, f.sha)
	if err != nil {
		return Upload{}, nil, fmt.Errorf("%s: %w", f.path, err)
	}
	return up, map[int]UploadPart{}, nil
}

// keepStored notes the SHA-256 the server found for a file pushed without
// one of its own. Its parts were each checked against what was read here,
// so the stored file is this file as read, unless it changed while it was
// pushed: then it is an error, as when hashing it whole finds it changed.
func (p *pusher) keepStored(f localFile, sha string) error {
	info, err := os.Stat(f.local)
	if err != nil {
		return err
	}
	if info.Size() != f.size || !info.ModTime().Equal(f.modTime) {
		return fmt.Errorf("%s changed while it was pushed: push again", f.local)
	}
	p.mu.Lock()
	p.stored[f.path] = sha
	p.mu.Unlock()
	return nil
}

// partTasks are the sends of a file's parts; the one that finishes last
// completes the session.
func (p *pusher) partTasks(f localFile, up Upload, received map[int]UploadPart) []func(context.Context) error {
	left := atomic.Int32{}
	left.Store(int32(up.PartCount))
	var once sync.Once
	complete := func(ctx context.Context) error {
		var err error
		once.Do(func() {
			var got File
			// A file hashed here (to resume a session that announced no
			// SHA-256) goes with its SHA-256, so that the server keeps
			// nothing else.
			want := ""
			if up.SHA256 == "" {
				want = f.sha
			}
			got, err = p.c.CompleteUploadChecked(ctx, p.model, p.version, up.ID, want)
			switch {
			case err != nil:
			case got.Size != f.size || (f.sha != "" && got.SHA256 != f.sha):
				err = &VerificationError{Path: f.path, What: "sha256", Expected: f.sha, Actual: got.SHA256}
			case f.sha == "":
				err = p.keepStored(f, got.SHA256)
			}
			if err == nil {
				p.notify(Event{Kind: FileDone, Path: f.path, Size: f.size})
			}
		})
		return err
	}
	tasks := make([]func(context.Context) error, 0, up.PartCount)
	for n := 1; n <= up.PartCount; n++ {
		start := int64(n-1) * up.PartSize
		length := min(up.PartSize, f.size-start)
		tasks = append(tasks, func(ctx context.Context) error {
			if err := p.sendPart(ctx, f, up, n, start, length, received[n]); err != nil {
				return err
			}
			if left.Add(-1) == 0 {
				return complete(ctx)
			}
			return nil
		})
	}
	return tasks
}

// sendPart sends part n unless the session has it already as the file
// holds it now. A session whose parts are signed with their CRC32C sends
// the part straight to the blob store with it (cheap: the SHA-256 the
// server then verifies is of the whole file, at completion); through the
// server a part goes with its SHA-256.
func (p *pusher) sendPart(ctx context.Context, f localFile, up Upload, n int, start, length int64, got UploadPart) error {
	if got.Number == n && got.Size == length {
		same, err := samePart(ctx, f, start, length, got)
		if err != nil || same {
			return err // received before: counted in FileResumed
		}
	}
	var sum string // the part's SHA-256, once hashed
	if p.direct(up) {
		signed, err := directChecksum(ctx, f, up, n, start, length)
		if err != nil {
			return err
		}
		sum = signed.SHA256
		if err := p.sendPartDirect(ctx, f, up, n, start, length, signed); !errors.Is(err, errThroughServer) {
			return err
		}
	}
	if sum == "" {
		var err error
		if sum, _, err = hashRange(ctx, f.local, start, length); err != nil {
			return err
		}
	}
	path := versionPath(p.model, p.version) + "/uploads/" + seg(up.ID) + "/parts/" + strconv.Itoa(n)
	var part UploadPart
	err := p.sendFile(ctx, f, path, start, length, sum, &part)
	// A 409 says the session ended while the part was sent; when it is in
	// fact still open (the blob store lost track of a part interrupted
	// earlier), sending the part again is the way on.
	for again := 0; again < 2 && StatusOf(err) == http.StatusConflict; again++ {
		cur, gerr := p.c.GetUpload(ctx, p.model, p.version, up.ID)
		if gerr != nil || cur.Status != "open" {
			break
		}
		err = p.sendFile(ctx, f, path, start, length, sum, &part)
	}
	if err != nil {
		return fmt.Errorf("%s: part %d: %w", f.path, n, err)
	}
	if part.SHA256 != sum {
		return &VerificationError{Path: f.path, What: fmt.Sprintf("part %d sha256", n), Expected: sum, Actual: part.SHA256}
	}
	return nil
}

// directChecksum is what a presigned request for part n is signed with:
// the session's algorithm, its CRC32C (cheap: the server verifies the whole
// file's SHA-256 at completion), or its SHA-256 for a session of a server
// from before CRC32C.
func directChecksum(ctx context.Context, f localFile, up Upload, n int, start, length int64) (PartChecksum, error) {
	if up.PartChecksum == "crc32c" {
		crc, _, err := crc32cRange(ctx, f.local, start, length)
		return PartChecksum{Number: n, CRC32C: crc}, err
	}
	sum, _, err := hashRange(ctx, f.local, start, length)
	return PartChecksum{Number: n, SHA256: sum}, err
}

// samePart reports whether a part the session received holds the file's
// bytes there now, by the checksum the session lists for it: its SHA-256
// where there is one, else its CRC32C (a part sent straight to the blob
// store). A CRC32C can coincide for other bytes (about one in four
// billion); a file resumed so is hashed whole beforehand, and its SHA-256
// checked against the server's at completion (Push).
func samePart(ctx context.Context, f localFile, start, length int64, got UploadPart) (bool, error) {
	switch {
	case got.SHA256 != "":
		sum, _, err := hashRange(ctx, f.local, start, length)
		return sum == got.SHA256, err
	case got.CRC32C != "":
		sum, _, err := crc32cRange(ctx, f.local, start, length)
		return sum == got.CRC32C, err
	}
	return false, nil
}

// errThroughServer says a part could not go straight to the blob store and
// is to go through the server instead.
var errThroughServer = errors.New("send the part through the server")

// sendPartDirect sends a part straight to the blob store with a presigned
// request, asked for right before (the URL is short-lived, and signed with
// the part's checksum). A request the store refused for its signature (an
// expired URL), for the bytes (corrupted on the way: BadDigest) or for load,
// or whose connection broke, is asked for and sent again. It returns
// errThroughServer when the part is better sent through the server: the
// store cannot be reached from here (then no later part tries either), the
// server answers 409 (it says why on the server's way), or the store kept
// refusing.
func (p *pusher) sendPartDirect(ctx context.Context, f localFile, up Upload, n int, start, length int64, sum PartChecksum) error {
	for attempt := 0; ; attempt++ {
		urls, err := p.c.PresignParts(ctx, p.model, p.version, up.ID, []PartChecksum{sum})
		if StatusOf(err) == http.StatusConflict {
			return errThroughServer
		}
		if err != nil {
			return fmt.Errorf("%s: part %d: %w", f.path, n, err)
		}
		err = p.putDirect(ctx, f, urls[0], start, length)
		var local *localError
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &local):
			return fmt.Errorf("%s: %w", f.path, err)
		case unreachable(err):
			p.noDirect.Store(true)
			return errThroughServer
		case attempt >= p.c.Retries || !retryDirect(err):
			return errThroughServer
		}
		if err := p.c.sleep(ctx, attempt, 0); err != nil {
			return err
		}
	}
}

// retryDirect reports whether a presigned part that failed with err is
// worth asking for and sending again.
func retryDirect(err error) bool {
	var se *StoreError
	if errors.As(err, &se) && se.Code == "BadDigest" {
		return true // the bytes changed on the way
	}
	return expiredOrDenied(err) || retryableStore(err)
}

// putDirect sends length bytes of a file from start with a presigned part
// request. The file itself is the request's body, so that the transport
// sends it with sendfile(2); the progress counts the part once it is
// stored.
func (p *pusher) putDirect(ctx context.Context, f localFile, u PartURL, start, length int64) error {
	if u.Size != length {
		return fmt.Errorf("part %d: the server presigned %d bytes, the part has %d", u.Number, u.Size, length)
	}
	fh, err := os.Open(f.local)
	if err != nil {
		return &localError{err}
	}
	if _, err := fh.Seek(start, io.SeekStart); err != nil {
		fh.Close()
		return &localError{err}
	}
	resp, err := p.c.sendDirect(ctx, u.Method, u.URL, u.Headers, sectionFile{fh, start + length}, length, http.StatusOK)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	p.sent.Add(length)
	p.notify(Event{Kind: Bytes, Path: f.path, Bytes: length})
	return nil
}

// sectionFile is a request body of a file's bytes from its offset up to
// end. It gives the transport the file's descriptor (syscall.Conn), so that
// the bytes go out with sendfile(2) rather than through a buffer; its Read
// goes by the file's offset, which sendfile moves too, so that the
// transport's check that the body holds no more than its length holds.
type sectionFile struct {
	f   *os.File
	end int64
}

func (s sectionFile) Read(p []byte) (int, error) {
	pos, err := s.f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	if pos >= s.end {
		return 0, io.EOF
	}
	if left := s.end - pos; int64(len(p)) > left {
		p = p[:left]
	}
	return s.f.Read(p)
}

func (s sectionFile) Close() error { return s.f.Close() }

func (s sectionFile) SyscallConn() (syscall.RawConn, error) { return s.f.SyscallConn() }

func (p *pusher) putSmall(ctx context.Context, f localFile) error {
	var got File
	path := versionPath(p.model, p.version) + "/files/" + filePath(f.path)
	if err := p.sendFile(ctx, f, path, 0, f.size, f.sha, &got); err != nil {
		return fmt.Errorf("%s: %w", f.path, err)
	}
	if got.SHA256 != f.sha || got.Size != f.size {
		return &VerificationError{Path: f.path, What: "sha256", Expected: f.sha, Actual: got.SHA256}
	}
	p.notify(Event{Kind: FileDone, Path: f.path, Size: f.size})
	return nil
}

// sendFile PUTs length bytes of a file from start with their SHA-256 and
// decodes the answer. A 422 (the bytes arrived other than sent) is sent
// again like a broken connection; the progress counts each attempt's bytes
// back out when it fails.
func (p *pusher) sendFile(ctx context.Context, f localFile, path string, start, length int64, sum string, out any) error {
	var attempt *countingReader
	undo := func() {
		if attempt != nil {
			if n := attempt.n.Load(); n > 0 {
				p.notify(Event{Kind: Bytes, Path: f.path, Bytes: -n})
			}
		}
	}
	var files []*os.File
	defer func() {
		for _, fh := range files {
			fh.Close()
		}
	}()
	resp, err := p.c.send(ctx, request{
		method: http.MethodPut, path: path, idempotent: true,
		header:      http.Header{"X-Checksum-Sha256": {sum}},
		ok:          []int{http.StatusOK, http.StatusCreated},
		retryStatus: []int{http.StatusUnprocessableEntity},
		body: func() (io.Reader, int64, error) {
			undo()
			fh, err := os.Open(f.local)
			if err != nil {
				return nil, 0, err
			}
			files = append(files, fh)
			attempt = &countingReader{r: io.NewSectionReader(fh, start, length), path: f.path, p: p}
			return attempt, length, nil
		},
	})
	if err != nil {
		undo()
		return err
	}
	defer resp.Body.Close()
	if err := decodeJSON(resp, out); err != nil {
		return err
	}
	return nil
}

// countingReader reports the bytes of a request body as they are read.
type countingReader struct {
	r    io.Reader
	n    atomic.Int64
	path string
	p    *pusher
}

func (r *countingReader) Read(b []byte) (int, error) {
	n, err := r.r.Read(b)
	if n > 0 {
		r.n.Add(int64(n))
		r.p.sent.Add(int64(n))
		r.p.notify(Event{Kind: Bytes, Path: r.path, Bytes: int64(n)})
	}
	return n, err
}

func decodeJSON(resp *http.Response, out any) error {
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("decode answer: %w", err)
	}
	return nil
}
