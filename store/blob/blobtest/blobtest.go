// Package blobtest is the conformance suite for modelkeep.BlobStore. Every
// implementation runs it from its own tests:
//
//	blobtest.Run(t, func(t *testing.T) modelkeep.BlobStore { return newStore(t) })
//
// newStore is called once per subtest and must return an empty store that
// it cleans up itself (t.TempDir, a fresh bucket removed in t.Cleanup). The
// optional interfaces (modelkeep.BlobLister, modelkeep.Presigner,
// modelkeep.Multipart, modelkeep.PartPresigner) are tested
// when the store implements them.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"math/rand/v2"
	"mime"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
)

// largeSize spans several S3 multipart parts with any sensible part size
// (5-8 MiB) and is deliberately not a multiple of a power of two.
const largeSize = 20<<20 + 12345

// midStream is where the failing and cancelling readers stop: past the first
// part, so an S3 store has a multipart upload to abort by then.
const midStream = 12 << 20

// Run runs the conformance suite against stores made by newStore.
func Run(t *testing.T, newStore func(t *testing.T) modelkeep.BlobStore) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s modelkeep.BlobStore)
	}{
		{"RoundTrip", testRoundTrip},
		{"Stat", testStat},
		{"Missing", testMissing},
		{"Delete", testDelete},
		{"Overwrite", testOverwrite},
		{"FailingReader", testFailingReader},
		{"CancelledContext", testCancelledContext},
		{"SizeMismatch", testSizeMismatch},
		{"Seek", testSeek},
		{"NestedKeys", testNestedKeys},
		{"InvalidKeys", testInvalidKeys},
		{"ConcurrentPuts", testConcurrentPuts},
		{"Ping", testPing},
		{"List", testList},
		{"PresignGet", testPresignGet},
		{"Multipart", testMultipart},
		{"PartPresigner", testPartPresigner},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, newStore(t)) })
	}
}

func testRoundTrip(t *testing.T, s modelkeep.BlobStore) {
	tests := []struct {
		name  string
		key   string
		size  int64
		known bool // pass the size to Put, or -1
	}{
		{"empty known size", "rt/empty-known", 0, true},
		{"empty unknown size", "rt/empty-unknown", 0, false},
		{"one byte", "rt/one", 1, true},
		{"small known size", "rt/small-known", 64<<10 + 3, true},
		{"small unknown size", "rt/small-unknown", 64<<10 + 3, false},
		{"large known size", "rt/large-known", largeSize, true},
		{"large unknown size", "rt/large-unknown", largeSize, false},
		{"unusual characters", "rt/dir with space/ünïcode+file=1.bin", 1000, true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			seed := uint64(i + 1)
			size := int64(-1)
			if tc.known {
				size = tc.size
			}
			info, err := s.Put(t.Context(), tc.key, opaque(payload(seed, tc.size)), size)
			if err != nil {
				t.Fatalf("Put: %v", err)
			}
			if info.Key != tc.key || info.Size != tc.size {
				t.Errorf("Put info = {%q, %d}, want {%q, %d}", info.Key, info.Size, tc.key, tc.size)
			}
			checkContent(t, s, tc.key, tc.size, digest(seed, tc.size))
		})
	}
}

func testStat(t *testing.T, s modelkeep.BlobStore) {
	const key, size = "stat/blob", 4097
	before := time.Now()
	mustPut(t, s, key, payload(1, size), size)
	info, err := s.Stat(t.Context(), key)
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	if info.Key != key || info.Size != size {
		t.Errorf("Stat = {%q, %d}, want {%q, %d}", info.Key, info.Size, key, size)
	}
	// Server clocks may drift a little from ours; an hour is "now" enough.
	if info.ModTime.IsZero() || info.ModTime.Sub(before).Abs() > time.Hour {
		t.Errorf("Stat ModTime = %v, want close to %v", info.ModTime, before)
	}
}

func testMissing(t *testing.T, s modelkeep.BlobStore) {
	for _, key := range []string{"missing", "missing/deep/er/key"} {
		t.Run(key, func(t *testing.T) {
			if _, err := s.Stat(t.Context(), key); !errors.Is(err, modelkeep.ErrNotFound) {
				t.Errorf("Stat = %v, want ErrNotFound", err)
			}
			rc, _, err := s.Open(t.Context(), key)
			if !errors.Is(err, modelkeep.ErrNotFound) {
				t.Errorf("Open = %v, want ErrNotFound", err)
			}
			if rc != nil {
				rc.Close()
				t.Errorf("Open of a missing key returned a reader")
			}
		})
	}
}

