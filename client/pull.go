package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/modelkeep/modelkeep"
)

// Ref names a version to pull: MODEL@N, MODEL@<stage> or MODEL@<alias>.
type Ref struct {
	Model   string
	Version int    // when > 0
	Stage   string // staging, production or archived
	Alias   string
}

// pullStages are the stages a ref can name (a version in stage "none" has
// no stage to be found by).
var pullStages = map[string]bool{"staging": true, "production": true, "archived": true}

// ParseRef parses MODEL@N, MODEL@production (staging, archived) or
// MODEL@alias.
func ParseRef(s string) (Ref, error) {
	model, what, ok := strings.Cut(s, "@")
	if !ok || model == "" || what == "" {
		return Ref{}, fmt.Errorf("%q: want MODEL@VERSION, MODEL@STAGE or MODEL@ALIAS", s)
	}
	r := Ref{Model: model}
	switch n, err := strconv.Atoi(what); {
	case err == nil && n > 0:
		r.Version = n
	case err == nil:
		return Ref{}, fmt.Errorf("%q: version numbers start at 1", s)
	case pullStages[what]:
		r.Stage = what
	default:
		r.Alias = what
	}
	return r, nil
}

func (r Ref) String() string {
	switch {
	case r.Version > 0:
		return fmt.Sprintf("%s@%d", r.Model, r.Version)
	case r.Stage != "":
		return r.Model + "@" + r.Stage
	default:
		return r.Model + "@" + r.Alias
	}
}

// Resolve finds the ready version a ref names and its files, checked
// against the version's manifest digest.
func (c *Client) Resolve(ctx context.Context, ref Ref) (Version, []File, error) {
	var v Version
	var files []File
	var err error
	if ref.Stage != "" {
		if v, err = c.VersionInStage(ctx, ref.Model, ref.Stage); err != nil {
			return v, nil, err
		}
		files = v.Files
	} else {
		if ref.Version > 0 {
			v, err = c.GetVersion(ctx, ref.Model, ref.Version)
		} else {
			v, err = c.GetAlias(ctx, ref.Model, ref.Alias)
		}
		if err != nil {
			return v, nil, err
		}
		l, err := c.ListFiles(ctx, ref.Model, v.Version)
		if err != nil {
			return v, nil, err
		}
		if l.ManifestDigest != v.ManifestDigest {
			return v, nil, &VerificationError{What: "manifest digest", Expected: v.ManifestDigest, Actual: l.ManifestDigest}
		}
		files = l.Files
	}
	if v.Status != "ready" || v.ManifestDigest == "" {
		return v, nil, fmt.Errorf("%s is version %d, %s: only a ready version has a manifest digest to verify a pull with",
			ref, v.Version, v.Status)
	}
	if got := ManifestDigest(files); got != v.ManifestDigest {
		return v, nil, &VerificationError{What: "manifest digest", Expected: v.ManifestDigest, Actual: got}
	}
	for _, f := range files {
		if err := modelkeep.ValidateFilePath(f.Path); err != nil {
			return v, nil, fmt.Errorf("the server lists a file path it should not: %w", err)
		}
	}
	return v, files, nil
}

// PullOptions says what to pull where.
type PullOptions struct {
	Ref Ref
	Dir string
	// Force replaces a Dir that exists and is not empty (the old one is
	// moved aside and removed once the new one is in place).
	Force bool
	// Parallel is how many downloads run at once (4 when 0); files larger
	// than ChunkSize (32 MiB when 0) are fetched as ranges of that size.
	Parallel  int
	ChunkSize int64
	// ThroughServer fetches every byte through the server even where the
	// blob store hands out presigned URLs (S3).
	ThroughServer bool
	// Fsync makes every file and the directory durable before Dir is
	// placed, so that a power loss or a kernel crash right after the pull
	// cannot leave Dir with files whose bytes never reached the disk. It
	// costs the time the disk takes to write the version, which may be
	// longer than the download (the writeback starts as each range
	// arrives). Without it Dir is placed as soon as every file is
	// verified, and the kernel writes the bytes back in its own time, as
	// most download tools leave it: the placement is still atomic for
	// every process, and an interrupted pull still leaves nothing.
	Fsync    bool
	Progress func(Event)
}

// PullResult is what a pull placed.
type PullResult struct {
	Model          string `json:"model"`
	Version        int    `json:"version"`
	Stage          string `json:"stage"`
	Dir            string `json:"dir"`
	ManifestDigest string `json:"manifest_digest"`
	Files          []File `json:"files"`
	BytesReceived  int64  `json:"bytes_received"`
}

