package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
)

// With -dir the benchmark moves a directory instead of one file: -dir-large
// files sharing -size, and -dir-small files of -dir-small-size, as a model
// directory is (weights, then configs, tokenizers, ...). Directions:
//
//	PUT dir  the SDK transfer manager's UploadDirectory against
//	         `modelkeep push MODEL DIR --finalize` (the CLI, a child process;
//	         on S3 its parts go to the bucket through presigned URLs)
//	GET dir  the transfer manager's DownloadDirectory (each file then hashed,
//	         as a pull verifies it) against `modelkeep pull MODEL@N DIR`
//	         (from the bucket through presigned URLs)
//
// The CLI's CPU time counts as the benchmark client's.
const (
	putDir     = "PUT dir"
	getDir     = "GET dir"
	directDirP = "direct/dir"
)

// dirPayload is the test directory.
type dirPayload struct {
	root  string
	files map[string]string // relative path -> SHA-256
	total int64
}

// writeDir writes the test directory: large files sharing size, and small
// ones, random bytes (ChaCha8), synced.
func writeDir(ctx context.Context, dir string, size int64, large, small int, smallSize int64) (*dirPayload, error) {
	p := &dirPayload{root: filepath.Join(dir, "model"), files: map[string]string{}}
	var seed [32]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	src := mrand.NewChaCha8(seed)
	write := func(rel string, n int64) error {
		path := filepath.Join(p.root, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.CopyBuffer(io.MultiWriter(f, h), io.LimitReader(ctxReader{ctx, src}, n), make([]byte, 1<<20)); err != nil {
			return fmt.Errorf("write %s: %w", rel, err)
		}
		if err := f.Sync(); err != nil {
			return err
		}
		p.files[rel] = hex.EncodeToString(h.Sum(nil))
		p.total += n
		return f.Close()
	}
	per := size / int64(large)
	for i := range large {
		n := per
		if i == large-1 {
			n = size - per*int64(large-1)
		}
		if err := write(fmt.Sprintf("weights/shard-%02d.safetensors", i), n); err != nil {
			return nil, err
		}
	}
	for i := range small {
		if err := write(fmt.Sprintf("extra/%03d/part-%04d.json", i/100, i), smallSize); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// tmUploadDir is the direct baseline of a push: UploadDirectory.
func (c *s3Client) tmUploadDir(ctx context.Context, tm *transfermanager.Client, bucket string, p *dirPayload) error {
	_, err := tm.UploadDirectory(ctx, &transfermanager.UploadDirectoryInput{
		Bucket: &bucket, Source: aws.String(p.root), Recursive: aws.Bool(true), KeyPrefix: aws.String(directDirP),
	})
	if err != nil {
		return fmt.Errorf("transfer manager upload directory: %w", err)
	}
	return nil
}

// tmDownloadDir is the direct baseline of a pull: DownloadDirectory into a
// new directory, then every file hashed (the pull verifies each file) when
// -verify.
func (c *s3Client) tmDownloadDir(ctx context.Context, bucket string, p *dirPayload, dest string, verify bool) error {
	defer os.RemoveAll(dest)
	_, err := c.tm.DownloadDirectory(ctx, &transfermanager.DownloadDirectoryInput{
		Bucket: &bucket, Destination: aws.String(dest), KeyPrefix: aws.String(directDirP),
	})
	if err != nil {
		return fmt.Errorf("transfer manager download directory: %w", err)
	}
	return checkDir(dest, p, verify)
}

// checkDir compares a downloaded directory with the payload: every file
// there with its original's size, and, when verify, read and hashed against
// its SHA-256. Without verify nothing is read: a pull has hashed every file
// itself, and hashing them again here would bill the pull a second pass
// over the bytes that the direct baseline does not make.
func checkDir(dest string, p *dirPayload, verify bool) error {
	for rel, want := range p.files {
		path := filepath.Join(dest, filepath.FromSlash(rel))
		if !verify {
			if err := sameSize(path, filepath.Join(p.root, filepath.FromSlash(rel))); err != nil {
				return err
			}
			continue
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.CopyBuffer(h, f, make([]byte, 256<<10))
		f.Close()
		if err != nil {
			return err
		}
		if got := hex.EncodeToString(h.Sum(nil)); verify && got != want {
			return fmt.Errorf("%s: sha256 %s, want %s", rel, got, want)
		}
	}
	return nil
}

// sameSize checks that the file at path has the size of the original.
func sameSize(path, original string) error {
	got, err := os.Stat(path)
	if err != nil {
		return err
	}
	want, err := os.Stat(original)
	if err != nil {
		return err
	}
	if got.Size() != want.Size() {
		return fmt.Errorf("%s: %d bytes, want %d", path, got.Size(), want.Size())
	}
	return nil
}

// cli runs the modelkeep binary as a user would, with the bench's token.
func (b *bench) cli(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, b.bin, args...)
	home := filepath.Join(b.tmp, "home")
	cmd.Env = append(os.Environ(), "MODELKEEP_URL="+b.mk.base, "MODELKEEP_TOKEN="+b.mk.token,
		"HOME="+home, "XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_CACHE_HOME="+filepath.Join(home, "cache"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if cmd.ProcessState != nil {
		b.cliCPU += cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if err != nil {
		return nil, fmt.Errorf("modelkeep %s: %w\n%s", args[0], err, stderr.String())
	}
	return out, nil
}

// mkPushDir pushes the directory into a new version and finalizes it.
func (b *bench) mkPushDir(ctx context.Context, round int) error {
	out, err := b.cli(ctx, "push", b.model, b.dir.root, "--finalize", "--quiet", "--output", "json",
		"--parallel", strconv.Itoa(b.cfg.dirParallel))
	if err != nil {
		return err
	}
	var res struct{ Version int }
	if err := json.Unmarshal(out, &res); err != nil || res.Version == 0 {
		return fmt.Errorf("modelkeep push printed %q: %v", out, err)
	}
	b.dirVersions[round] = res.Version
	return nil
}

// mkPullDir pulls the round's version into a new directory (verified by
// the CLI) and checks it here too, as the direct download is checked.
func (b *bench) mkPullDir(ctx context.Context, round int) error {
	dest := filepath.Join(b.tmp, "pulled")
	defer os.RemoveAll(dest)
	if _, err := b.cli(ctx, "pull", fmt.Sprintf("%s@%d", b.model, b.dirVersions[round]), dest, "--quiet",
		"--parallel", strconv.Itoa(b.cfg.dirParallel)); err != nil {
		return err
	}
	return checkDir(dest, b.dir, false) // the pull verified the SHA-256s; this checks the files are there, whole
}

// dirOps are the transfers of -dir.
func (b *bench) dirOps() (direct, mk []*op, cleanDirect, cleanMk func(context.Context) error) {
	s3c, bucket := b.s3, b.bucket
	direct = []*op{
		{method: putDir, name: "direct: SDK transfer manager UploadDirectory", run: func(ctx context.Context, _ int) error {
			return s3c.tmUploadDir(ctx, s3c.tm, bucket, b.dir)
		}},
		{method: putDir, name: "direct: SDK transfer manager UploadDirectory, CRC32 per part", run: func(ctx context.Context, _ int) error {
			return s3c.tmUploadDir(ctx, s3c.tmCRC, bucket, b.dir)
		}},
		{method: getDir, name: "direct: SDK transfer manager DownloadDirectory, hashed", run: func(ctx context.Context, _ int) error {
			return s3c.tmDownloadDir(ctx, bucket, b.dir, filepath.Join(b.tmp, "direct-download"), b.cfg.verify)
		}},
	}
	mk = []*op{
		{method: putDir, name: "modelkeep push --finalize", modelkeep: true, run: b.mkPushDir},
		{method: getDir, name: "modelkeep pull (verified)", modelkeep: true, run: b.mkPullDir},
	}
	cleanDirect = func(ctx context.Context) error { return s3c.deleteAll(ctx, bucket, directDirP) }
	cleanMk = func(ctx context.Context) error { return s3c.deleteAll(ctx, bucket, mkPrefix) }
	return direct, mk, cleanDirect, cleanMk
}