func testDelete(t *testing.T, s modelkeep.BlobStore) {
	const key = "del/blob"
	mustPut(t, s, key, payload(1, 100), 100)
	if err := s.Delete(t.Context(), key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	assertGone(t, s, key)
	if err := s.Delete(t.Context(), key); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
	if err := s.Delete(t.Context(), "del/never/existed"); err != nil {
		t.Errorf("Delete of a never-written key = %v, want nil", err)
	}
	// The key is usable again after a delete.
	mustPut(t, s, key, payload(2, 10), 10)
	checkContent(t, s, key, 10, digest(2, 10))
}

func testOverwrite(t *testing.T, s modelkeep.BlobStore) {
	const key = "over/blob"
	mustPut(t, s, key, payload(1, 1<<20), 1<<20)
	mustPut(t, s, key, payload(2, 333), 333) // shorter: no stale tail may survive
	checkContent(t, s, key, 333, digest(2, 333))
	mustPut(t, s, key, payload(3, 0), -1)
	checkContent(t, s, key, 0, digest(3, 0))
}

var errBoom = errors.New("boom: client went away")

func testFailingReader(t *testing.T, s modelkeep.BlobStore) {
	tests := []struct {
		name  string
		after int64 // bytes served before the error
		size  int64 // declared size
	}{
		{"immediately", 0, -1},
		{"early unknown size", 1000, -1},
		{"early known size", 1000, largeSize},
		{"mid stream unknown size", midStream, -1},
		{"mid stream known size", midStream, largeSize},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("fail/%d", i)
			r := &failingReader{r: payload(1, largeSize), left: tc.after, err: errBoom}
			_, err := s.Put(t.Context(), key, r, tc.size)
			if !errors.Is(err, errBoom) || !errors.Is(err, modelkeep.ErrInvalid) {
				t.Fatalf("Put = %v, want the reader's error in the chain, as ErrInvalid (the caller's fault)", err)
			}
			assertGone(t, s, key)
		})
	}
	t.Run("old blob survives", func(t *testing.T) {
		const key = "fail/existing"
		mustPut(t, s, key, payload(7, 100), 100)
		r := &failingReader{r: payload(1, largeSize), left: midStream, err: errBoom}
		if _, err := s.Put(t.Context(), key, r, -1); !errors.Is(err, errBoom) {
			t.Fatalf("Put = %v, want the reader's error in the chain", err)
		}
		checkContent(t, s, key, 100, digest(7, 100))
	})
}

func testCancelledContext(t *testing.T, s modelkeep.BlobStore) {
	t.Run("before put", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := s.Put(ctx, "cancel/before", payload(1, 1000), 1000)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Put = %v, want context.Canceled", err)
		}
		assertGone(t, s, "cancel/before")
	})
	for _, size := range []int64{-1, largeSize} {
		t.Run(fmt.Sprintf("mid stream size %d", size), func(t *testing.T) {
			key := fmt.Sprintf("cancel/mid-%d", size)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			r := &cancelReader{r: payload(1, largeSize), left: midStream, cancel: cancel}
			_, err := s.Put(ctx, key, r, size)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("Put = %v, want context.Canceled", err)
			}
			assertGone(t, s, key)
		})
	}
}

func testSizeMismatch(t *testing.T, s modelkeep.BlobStore) {
	tests := []struct {
		name     string
		declared int64
		actual   int64
	}{
		{"short", 1000, 999},
		{"long", 1000, 1001},
		{"empty but declared", 10, 0},
		{"short large", largeSize, midStream},
		{"long large", midStream, largeSize},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := fmt.Sprintf("mismatch/%d", i)
			_, err := s.Put(t.Context(), key, opaque(payload(1, tc.actual)), tc.declared)
			if !errors.Is(err, modelkeep.ErrInvalid) {
				t.Fatalf("Put = %v, want ErrInvalid", err)
			}
			assertGone(t, s, key)
		})
	}
}