// ErrDirNotEmpty is returned by Pull for an existing, non-empty Dir
// without Force.
var ErrDirNotEmpty = errors.New("exists and is not empty")

// Pull downloads a ready version into opts.Dir. Everything goes into a
// hidden directory beside Dir first, each file checked against its size
// and SHA-256 and the list against the manifest digest; only then is it
// renamed to Dir (one rename on the same file system). On any error or
// cancellation the hidden directory is removed: Dir never holds a partial
// or unverified version.
func (c *Client) Pull(ctx context.Context, opts PullOptions) (PullResult, error) {
	if opts.Parallel <= 0 {
		opts.Parallel = 4
	}
	if opts.ChunkSize <= 0 {
		opts.ChunkSize = 32 << 20
	}
	notify := opts.Progress
	if notify == nil {
		notify = func(Event) {}
	}
	dest, err := filepath.Abs(opts.Dir)
	if err != nil {
		return PullResult{}, err
	}
	res := PullResult{Model: opts.Ref.Model, Dir: dest}
	empty, err := emptyOrMissing(dest)
	if err != nil {
		return res, err
	}
	if !empty && !opts.Force {
		return res, fmt.Errorf("%s %w: pull into a new directory, or replace it with --force", dest, ErrDirNotEmpty)
	}
	v, files, err := c.Resolve(ctx, opts.Ref)
	if err != nil {
		return res, err
	}
	res.Version, res.Stage, res.ManifestDigest, res.Files = v.Version, v.Stage, v.ManifestDigest, files
	parent := filepath.Dir(dest)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return res, err
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dest)+".pull-")
	if err != nil {
		return res, err
	}
	d := &downloader{c: c, model: v.Model, version: v.Version, notify: notify, fsync: opts.Fsync}
	d.noDirect.Store(opts.ThroughServer)
	if d.model == "" {
		d.model = opts.Ref.Model
	}
	err = d.fetchAll(ctx, tmp, files, opts.Parallel, opts.ChunkSize)
	res.BytesReceived = d.received.Load()
	if err == nil {
		err = place(tmp, dest, empty, opts.Fsync)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		return res, err
	}
	return res, nil
}

func emptyOrMissing(dir string) (bool, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	return len(ents) == 0, nil
}

