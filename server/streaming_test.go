package server_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// heapPeak samples the heap while f runs and returns how far it grew above
// the heap in use before. The collector runs at GOGC=10 meanwhile: at the
// default 100 the heap may hold as much garbage as live data before a
// collection, so the peak measured the test binary's own live heap (its
// caches and connections) as much as f, and a streaming export failed a
// 16 MiB bound by a MiB now and then.
func heapPeak(f func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapInuse
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	f()
	close(stop)
	wg.Wait()
	if peak.Load() < base {
		return 0
	}
	return peak.Load() - base
}

// TestStreamingMemory: a 256 MiB upload and download through the API leave
// the heap growth far below the body size, on each backend.
func TestStreamingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 256 MiB")
	}
	const size = 256 << 20
	const limit = 64 << 20
	forEachBackendSerially(t, nil, func(t *testing.T, e *env) {
		e.mustCreateModel("big")
		n := e.mustCreateVersion("big")
		path := fmt.Sprintf("/api/v1/models/big/versions/%d/files/weights.bin", n)
		digest := patternDigest(3, size)

		grew := heapPeak(func() {
			req, _ := http.NewRequest("PUT", e.http.URL+path, newPattern(3, size))
			req.ContentLength = size
			req.Header.Set("Authorization", "Bearer "+e.token)
			req.Header.Set("X-Checksum-Sha256", digest)
			e.expect(doRaw(t, e, req), http.StatusCreated, nil)
		})
		t.Logf("upload of %d MiB: heap grew by %.1f MiB", size>>20, float64(grew)/(1<<20))
		if grew > limit {
			t.Errorf("upload: heap grew by %d MiB, limit %d MiB", grew>>20, limit>>20)
		}

		var got string
		grew = heapPeak(func() {
			resp := e.do("GET", path, nil)
			h := sha256.New()
			io.Copy(h, resp.Body)
			resp.Body.Close()
			got = hex.EncodeToString(h.Sum(nil))
		})
		t.Logf("download of %d MiB: heap grew by %.1f MiB", size>>20, float64(grew)/(1<<20))
		if grew > limit {
			t.Errorf("download: heap grew by %d MiB, limit %d MiB", grew>>20, limit>>20)
		}
		if got != digest {
			t.Fatalf("download digest %s, want %s", got, digest)
		}
	})
}

func doRaw(t *testing.T, e *env, req *http.Request) *http.Response {
	t.Helper()
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

// TestUploadPartMemory: a 256 MiB part of a resumable upload streams to the
// blob store, and the completion that reads the file back streams too: the
// heap grows far less than the part, on each backend.
func TestUploadPartMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 256 MiB")
	}
	const part = 256 << 20
	const size = part + 1<<20
	const limit = 64 << 20
	forEachBackendSerially(t, []string{"--upload-part-size", "256MiB"}, func(t *testing.T, e *env) {
		e.mustCreateModel("big")
		n := e.mustCreateVersion("big")
		base := fmt.Sprintf("/api/v1/models/big/versions/%d", n)
		var u uploadSession
		e.expect(e.do("POST", base+"/uploads", map[string]any{"path": "weights.bin", "size": size, "sha256": patternSHA(9, 0, size)}), http.StatusCreated, &u)
		// Part 2 first: part 1 then does not continue a hash, and the
		// completion reads the whole file back.
		e.expect(e.putPart(base, u, 9, 2, ""), http.StatusOK, nil)
		grew := heapPeak(func() {
			req, _ := http.NewRequest("PUT", fmt.Sprintf("%s%s/uploads/%s/parts/1", e.http.URL, base, u.ID), patternAt(9, 0, part))
			req.ContentLength = part
			req.Header.Set("Authorization", "Bearer "+e.token)
			req.Header.Set("X-Checksum-Sha256", patternSHA(9, 0, part))
			e.expect(doRaw(t, e, req), http.StatusOK, nil)
		})
		t.Logf("part of %d MiB: heap grew by %.1f MiB", part>>20, float64(grew)/(1<<20))
		if grew > limit {
			t.Errorf("part: heap grew by %d MiB, limit %d MiB", grew>>20, limit>>20)
		}
		grew = heapPeak(func() {
			e.expect(e.do("POST", base+"/uploads/"+u.ID+"/complete", nil), http.StatusCreated, nil)
		})
		t.Logf("completion reading %d MiB back: heap grew by %.1f MiB", size>>20, float64(grew)/(1<<20))
		if grew > limit {
			t.Errorf("completion: heap grew by %d MiB, limit %d MiB", grew>>20, limit>>20)
		}
	})
}