func testSeek(t *testing.T, s modelkeep.BlobStore) {
	const key, size = "seek/blob", 1<<20 + 17
	data := content(5, size)
	mustPut(t, s, key, bytes.NewReader(data), size)

	rc, info, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer rc.Close()
	if info.Size != size {
		t.Fatalf("Open size = %d, want %d", info.Size, size)
	}

	// One reader through all steps, as http.ServeContent uses it: each step
	// seeks, then reads n bytes that must match the data at that position.
	steps := []struct {
		name    string
		offset  int64
		whence  int
		wantPos int64
		n       int
	}{
		{"size probe", 0, io.SeekEnd, size, 0},
		{"back to start", 0, io.SeekStart, 0, 100},
		{"current is a no-op", 0, io.SeekCurrent, 100, 100},
		{"middle", size / 2, io.SeekStart, size / 2, 4096},
		{"forward from current", 1000, io.SeekCurrent, size/2 + 4096 + 1000, 10},
		{"backward from current", -5000, io.SeekCurrent, size/2 + 4096 + 1000 + 10 - 5000, 10},
		{"near the end", -10, io.SeekEnd, size - 10, 10},
		{"start again", 0, io.SeekStart, 0, 200 << 10},
		{"last byte", size - 1, io.SeekStart, size - 1, 1},
	}
	for _, st := range steps {
		pos, err := rc.Seek(st.offset, st.whence)
		if err != nil || pos != st.wantPos {
			t.Fatalf("%s: Seek(%d, %d) = %d, %v; want %d", st.name, st.offset, st.whence, pos, err, st.wantPos)
		}
		buf := make([]byte, st.n)
		if _, err := io.ReadFull(rc, buf); err != nil {
			t.Fatalf("%s: read %d bytes at %d: %v", st.name, st.n, pos, err)
		}
		if !bytes.Equal(buf, data[pos:pos+int64(st.n)]) {
			t.Fatalf("%s: bytes at %d differ", st.name, pos)
		}
	}
	// After the last byte: EOF, and EOF again.
	for range 2 {
		if n, err := rc.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Fatalf("Read at end = %d, %v; want 0, EOF", n, err)
		}
	}
	// Beyond the end is a valid position that reads as EOF.
	if _, err := rc.Seek(size+100, io.SeekStart); err != nil {
		t.Fatalf("Seek beyond end: %v", err)
	}
	if n, err := rc.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("Read beyond end = %d, %v; want 0, EOF", n, err)
	}
	if _, err := rc.Seek(-1, io.SeekStart); err == nil {
		t.Errorf("Seek to a negative position succeeded")
	}
	// The rest of the blob from the middle, in one go.
	if _, err := rc.Seek(size/3, io.SeekStart); err != nil {
		t.Fatalf("Seek: %v", err)
	}
	rest, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("ReadAll from %d: %v", size/3, err)
	}
	if !bytes.Equal(rest, data[size/3:]) {
		t.Errorf("ReadAll from %d: bytes differ (got %d, want %d)", size/3, len(rest), size-size/3)
	}
}

func testNestedKeys(t *testing.T, s modelkeep.BlobStore) {
	keys := []string{"a/b/c/d.bin", "a/b/e.bin", "a/bc", "files/0193a5d2/01J9ZQ/weights"}
	for i, k := range keys {
		mustPut(t, s, k, payload(uint64(i), 1000+int64(i)), -1)
	}
	for i, k := range keys {
		checkContent(t, s, k, 1000+int64(i), digest(uint64(i), 1000+int64(i)))
	}
	// A prefix of other keys is not a blob.
	for _, k := range []string{"a", "a/b", "a/b/c", "files/0193a5d2"} {
		if _, err := s.Stat(t.Context(), k); !errors.Is(err, modelkeep.ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want ErrNotFound", k, err)
		}
		if err := s.Delete(t.Context(), k); err != nil {
			t.Errorf("Delete(%q) = %v, want nil", k, err)
		}
	}
	// Deleting the deepest key leaves its neighbours alone, and the same
	// path can be written again afterwards.
	if err := s.Delete(t.Context(), "a/b/c/d.bin"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	assertGone(t, s, "a/b/c/d.bin")
	checkContent(t, s, "a/b/e.bin", 1001, digest(1, 1001))
	checkContent(t, s, "a/bc", 1002, digest(2, 1002))
	mustPut(t, s, "a/b/c/d.bin", payload(9, 50), 50)
	checkContent(t, s, "a/b/c/d.bin", 50, digest(9, 50))
}

func testInvalidKeys(t *testing.T, s modelkeep.BlobStore) {
	keys := []string{"", "/abs", "a/../b", "..", "../escape", "a/..", ".", "./a", "a/./b", "a//b", "a/", "a\\b", "..\\x", "nul\x00byte"}
	for _, k := range keys {
		t.Run(fmt.Sprintf("%q", k), func(t *testing.T) {
			if _, err := s.Put(t.Context(), k, payload(1, 10), 10); !errors.Is(err, modelkeep.ErrInvalid) {
				t.Errorf("Put = %v, want ErrInvalid", err)
			}
			if _, err := s.Stat(t.Context(), k); !errors.Is(err, modelkeep.ErrInvalid) {
				t.Errorf("Stat = %v, want ErrInvalid", err)
			}
			if rc, _, err := s.Open(t.Context(), k); !errors.Is(err, modelkeep.ErrInvalid) {
				if rc != nil {
					rc.Close()
				}
				t.Errorf("Open = %v, want ErrInvalid", err)
			}
			if err := s.Delete(t.Context(), k); !errors.Is(err, modelkeep.ErrInvalid) {
				t.Errorf("Delete = %v, want ErrInvalid", err)
			}
		})
	}
}

func testConcurrentPuts(t *testing.T, s modelkeep.BlobStore) {
	const n, size = 4, 256<<10 + 1
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			key := fmt.Sprintf("conc/%d/blob", i)
			if _, err := s.Put(t.Context(), key, opaque(payload(uint64(i), size)), -1); err != nil {
				t.Errorf("Put(%q): %v", key, err)
			}
		})
	}
	wg.Wait()
	for i := range n {
		checkContent(t, s, fmt.Sprintf("conc/%d/blob", i), size, digest(uint64(i), size))
	}
}