// place renames the verified tmp to dest: over a missing or empty dest in
// one rename; over a full one (--force) after moving it aside. With fsync
// the directories are synced around the renames.
func place(tmp, dest string, empty, fsync bool) error {
	sync := func(dir string) error {
		if !fsync {
			return nil
		}
		return syncDir(dir)
	}
	if err := sync(tmp); err != nil {
		return err
	}
	if empty {
		_ = os.Remove(dest) // an empty directory; rename(2) would replace it too
		if err := os.Rename(tmp, dest); err != nil {
			return err
		}
		return sync(filepath.Dir(dest))
	}
	old := tmp + ".old"
	if err := os.Rename(dest, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		_ = os.Rename(old, dest)
		return err
	}
	_ = os.RemoveAll(old)
	return sync(filepath.Dir(dest))
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

type downloader struct {
	c        *Client
	model    string
	version  int
	notify   func(Event)
	received atomic.Int64
	// noDirect: files come through the server (asked for, or the blob
	// store turned out unreachable from here).
	noDirect atomic.Bool
	urls     *fileURLs // nil: through the server from the start
	fsync    bool      // PullOptions.Fsync
}

// source is where the bytes of one file come from: the blob store, through
// a presigned URL, or the server. The download of the file's first range
// settles it (fetchFirst): the URL comes from a batch of the pull's files
// (fileURLs) or, from a server without batches, from a ?redirect=true of
// the file (a 307 names the URL, a 206 carries the first range itself).
// Either way the audit log records one download of the file, whatever its
// ranges. The other ranges wait for that answer.
type source struct {
	ready chan struct{} // closed once the first answer is in
	mu    sync.Mutex
	url   string // "" : through the server
	gen   int    // counts the URLs, so that an expired one is replaced once
}

func newSource() *source { return &source{ready: make(chan struct{})} }

// resolve records the first answer: the presigned URL, or "".
func (s *source) resolve(url string) {
	s.mu.Lock()
	s.url = url
	s.gen++
	s.mu.Unlock()
	close(s.ready)
}

// get waits for the first answer and returns the URL ("" : through the
// server) and its generation.
func (s *source) get(ctx context.Context) (string, int, error) {
	select {
	case <-s.ready:
	case <-ctx.Done():
		return "", 0, ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url, s.gen, nil
}

// fallBack sends the file's later ranges through the server, unless the
// URL of generation gen was replaced meanwhile.
func (s *source) fallBack(gen int) {
	s.mu.Lock()
	if s.gen == gen {
		s.url = ""
		s.gen++
	}
	s.mu.Unlock()
}

// fetchAll downloads files under root, n requests at a time; a file's last
// range to arrive verifies it. The ranges of large files (more than one
// range) are interleaved with the small files: a small file is mostly a
// round trip to the server (which records every download), a range mostly
// bytes, and side by side the two overlap.
func (d *downloader) fetchAll(ctx context.Context, root string, files []File, n int, chunk int64) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(n)
	for _, f := range files {
		d.notify(Event{Kind: FileQueued, Path: f.Path, Size: f.Size})
	}
	var large [][]pullTask // the ranges of each file of several
	var small []pullTask
	for _, f := range files {
		target := filepath.Join(root, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := createSized(target, f.Size); err != nil {
			return err
		}
		chunks := max(1, int((f.Size+chunk-1)/chunk))
		// A file of one range is hashed as it arrives; one of several is
		// hashed in order as its ranges arrive (rangeHasher): from memory
		// what arrives in order, read back what arrives ahead.
		var h hash.Hash
		var ranges *rangeHasher
		if chunks == 1 {
			h = sha256.New()
		} else {
			ranges = newRangeHasher(target, f.Size, chunk)
		}
		finish := func(sum string) error {
			if h != nil {
				sum = hex.EncodeToString(h.Sum(nil))
			}
			if sum != f.SHA256 {
				return &VerificationError{Path: f.Path, What: "sha256", Expected: f.SHA256, Actual: sum}
			}
			if d.fsync {
				if err := syncFile(target); err != nil {
					return fmt.Errorf("%s: %w", f.Path, err)
				}
			}
			d.notify(Event{Kind: FileDone, Path: f.Path, Size: f.Size})
			return nil
		}
		if f.Size == 0 {
			small = append(small, pullTask{run: func() error { return finish("") }})
			continue
		}
		src := newSource()
		// The ranges of a file take turns to write it (writes is its
		// lock): the kernel lets one write into a file at a time, and the
		// others spin while it runs, burning the CPU the downloads and the
		// hashing need (a sixth of a 5 GiB pull's CPU time went to
		// rwsem_spin_on_owner under perf); waiting here, they sleep.
		writes := &sync.Mutex{}
		for i := range chunks {
			start := int64(i) * chunk
			end := min(start+chunk, f.Size)
			task := func() error {
				out, err := os.OpenFile(target, os.O_WRONLY, 0)
				if err != nil {
					return err
				}
				w := lockedWriterAt{f: out, mu: writes}
				// What the range writes into the file it also hands to
				// the hash: the file's own, or the ranges' hasher.
				var sums io.Writer = h
				if ranges != nil {
					sums = ranges.writer(i)
				}
				if i == 0 {
					err = d.fetchFirst(gctx, f, src, w, sums, start, end)
				} else {
					err = d.fetchFrom(gctx, f, src, w, sums, start, end)
				}
				if err == nil && d.fsync {
					startWriteback(out, start, end-start)
				}
				if cerr := out.Close(); err == nil && cerr != nil {
					err = &localError{cerr}
				}
				if err != nil {
					return err
				}
				if ranges == nil {
					return finish("")
				}
				sum, err := ranges.written(i)
				if err != nil || sum == "" {
					return err
				}
				return finish(sum)
			}
			t := pullTask{file: &f, run: task}
			switch {
			case chunks == 1:
				small = append(small, t)
			case i == 0:
				large = append(large, []pullTask{t})
			default:
				large[len(large)-1] = append(large[len(large)-1], t)
			}
		}
	}
	tasks := interleave(roundRobin(large), small)
	if !d.noDirect.Load() {
		d.urls = newFileURLs(d, tasks)
	}
	for _, t := range tasks {
		g.Go(t.run)
	}
	return g.Wait()
}

// lockedWriterAt writes into a file under a lock its writers share.
type lockedWriterAt struct {
	f  *os.File
	mu *sync.Mutex
}

func (w lockedWriterAt) WriteAt(p []byte, off int64) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.f.WriteAt(p, off)
}

// pullTask is the download of one range of a file (none for an empty one).
type pullTask struct {
	file *File
	run  func() error
}

// createSized makes a new file of its final size (ranges are written into it).
func createSized(name string, size int64) error {
	out, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	if err := out.Truncate(size); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func syncFile(name string) error {
	f, err := os.OpenFile(name, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func (d *downloader) filePath(f File) string {
	return versionPath(d.model, d.version) + "/files/" + filePath(f.Path)
}

// fetchFirst downloads the first range of f, [start, end), and settles
// where the file's bytes come from (source): a presigned URL from a batch
// of the pull's (fileURLs); else, from a server without batches, the
// answer to the range with ?redirect=true, a redirect to a presigned URL
// or the range itself; else (a blob store that presigns nothing, or out of
// reach) the server.
func (d *downloader) fetchFirst(ctx context.Context, f File, src *source, out io.WriterAt, h io.Writer, start, end int64) error {
	if d.urls != nil && !d.noDirect.Load() {
		u, err := d.urls.get(ctx, f)
		if err != nil {
			src.resolve("")
			return fmt.Errorf("%s: %w", f.Path, err)
		}
		if u != "" {
			src.resolve(u)
			return d.fetchFrom(ctx, f, src, out, h, start, end)
		}
	}
	if d.noDirect.Load() {
		src.resolve("")
		return d.fetchRange(ctx, f, out, h, start, end, nil)
	}
	resp, err := d.c.send(ctx, request{
		method: http.MethodGet, path: d.filePath(f), query: url.Values{"redirect": {"true"}}, idempotent: true, noRedirect: true,
		ok:     []int{http.StatusPartialContent, http.StatusTemporaryRedirect},
		header: http.Header{"Range": {fmt.Sprintf("bytes=%d-%d", start, end-1)}, "If-Match": {`"` + f.SHA256 + `"`}},
	})
	if err != nil {
		src.resolve("")
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	if resp.StatusCode == http.StatusTemporaryRedirect {
		loc := resp.Header.Get("Location")
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		src.resolve(loc)
		return d.fetchFrom(ctx, f, src, out, h, start, end)
	}
	src.resolve("")
	return d.fetchRange(ctx, f, out, h, start, end, resp)
}

// fetchFrom downloads bytes [start, end) of f from where its source says:
// the blob store, through the presigned URL, when there is one. A URL the
// store refuses (it expired) is replaced by a new one from the server; a
// store that cannot be reached from here, or keeps failing, leaves the
// rest to the server.
func (d *downloader) fetchFrom(ctx context.Context, f File, src *source, out io.WriterAt, h io.Writer, start, end int64) error {
	pos := start
	for attempt := 0; pos < end; attempt++ {
		u, gen, err := src.get(ctx)
		if err != nil {
			return err
		}
		if u == "" {
			return d.fetchRange(ctx, f, out, h, pos, end, nil)
		}
		n, err := d.directRange(ctx, f, u, out, h, pos, end)
		pos += n
		if err == nil && pos < end {
			err = io.ErrUnexpectedEOF
		}
		if err == nil {
			return nil
		}
		var local *localError
		var verr *VerificationError
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.As(err, &local), errors.As(err, &verr):
			return fmt.Errorf("%s: %w", f.Path, err)
		case unreachable(err):
			d.noDirect.Store(true)
			src.fallBack(gen)
		case attempt >= d.c.Retries:
			return d.fetchRange(ctx, f, out, h, pos, end, nil)
		case expiredOrDenied(err):
			if err := d.refresh(ctx, f, src, gen); err != nil {
				return err
			}
		case retryableStore(err):
			if err := d.c.sleep(ctx, attempt, 0); err != nil {
				return err
			}
		default:
			return d.fetchRange(ctx, f, out, h, pos, end, nil)
		}
	}
	return nil
}

// refresh asks the server for a new URL of f when generation gen is still
// the current one (another range may have done it already).
func (d *downloader) refresh(ctx context.Context, f File, src *source, gen int) error {
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.gen != gen {
		return nil
	}
	resp, err := d.c.send(ctx, request{
		method: http.MethodGet, path: d.filePath(f), query: url.Values{"redirect": {"true"}}, idempotent: true, noRedirect: true,
		ok: []int{http.StatusOK, http.StatusTemporaryRedirect}, header: http.Header{"If-Match": {`"` + f.SHA256 + `"`}},
	})
	if err != nil {
		return fmt.Errorf("%s: %w", f.Path, err)
	}
	src.url = resp.Header.Get("Location")
	if resp.StatusCode != http.StatusTemporaryRedirect {
		src.url = ""
	}
	src.gen++
	resp.Body.Close() // a 200 sends the whole file: not read
	return nil
}

// directRange downloads bytes [start, end) of f from the blob store with a
// presigned URL, returning how many it wrote. The answer must be the range
// of an object of f's size.
func (d *downloader) directRange(ctx context.Context, f File, u string, out io.WriterAt, h io.Writer, start, end int64) (int64, error) {
	resp, err := d.c.sendDirect(ctx, http.MethodGet, u, map[string]string{"Range": fmt.Sprintf("bytes=%d-%d", start, end-1)}, nil, 0, http.StatusPartialContent)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	want := fmt.Sprintf("bytes %d-%d/%d", start, end-1, f.Size)
	if got := resp.Header.Get("Content-Range"); got != want {
		return 0, &VerificationError{Path: f.Path, What: "size (the blob store's Content-Range)", Expected: want, Actual: got}
	}
	return d.copyAt(ctx, f.Path, out, h, resp.Body, start, end-start)
}

// fetchRange downloads bytes [start, end) of f through the server into out,
// continuing from where a broken body stopped. first, when not nil, is the
// server's answer for the range already (fetchFirst's).
func (d *downloader) fetchRange(ctx context.Context, f File, out io.WriterAt, h io.Writer, start, end int64, first *http.Response) error {
	pos := start
	path := d.filePath(f)
	for attempt := 0; pos < end; attempt++ {
		resp := first
		first = nil
		if resp == nil {
			var err error
			resp, err = d.c.send(ctx, request{
				method: http.MethodGet, path: path, idempotent: true, ok: []int{http.StatusPartialContent},
				header: http.Header{
					"Range":    {fmt.Sprintf("bytes=%d-%d", pos, end-1)},
					"If-Match": {`"` + f.SHA256 + `"`},
				},
			})
			if err != nil {
				return fmt.Errorf("%s: %w", f.Path, err)
			}
		}
		if sent := resp.Header.Get("X-Checksum-Sha256"); sent != "" && !strings.EqualFold(sent, f.SHA256) {
			resp.Body.Close()
			return &VerificationError{Path: f.Path, What: "sha256 (X-Checksum-Sha256)", Expected: f.SHA256, Actual: sent}
		}
		if want := fmt.Sprintf("bytes %d-%d/", pos, end-1); !strings.HasPrefix(resp.Header.Get("Content-Range"), want) {
			resp.Body.Close()
			return fmt.Errorf("%s: asked for bytes %d-%d, got %q", f.Path, pos, end-1, resp.Header.Get("Content-Range"))
		}
		n, err := d.copyAt(ctx, f.Path, out, h, resp.Body, pos, end-pos)
		resp.Body.Close()
		pos += n
		if err == nil && pos < end {
			err = io.ErrUnexpectedEOF
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			var local *localError
			if errors.As(err, &local) || attempt >= d.c.Retries {
				return fmt.Errorf("%s: %w", f.Path, err)
			}
			if err := d.c.sleep(ctx, attempt, 0); err != nil {
				return err
			}
		}
	}
	return nil
}

// localError is a failure of a local file (writing it, or reading it back
// to hash it): not retried.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// copyAt copies at most limit bytes of body to out at off, hashing them
// into h when given.
func (d *downloader) copyAt(ctx context.Context, path string, out io.WriterAt, h io.Writer, body io.Reader, off, limit int64) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for n < limit {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		k, rerr := body.Read(buf[:min(int64(len(buf)), limit-n)])
		if k > 0 {
			if _, err := out.WriteAt(buf[:k], off+n); err != nil {
				return n, &localError{err}
			}
			if h != nil {
				// A range's hasher may fail (reading back bytes that
				// arrived ahead); the hash is then unusable.
				if _, err := h.Write(buf[:k]); err != nil {
					return n, &localError{err}
				}
			}
			n += int64(k)
			d.received.Add(int64(k))
			d.notify(Event{Kind: Bytes, Path: path, Bytes: int64(k)})
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, rerr
		}
	}
	return n, nil
}
