package client

import (
	"context"
	"net/http"
	"sync"
)

// Batches of presigned download URLs (POST .../file-urls): a pull asks for
// the URLs of many files in one request, which the server records as one
// download per file in one transaction, instead of one request and one
// transaction per file; with hundreds of small files those round trips,
// not the bytes, would take most of the time.
const (
	urlBatchFiles = 100     // the server's limit
	urlBatchBytes = 4 << 30 // URLs expire: no more bytes than a few minutes take
)

// FileURL is a presigned URL of a file's bytes.
type FileURL struct {
	Path   string `json:"path"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	URL    string `json:"url"`
}

// PresignFiles asks for presigned URLs of files of a version (409 when the
// server's blob store hands out none).
func (c *Client) PresignFiles(ctx context.Context, model string, version int, paths []string) ([]FileURL, error) {
	var out struct {
		Files []FileURL `json:"files"`
	}
	err := c.doJSON(ctx, request{method: http.MethodPost, path: versionPath(model, version) + "/file-urls",
		json: map[string]any{"paths": paths}, idempotent: true}, &out)
	return out.Files, err
}

// fileURLs hands out the presigned URLs of a pull's files: on a miss it
// asks for the file's and those of the next files in the order they are
// needed, up to a batch.
type fileURLs struct {
	d     *downloader
	order []File         // the files in the order their first ranges start
	index map[string]int // path -> position in order

	mu    sync.Mutex
	urls  map[string]string // asked for, not used yet
	asked map[string]bool
	next  int // the first file in order not asked for
	// off: no batches from this server (it presigns nothing, or knows no
	// such route): each file settles its own source.
	off bool
}

func newFileURLs(d *downloader, tasks []pullTask) *fileURLs {
	u := &fileURLs{d: d, index: map[string]int{}, urls: map[string]string{}, asked: map[string]bool{}}
	for _, t := range tasks {
		if t.file == nil {
			continue
		}
		if _, ok := u.index[t.file.Path]; !ok {
			u.index[t.file.Path] = len(u.order)
			u.order = append(u.order, *t.file)
		}
	}
	return u
}

// get returns f's presigned URL, or "" when there are no batches (the
// caller asks for f alone then).
func (u *fileURLs) get(ctx context.Context, f File) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.off {
		return "", nil
	}
	if url, ok := u.urls[f.Path]; ok {
		delete(u.urls, f.Path) // used once: a later ask is a refresh
		return url, nil
	}
	// f, then the first files in order not asked for yet (downloads start
	// in that order, give or take the few under way at once). A file
	// asked for again, its URL used already, is a refresh: another
	// download.
	paths := []string{f.Path}
	bytes := f.Size
	for i := u.next; i < len(u.order) && len(paths) < urlBatchFiles; i++ {
		g := u.order[i]
		if u.asked[g.Path] || g.Path == f.Path {
			continue
		}
		if bytes+g.Size > urlBatchBytes {
			break
		}
		paths = append(paths, g.Path)
		bytes += g.Size
	}
	got, err := u.d.c.PresignFiles(ctx, u.d.model, u.d.version, paths)
	switch StatusOf(err) {
	case http.StatusConflict: // the blob store presigns nothing
		u.off = true
		u.d.noDirect.Store(true)
		return "", nil
	case http.StatusNotFound, http.StatusMethodNotAllowed: // a server without batches
		u.off = true
		return "", nil
	}
	if err != nil {
		return "", err
	}
	for i, g := range got {
		u.asked[paths[i]] = true
		want := u.order[u.index[paths[i]]]
		if g.Path != want.Path || g.SHA256 != want.SHA256 || g.Size != want.Size {
			return "", &VerificationError{Path: want.Path, What: "file in the server's URL list", Expected: want.SHA256, Actual: g.SHA256}
		}
		u.urls[g.Path] = g.URL
	}
	for u.next < len(u.order) && u.asked[u.order[u.next].Path] {
		u.next++
	}
	url := u.urls[f.Path]
	delete(u.urls, f.Path)
	return url, nil
}