func testPing(t *testing.T, s modelkeep.BlobStore) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func testList(t *testing.T, s modelkeep.BlobStore) {
	l, ok := s.(modelkeep.BlobLister)
	if !ok {
		t.Skip("store does not implement modelkeep.BlobLister")
	}
	sizes := map[string]int64{"list/a/1": 1, "list/a/2": 22, "list/a/deep/3": 333, "list/b/1": 4, "listx": 5, "other": 6}
	for k, n := range sizes {
		mustPut(t, s, k, payload(1, n), n)
	}
	tests := []struct {
		prefix string
		want   []string
	}{
		{"list/a/", []string{"list/a/1", "list/a/2", "list/a/deep/3"}},
		{"list/a/deep", []string{"list/a/deep/3"}},
		{"list/", []string{"list/a/1", "list/a/2", "list/a/deep/3", "list/b/1"}},
		{"list", []string{"list/a/1", "list/a/2", "list/a/deep/3", "list/b/1", "listx"}},
		{"", []string{"list/a/1", "list/a/2", "list/a/deep/3", "list/b/1", "listx", "other"}},
		{"nothing/", nil},
		{"list/a/1/", nil},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("prefix %q", tc.prefix), func(t *testing.T) {
			got := listAll(t, l, tc.prefix)
			if len(got) != len(tc.want) {
				t.Errorf("List(%q) = %v, want %v", tc.prefix, keysOf(got), tc.want)
			}
			for _, k := range tc.want {
				info, ok := got[k]
				switch {
				case !ok:
					t.Errorf("List(%q) is missing %q", tc.prefix, k)
				case info.Size != sizes[k]:
					t.Errorf("List(%q): %q has size %d, want %d", tc.prefix, k, info.Size, sizes[k])
				case info.ModTime.IsZero():
					t.Errorf("List(%q): %q has no ModTime", tc.prefix, k)
				}
			}
		})
	}
	t.Run("callback error stops", func(t *testing.T) {
		errStop := errors.New("stop")
		calls := 0
		err := l.List(t.Context(), "list/", func(modelkeep.BlobInfo) error {
			calls++
			return errStop
		})
		if !errors.Is(err, errStop) || calls != 1 {
			t.Errorf("List = %v after %d calls, want errStop after 1", err, calls)
		}
	})
	t.Run("deleted blobs disappear", func(t *testing.T) {
		if err := s.Delete(t.Context(), "list/b/1"); err != nil {
			t.Fatalf("Delete: %v", err)
		}
		if got := listAll(t, l, "list/b/"); len(got) != 0 {
			t.Errorf("List after Delete = %v, want nothing", keysOf(got))
		}
	})
}

