package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// payload is the test file: random bytes on disk (and in the page cache)
// and their SHA-256.
type payload struct {
	path   string
	size   int64
	sha256 string
	verify bool // hash downloads and compare
}

// writePayload writes size random bytes (ChaCha8 with a random seed: as
// incompressible as crypto/rand, and fast) and syncs them, so that the
// first transfer does not compete with their write-back.
func writePayload(ctx context.Context, dir string, size int64) (*payload, error) {
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "payload.bin")
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create test file: %w", err)
	}
	defer f.Close()
	h := sha256.New()
	src := io.LimitReader(ctxReader{ctx, mrand.NewChaCha8(seed)}, size)
	if _, err := io.CopyBuffer(io.MultiWriter(f, h), src, make([]byte, 1<<20)); err != nil {
		return nil, fmt.Errorf("write test file: %w", err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("sync test file: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("close test file: %w", err)
	}
	return &payload{path: path, size: size, sha256: hex.EncodeToString(h.Sum(nil)), verify: true}, nil
}

// ctxReader stops reading once ctx is done (Ctrl-C while writing the file).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// check reads a download to the end and verifies it: the length always, the
// SHA-256 when p.verify is set, and the server's claimed digest when given.
// Direct and Modelkeep downloads go through it alike, so the client does the
// same work for both.
func (p *payload) check(r io.Reader, claimed string) error {
	var h hash.Hash
	var w io.Writer = io.Discard
	if p.verify {
		h = sha256.New()
		w = h
	}
	n, err := io.CopyBuffer(w, r, make([]byte, 256<<10))
	if err != nil {
		return fmt.Errorf("read download: %w", err)
	}
	if n != p.size {
		return fmt.Errorf("download has %d bytes, want %d", n, p.size)
	}
	if claimed != "" && claimed != p.sha256 {
		return fmt.Errorf("server claims sha256 %s, want %s", claimed, p.sha256)
	}
	if h != nil {
		if got := hex.EncodeToString(h.Sum(nil)); got != p.sha256 {
			return fmt.Errorf("download has sha256 %s, want %s", got, p.sha256)
		}
	}
	return nil
}

// expectStatus drains and closes resp's body and checks its status.
func expectStatus(resp *http.Response, want int) error {
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode != want {
		// Not the query: a presigned URL carries its signature there.
		u := *resp.Request.URL
		u.RawQuery = ""
		return fmt.Errorf("%s %s: status %d, want %d: %s", resp.Request.Method, u.String(),
			resp.StatusCode, want, strings.TrimSpace(string(body)))
	}
	return nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// formatSize prints a byte count with the largest binary unit that keeps it
// at least 1 (1 GiB, 512 MiB, 37.5 MiB).
func formatSize(n int64) string {
	units := []struct {
		name string
		size int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}}
	for _, u := range units {
		if n >= u.size || n <= -u.size {
			v := float64(n) / float64(u.size)
			if v == float64(int64(v)) {
				return fmt.Sprintf("%d %s", int64(v), u.name)
			}
			return fmt.Sprintf("%.1f %s", v, u.name)
		}
	}
	return fmt.Sprintf("%d B", n)
}