func testPresignGet(t *testing.T, s modelkeep.BlobStore) {
	p, ok := s.(modelkeep.Presigner)
	if !ok {
		t.Skip("store does not implement modelkeep.Presigner")
	}
	const key, size = "presign/weights.bin", 300<<10 + 7
	mustPut(t, s, key, payload(3, size), size)

	tests := []struct {
		name     string
		filename string
	}{
		{"no filename", ""},
		{"plain filename", "weights.bin"},
		{"filename needing quotes", "model weights; v1.bin"},
		{"non-ascii filename", "modèle-größe.bin"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, err := p.PresignGet(t.Context(), key, 5*time.Minute, modelkeep.PresignOptions{Filename: tc.filename})
			if err != nil {
				t.Fatalf("PresignGet: %v", err)
			}
			resp := httpGet(t, u)
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET presigned url: status %s", resp.Status)
			}
			h := sha256.New()
			n, err := io.Copy(h, resp.Body)
			if err != nil {
				t.Fatalf("read presigned body: %v", err)
			}
			if n != size || hex.EncodeToString(h.Sum(nil)) != digest(3, size) {
				t.Errorf("presigned body: %d bytes, wrong content or length (want %d)", n, size)
			}
			if tc.filename == "" {
				return
			}
			cd := resp.Header.Get("Content-Disposition")
			disp, params, err := mime.ParseMediaType(cd)
			if err != nil || disp != "attachment" || params["filename"] != tc.filename {
				t.Errorf("Content-Disposition = %q (%v), want attachment with filename %q", cd, err, tc.filename)
			}
		})
	}
	t.Run("missing key", func(t *testing.T) {
		u, err := p.PresignGet(t.Context(), "presign/missing", time.Minute, modelkeep.PresignOptions{})
		if err != nil {
			t.Fatalf("PresignGet: %v", err)
		}
		resp := httpGet(t, u)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("GET presigned url of a missing key: status %s", resp.Status)
		}
	})
}

// checkContent opens key and checks its size and SHA-256.
func checkContent(t *testing.T, s modelkeep.BlobStore, key string, size int64, wantSHA string) {
	t.Helper()
	rc, info, err := s.Open(t.Context(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	if info.Key != key || info.Size != size {
		t.Errorf("Open(%q) info = {%q, %d}, want size %d", key, info.Key, info.Size, size)
	}
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	if n != size {
		t.Errorf("read %q: %d bytes, want %d", key, n, size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != wantSHA {
		t.Errorf("read %q: sha256 %s, want %s", key, got, wantSHA)
	}
	if err := rc.Close(); err != nil {
		t.Errorf("Close(%q): %v", key, err)
	}
}

// assertGone checks that nothing is visible under key, by every route.
func assertGone(t *testing.T, s modelkeep.BlobStore, key string) {
	t.Helper()
	ctx := context.WithoutCancel(t.Context()) // the test may have cancelled its own
	if _, err := s.Stat(ctx, key); !errors.Is(err, modelkeep.ErrNotFound) {
		t.Errorf("Stat(%q) = %v, want ErrNotFound", key, err)
	}
	if rc, _, err := s.Open(ctx, key); !errors.Is(err, modelkeep.ErrNotFound) {
		if rc != nil {
			rc.Close()
		}
		t.Errorf("Open(%q) = %v, want ErrNotFound", key, err)
	}
	if l, ok := s.(modelkeep.BlobLister); ok {
		if got := listAll(t, l, key); len(got) != 0 {
			t.Errorf("List(%q) = %v, want nothing", key, keysOf(got))
		}
	}
}

func mustPut(t *testing.T, s modelkeep.BlobStore, key string, r io.Reader, size int64) {
	t.Helper()
	if _, err := s.Put(t.Context(), key, r, size); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func listAll(t *testing.T, l modelkeep.BlobLister, prefix string) map[string]modelkeep.BlobInfo {
	t.Helper()
	got := map[string]modelkeep.BlobInfo{}
	err := l.List(context.WithoutCancel(t.Context()), prefix, func(info modelkeep.BlobInfo) error {
		if _, dup := got[info.Key]; dup {
			t.Errorf("List(%q) returned %q twice", prefix, info.Key)
		}
		got[info.Key] = info
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return got
}

func keysOf(m map[string]modelkeep.BlobInfo) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

func httpGet(t *testing.T, url string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, url, nil)
	if err != nil {
		t.Fatalf("presigned url %q: %v", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET presigned url: %v", err)
	}
	return resp
}

// payload is a deterministic pseudo-random stream of n bytes: large blobs
// are streamed rather than held, and digest recomputes the same bytes.
func payload(seed uint64, n int64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	return io.LimitReader(rand.NewChaCha8(key), n)
}

func digest(seed uint64, n int64) string {
	h := sha256.New()
	if _, err := io.Copy(h, payload(seed, n)); err != nil {
		panic(err) // ChaCha8 never fails
	}
	return hex.EncodeToString(h.Sum(nil))
}

func content(seed uint64, n int64) []byte {
	b, err := io.ReadAll(payload(seed, n))
	if err != nil {
		panic(err)
	}
	return b
}

// opaque hides every interface but io.Reader (Seeker, WriterTo, Len), so
// the store sees a body like an HTTP request's.
func opaque(r io.Reader) io.Reader { return struct{ io.Reader }{r} }

// failingReader serves left bytes of r and then fails with err.
type failingReader struct {
	r    io.Reader
	left int64
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.left <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.left {
		p = p[:f.left]
	}
	n, err := f.r.Read(p)
	f.left -= int64(n)
	return n, err
}

// cancelReader serves left bytes of r, then cancels the upload's context and
// keeps serving, as a request body would while its client disconnects.
type cancelReader struct {
	r      io.Reader
	left   int64
	cancel context.CancelFunc
}

func (c *cancelReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.cancel()
		return c.r.Read(p)
	}
	if int64(len(p)) > c.left {
		p = p[:c.left]
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

// testMultipart checks the Multipart contract: parts in any order, a part
// replaced, ETags checked at completion, failed parts, abort and listing.
func testMultipart(t *testing.T, s modelkeep.BlobStore) {
	mp, ok := s.(modelkeep.Multipart)
	if !ok {
		t.Skip("the store has no multipart uploads")
	}
	ctx := t.Context()
	const p1 = modelkeep.MinPartSize + 123 // parts but the last need MinPartSize
	create := func(t *testing.T, key string) string {
		t.Helper()
		id, err := mp.CreateMultipart(ctx, key)
		if err != nil || id == "" {
			t.Fatalf("CreateMultipart(%q) = %q, %v", key, id, err)
		}
		return id
	}
	put := func(t *testing.T, key, id string, n int, seed uint64, size int64) modelkeep.Part {
		t.Helper()
		p, err := mp.PutPart(ctx, key, id, n, opaque(payload(seed, size)), size, "")
		if err != nil {
			t.Fatalf("PutPart(%d): %v", n, err)
		}
		if p.Number != n || p.Size != size || p.ETag == "" {
			t.Fatalf("PutPart(%d) = %+v", n, p)
		}
		return p
	}
	wantSHA := func(parts ...[2]int64) string { // (seed, size) of each part, in order
		h := sha256.New()
		for _, p := range parts {
			_, _ = io.Copy(h, payload(uint64(p[0]), p[1]))
		}
		return hex.EncodeToString(h.Sum(nil))
	}

	t.Run("parts in any order", func(t *testing.T) {
		const key = "mp/any-order"
		id := create(t, key)
		b := put(t, key, id, 2, 2, 1000)
		a := put(t, key, id, 1, 1, p1)
		if _, err := s.Stat(ctx, key); !errors.Is(err, modelkeep.ErrNotFound) {
			t.Errorf("Stat before completion = %v, want ErrNotFound", err)
		}
		info, err := mp.CompleteMultipart(ctx, key, id, []modelkeep.Part{a, b})
		if err != nil {
			t.Fatalf("CompleteMultipart: %v", err)
		}
		if info.Size != p1+1000 {
			t.Errorf("CompleteMultipart size %d, want %d", info.Size, p1+1000)
		}
		checkContent(t, s, key, p1+1000, wantSHA([2]int64{1, p1}, [2]int64{2, 1000}))
		if _, err := mp.PutPart(ctx, key, id, 3, payload(1, 10), 10, ""); !errors.Is(err, modelkeep.ErrNotFound) {
			t.Errorf("PutPart after completion = %v, want ErrNotFound", err)
		}
		if l, ok := s.(modelkeep.BlobLister); ok {
			if got := keysOf(listAll(t, l, "")); len(got) != 1 || got[0] != key {
				t.Errorf("List = %v, want only %q (parts are no blobs)", got, key)
			}
		}
	})
	t.Run("replaced part", func(t *testing.T) {
		const key = "mp/replaced"
		id := create(t, key)
		old := put(t, key, id, 1, 1, p1)
		last := put(t, key, id, 2, 2, 10)
		newer := put(t, key, id, 1, 3, p1)
		if _, err := mp.CompleteMultipart(ctx, key, id, []modelkeep.Part{old, last}); !errors.Is(err, modelkeep.ErrConflict) {
			t.Fatalf("CompleteMultipart with a replaced part's ETag = %v, want ErrConflict", err)
		}
		if _, err := mp.CompleteMultipart(ctx, key, id, []modelkeep.Part{newer, last}); err != nil {
			t.Fatalf("CompleteMultipart: %v", err)
		}
		checkContent(t, s, key, p1+10, wantSHA([2]int64{3, p1}, [2]int64{2, 10}))
	})
	t.Run("missing part", func(t *testing.T) {
		const key = "mp/missing"
		id := create(t, key)
		a := put(t, key, id, 1, 1, p1)
		_, err := mp.CompleteMultipart(ctx, key, id, []modelkeep.Part{a, {Number: 2, Size: 10, ETag: a.ETag}})
		if !errors.Is(err, modelkeep.ErrConflict) {
			t.Fatalf("CompleteMultipart with a missing part = %v, want ErrConflict", err)
		}
		if err := mp.AbortMultipart(ctx, key, id); err != nil {
			t.Fatalf("AbortMultipart: %v", err)
		}
	})
	t.Run("failing part", func(t *testing.T) {
		const key = "mp/failing"
		id := create(t, key)
		r := &failingReader{r: payload(1, p1), left: 1000, err: errBoom}
		if _, err := mp.PutPart(ctx, key, id, 1, r, p1, ""); !errors.Is(err, errBoom) || !errors.Is(err, modelkeep.ErrInvalid) {
			t.Fatalf("PutPart with a failing body = %v, want its error as ErrInvalid", err)
		}
		if _, err := mp.PutPart(ctx, key, id, 1, opaque(payload(1, 10)), 11, ""); !errors.Is(err, modelkeep.ErrInvalid) {
			t.Fatalf("PutPart with a short body = %v, want ErrInvalid", err)
		}
		a := put(t, key, id, 1, 4, 100)
		if _, err := mp.CompleteMultipart(ctx, key, id, []modelkeep.Part{a}); err != nil {
			t.Fatalf("CompleteMultipart: %v", err)
		}
		checkContent(t, s, key, 100, digest(4, 100))
	})
	t.Run("abort and list", func(t *testing.T) {
		const key = "mp/aborted"
		before := time.Now().Add(-time.Hour)
		id := create(t, key)
		put(t, key, id, 1, 1, 1000)
		other := create(t, "elsewhere/x")
		found := map[string]modelkeep.MultipartUpload{}
		err := mp.ListMultipart(ctx, "mp/", func(u modelkeep.MultipartUpload) error {
			found[u.UploadID] = u
			return nil
		})
		if err != nil {
			t.Fatalf("ListMultipart: %v", err)
		}
		u, ok := found[id]
		if !ok || u.Key != key || len(found) != 1 {
			t.Fatalf("ListMultipart(mp/) = %+v, want only %s for %q", found, id, key)
		}
		if u.Initiated.Before(before) || u.LastActivity.Before(u.Initiated) {
			t.Errorf("ListMultipart times: initiated %v, last activity %v", u.Initiated, u.LastActivity)
		}
		for _, x := range []struct{ key, id string }{{key, id}, {"elsewhere/x", other}} {
			if err := mp.AbortMultipart(ctx, x.key, x.id); err != nil {
				t.Fatalf("AbortMultipart: %v", err)
			}
		}
		if err := mp.AbortMultipart(ctx, key, id); err != nil {
			t.Errorf("second AbortMultipart = %v, want nil", err)
		}
		if _, err := mp.PutPart(ctx, key, id, 2, payload(1, 10), 10, ""); !errors.Is(err, modelkeep.ErrNotFound) {
			t.Errorf("PutPart after abort = %v, want ErrNotFound", err)
		}
		_ = mp.ListMultipart(ctx, "", func(u modelkeep.MultipartUpload) error {
			t.Errorf("upload %s of %q listed after abort", u.UploadID, u.Key)
			return nil
		})
		assertGone(t, s, key)
	})
}

// testPartPresigner checks the PartPresigner contract: an upload whose
// parts keep their CRC32C takes parts through PutPart (without one: the
// store computes it) and through presigned requests sent with plain
// net/http; the store refuses a presigned part whose bytes do not match
// its CRC32C, and a request sent other than signed; ListParts tells what
// each part holds; the parts it lists complete the upload.
func testPartPresigner(t *testing.T, s modelkeep.BlobStore) {
	pp, ok := s.(modelkeep.PartPresigner)
	if !ok {
		t.Skip("the store does not presign parts")
	}
	mp := s.(modelkeep.Multipart)
	ctx := t.Context()
	const key, p1, p2 = "pp/file", modelkeep.MinPartSize + 77, 1000
	id, err := pp.CreateMultipartCRC32C(ctx, key)
	if err != nil {
		t.Fatalf("CreateMultipartCRC32C: %v", err)
	}
	t.Cleanup(func() { _ = mp.AbortMultipart(context.Background(), key, id) })

	if _, err := mp.PutPart(ctx, key, id, 1, payload(1, p1), p1, ""); err != nil {
		t.Fatalf("PutPart: %v", err)
	}
	send := func(req modelkeep.PresignedRequest, body []byte, drop string) int {
		t.Helper()
		r, err := http.NewRequestWithContext(ctx, req.Method, req.URL, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range req.Header {
			if strings.EqualFold(k, drop) {
				continue
			}
			if http.CanonicalHeaderKey(k) == "Content-Length" {
				continue // the transport sends the body's
			}
			r.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatalf("send presigned part: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}
	good, _ := io.ReadAll(payload(2, p2))
	req, err := pp.PresignPart(ctx, key, id, 2, p2, modelkeep.PartChecksum{Algorithm: modelkeep.ChecksumCRC32C, Hex: crc32cOf(2, p2)}, time.Minute)
	if err != nil {
		t.Fatalf("PresignPart: %v", err)
	}
	if req.Method != http.MethodPut || req.Expires.Before(time.Now()) {
		t.Fatalf("PresignPart = %s, expires %v", req.Method, req.Expires)
	}
	bad := bytes.Clone(good)
	bad[len(bad)/2] ^= 1
	if code := send(req, bad, ""); code < 400 || code >= 500 {
		t.Errorf("presigned part with other bytes: status %d, want a 4xx", code)
	}
	if code := send(req, good, "x-amz-checksum-crc32c"); code < 400 || code >= 500 {
		t.Errorf("presigned part without its checksum header: status %d, want a 4xx", code)
	}
	if code := send(req, good, ""); code != http.StatusOK {
		t.Fatalf("presigned part: status %d", code)
	}
	for _, sum := range []modelkeep.PartChecksum{{}, {Algorithm: modelkeep.ChecksumCRC32C, Hex: "xyz"}, {Algorithm: modelkeep.ChecksumCRC32C}} {
		if _, err := pp.PresignPart(ctx, key, id, 2, p2, sum, time.Minute); !errors.Is(err, modelkeep.ErrInvalid) {
			t.Errorf("PresignPart with checksum %+v = %v, want ErrInvalid", sum, err)
		}
	}

	parts, err := pp.ListParts(ctx, key, id)
	if err != nil {
		t.Fatalf("ListParts: %v", err)
	}
	if len(parts) != 2 || parts[0].Number != 1 || parts[0].Size != p1 || parts[0].CRC32C != crc32cOf(1, p1) ||
		parts[1].Number != 2 || parts[1].Size != p2 || parts[1].CRC32C != crc32cOf(2, p2) || parts[1].ETag == "" {
		t.Fatalf("ListParts = %+v", parts)
	}
	if _, err := mp.CompleteMultipart(ctx, key, id, parts); err != nil {
		t.Fatalf("CompleteMultipart: %v", err)
	}
	h := sha256.New()
	_, _ = io.Copy(h, payload(1, p1))
	_, _ = io.Copy(h, payload(2, p2))
	checkContent(t, s, key, p1+p2, hex.EncodeToString(h.Sum(nil)))
	if _, err := pp.ListParts(ctx, key, id); !errors.Is(err, modelkeep.ErrNotFound) {
		t.Errorf("ListParts after completion = %v, want ErrNotFound", err)
	}
}

// crc32cOf is the hex CRC32C (Castagnoli, big-endian) of payload(seed, n).
func crc32cOf(seed uint64, n int64) string {
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	_, _ = io.Copy(h, payload(seed, n))
	return hex.EncodeToString(h.Sum(nil))
}
