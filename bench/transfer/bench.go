package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"
)

// bench is one run: the stores, the server under test and the test file.
type bench struct {
	cfg      config
	s3       *s3Client
	bucket   string
	mk       *modelkeep
	payload  *payload
	model    string
	versions []int // one pending version per round
	rssStart int64 // the server's RSS once set up
	stderr   io.Writer
	log      func(format string, args ...any)
	// -dir (dir.go): the modelkeep binary, the temporary directory, the
	// test directory and the version each round's push made.
	bin, tmp    string
	dir         *dirPayload
	dirVersions []int
	// cliCPU is the CPU time of the CLI's runs so far (child processes,
	// counted once they exit): the client's work of a -dir transfer
	// through Modelkeep, counted as the benchmark client's.
	cliCPU time.Duration
}

// op is one kind of transfer.
type op struct {
	method    string // PUT or GET
	name      string
	modelkeep bool
	run       func(ctx context.Context, round int) error
}

// sample is one measured transfer.
type sample struct {
	mibps              float64
	elapsed            time.Duration
	rssBefore, rssPeak int64 // the server's; Modelkeep transfers only
	cpu                cpuTimes
}

// cpuTimes is the CPU time used by the benchmark itself (with the CLI it
// runs for -dir), the Modelkeep
// server, (with -s3-pid) the S3 server, and the whole machine.
type cpuTimes struct{ client, server, s3, all time.Duration }

func (a cpuTimes) sub(b cpuTimes) cpuTimes {
	return cpuTimes{a.client - b.client, a.server - b.server, a.s3 - b.s3, a.all - b.all}
}

// others is the CPU time of everything else on the machine: the load that
// competes with the transfer (with the S3 server in it when its PID is
// not known).
func (a cpuTimes) others() time.Duration { return max(0, a.all-a.client-a.server-a.s3) }

// row is an op with its samples, one per round.
type row struct {
	op      *op
	samples []sample
}

const (
	mkPath        = "weights.bin"
	mkChunkedPath = "weights-chunked.bin"
	directKey     = "direct/presigned"
	directSDK     = "direct/sdk"
	directTM      = "direct/transfermanager"
	// putChunked is the direction of uploads of unknown length: a chunked
	// PUT through Modelkeep against the SDK's transfer manager streaming
	// the same file.
	putChunked = "PUT chunked"
	directPref = "direct/"
	mkPrefix   = "files/" // Modelkeep's blob keys
)

// setup creates the model and one version per round through the API.
func (b *bench) setup(ctx context.Context) error {
	b.payload.verify = b.cfg.verify
	b.model = "bench-" + randomHex(4)
	if err := b.api(ctx, http.MethodPost, "/api/v1/models", map[string]any{"name": b.model}, http.StatusCreated, nil); err != nil {
		return err
	}
	for range b.cfg.reps {
		var v struct{ Version int }
		if err := b.api(ctx, http.MethodPost, "/api/v1/models/"+b.model+"/versions", map[string]any{}, http.StatusCreated, &v); err != nil {
			return err
		}
		b.versions = append(b.versions, v.Version)
	}
	var err error
	b.rssStart, err = readRSS(b.mk.pid())
	return err
}

// api sends a JSON request to the server under test.
func (b *bench) api(ctx context.Context, method, path string, in any, want int, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, b.mk.base+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.mkDo(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if out == nil || resp.StatusCode != want {
		return expectStatus(resp, want)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return nil
}

// mkDo sends a request to the server under test with the bench's token, on
// the same HTTP client as the direct transfers.
func (b *bench) mkDo(req *http.Request) (*http.Response, error) {
	if b.mk.token != "" {
		req.Header.Set("Authorization", "Bearer "+b.mk.token)
	}
	return b.s3.http.Do(req)
}

func (b *bench) filePath(round int) string {
	return fmt.Sprintf("%s/api/v1/models/%s/versions/%d/files/%s", b.mk.base, url.PathEscape(b.model), b.versions[round], mkPath)
}

// mkPut uploads the file through Modelkeep, as a training job would.
func (b *bench) mkPut(ctx context.Context, round int) error {
	f, err := os.Open(b.payload.path)
	if err != nil {
		return err
	}
	defer f.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, b.filePath(round), f)
	if err != nil {
		return err
	}
	req.ContentLength = b.payload.size
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-Checksum-Sha256", b.payload.sha256)
	resp, err := b.mkDo(req)
	if err != nil {
		return fmt.Errorf("modelkeep put: %w", err)
	}
	return expectStatus(resp, http.StatusCreated)
}

// mkPutChunked uploads the file through Modelkeep without Content-Length
// (chunked transfer encoding), as a job piping its output would: the body
// is a plain io.Reader of unknown length.
func (b *bench) mkPutChunked(ctx context.Context, round int) error {
	f, err := os.Open(b.payload.path)
	if err != nil {
		return err
	}
	defer f.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, strings.TrimSuffix(b.filePath(round), mkPath)+mkChunkedPath, struct{ io.Reader }{f})
	if err != nil {
		return err
	}
	req.ContentLength = -1
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("X-Checksum-Sha256", b.payload.sha256)
	resp, err := b.mkDo(req)
	if err != nil {
		return fmt.Errorf("modelkeep chunked put: %w", err)
	}
	return expectStatus(resp, http.StatusCreated)
}

// mkGet downloads the file through Modelkeep, as a deploy pipeline would.
func (b *bench) mkGet(ctx context.Context, round int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, b.filePath(round), nil)
	if err != nil {
		return err
	}
	resp, err := b.mkDo(req)
	if err != nil {
		return fmt.Errorf("modelkeep get: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return expectStatus(resp, http.StatusOK)
	}
	return b.payload.check(resp.Body, resp.Header.Get("X-Checksum-Sha256"))
}

// ops lists the transfers of one round in two groups, direct and Modelkeep,
// each ending with a clean-up that is not measured.
func (b *bench) ops() (direct, mk []*op, cleanDirect, cleanMk func(context.Context) error) {
	s3c, bucket, p := b.s3, b.bucket, b.payload
	direct = []*op{
		{method: http.MethodPut, name: "direct: presigned URL, net/http", run: func(ctx context.Context, _ int) error {
			return s3c.presignedPut(ctx, bucket, directKey, p)
		}},
		{method: http.MethodGet, name: "direct: presigned URL, net/http", run: func(ctx context.Context, _ int) error {
			return s3c.presignedGet(ctx, bucket, directKey, p)
		}},
	}
	if b.cfg.sdk {
		direct = append(direct,
			&op{method: http.MethodGet, name: "direct: SDK GetObject", run: func(ctx context.Context, _ int) error {
				return s3c.sdkGet(ctx, bucket, directKey, p)
			}},
			&op{method: http.MethodPut, name: "direct: SDK PutObject, unsigned payload", run: func(ctx context.Context, _ int) error {
				return s3c.sdkPut(ctx, bucket, directSDK, p)
			}},
		)
	}
	mk = []*op{
		{method: http.MethodPut, name: "Modelkeep", modelkeep: true, run: b.mkPut},
		{method: http.MethodGet, name: "Modelkeep", modelkeep: true, run: b.mkGet},
	}
	if b.cfg.onlyChunk {
		direct, mk = nil, nil
	}
	if b.cfg.chunked {
		direct = append(direct,
			&op{method: putChunked, name: "direct: SDK transfer manager, 8 MiB parts × 5, streamed", run: func(ctx context.Context, _ int) error {
				return s3c.tmPut(ctx, s3c.tm, bucket, directTM, p)
			}},
			&op{method: putChunked, name: "direct: SDK transfer manager, streamed, CRC32 per part", run: func(ctx context.Context, _ int) error {
				return s3c.tmPut(ctx, s3c.tmCRC, bucket, directTM, p)
			}})
		mk = append(mk, &op{method: putChunked, name: "Modelkeep, no Content-Length", modelkeep: true, run: b.mkPutChunked})
	}
	cleanDirect = func(ctx context.Context) error { return s3c.deleteAll(ctx, bucket, directPref) }
	// The rows stay; only the bytes go, to keep the disk as it was.
	cleanMk = func(ctx context.Context) error { return s3c.deleteAll(ctx, bucket, mkPrefix) }
	return direct, mk, cleanDirect, cleanMk
}

// measureAll runs every round, alternating which group goes first, and
// returns the rows in report order: PUTs, then GETs, direct before Modelkeep.
func (b *bench) measureAll(ctx context.Context) ([]*row, error) {
	direct, mk, cleanDirect, cleanMk := b.ops()
	if b.cfg.dir {
		direct, mk, cleanDirect, cleanMk = b.dirOps()
	}
	rows := map[*op]*row{}
	for _, o := range append(append([]*op{}, direct...), mk...) {
		rows[o] = &row{op: o}
	}
	type group struct {
		name  string
		ops   []*op
		clean func(context.Context) error
	}
	groups := []group{{"direct", direct, cleanDirect}, {"modelkeep", mk, cleanMk}}
	for round := range b.cfg.reps {
		order := groups
		if round%2 == 1 {
			order = []group{groups[1], groups[0]}
		}
		for _, g := range order {
			for _, o := range g.ops {
				s, err := b.measure(ctx, o, round)
				if err != nil {
					return nil, fmt.Errorf("round %d, %s %s: %w", round+1, o.method, o.name, err)
				}
				rss := ""
				if o.modelkeep {
					rss = fmt.Sprintf("  server RSS %s -> %s", formatSize(s.rssBefore), formatSize(s.rssPeak))
				}
				b.log("round %d/%d  %-3s %-58s %7.1f MiB/s%s", round+1, b.cfg.reps, o.method, o.name, s.mibps, rss)
				rows[o].samples = append(rows[o].samples, s)
			}
			if err := g.clean(ctx); err != nil {
				return nil, fmt.Errorf("clean up after %s transfers: %w", g.name, err)
			}
		}
	}
	var out []*row
	for _, method := range []string{http.MethodPut, putChunked, putDir, http.MethodGet, getDir} {
		for _, o := range append(append([]*op{}, direct...), mk...) {
			if o.method == method {
				out = append(out, rows[o])
			}
		}
	}
	return out, nil
}

// measure times one transfer and, for a Modelkeep one, samples the
// server's RSS while it runs.
func (b *bench) measure(ctx context.Context, o *op, round int) (sample, error) {
	if b.cfg.sync {
		syncDisks()
	}
	if err := b.settle(ctx); err != nil {
		return sample{}, err
	}
	pid := b.mk.pid()
	var s sample
	cpu0, err := b.cpuNow()
	if err != nil {
		return s, err
	}
	stopRSS := func() (int64, error) { return 0, nil }
	if o.modelkeep {
		if s.rssBefore, err = readRSS(pid); err != nil {
			return s, err
		}
		stopRSS = watchRSS(pid, b.cfg.sampleEvery)
	}
	start := time.Now()
	err = o.run(ctx, round)
	elapsed := time.Since(start)
	peak, rssErr := stopRSS()
	if err != nil {
		return s, err
	}
	if rssErr != nil {
		return s, rssErr
	}
	cpu1, err := b.cpuNow()
	if err != nil {
		return s, err
	}
	s.rssPeak = max(peak, s.rssBefore)
	s.cpu = cpu1.sub(cpu0)
	s.elapsed = elapsed
	s.mibps = float64(b.payload.size) / (1 << 20) / elapsed.Seconds()
	return s, nil
}

// settle waits up to -idle-wait for the machine to be idle (less than a
// tenth of a CPU busy over half a second), so that a transfer does not
// compete with other work; a machine that stays busy is reported, and the
// transfer measured anyway.
func (b *bench) settle(ctx context.Context) error {
	if b.cfg.idleWait <= 0 {
		return nil
	}
	const window = 500 * time.Millisecond
	start := time.Now()
	for {
		before, err := readBusyCPU()
		if err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(window):
		}
		after, err := readBusyCPU()
		if err != nil {
			return err
		}
		busy := float64(after-before) / float64(window)
		waited := time.Since(start)
		switch {
		case busy < 0.1:
			if waited > 2*window {
				b.log("waited %s for the machine to be idle", waited.Round(time.Second))
			}
			return nil
		case waited >= b.cfg.idleWait:
			b.log("the machine is still busy after %s (%.0f%% of a CPU): measuring anyway", waited.Round(time.Second), busy*100)
			return nil
		}
	}
}

func (b *bench) cpuNow() (cpuTimes, error) {
	var c cpuTimes
	var err error
	if c.client, err = readCPU(os.Getpid()); err != nil {
		return c, err
	}
	c.client += b.cliCPU
	if c.server, err = readCPU(b.mk.pid()); err != nil {
		return c, err
	}
	if c.all, err = readBusyCPU(); err != nil {
		return c, err
	}
	if b.cfg.s3PID > 0 {
		if c.s3, err = readCPU(b.cfg.s3PID); err != nil {
			return c, fmt.Errorf("-s3-pid: %w", err)
		}
	}
	return c, nil
}

// watchRSS samples pid's RSS every interval until the returned function is
// called, which takes a last sample and returns the peak.
func watchRSS(pid int, every time.Duration) func() (int64, error) {
	type result struct {
		peak int64
		err  error
	}
	done := make(chan struct{})
	res := make(chan result, 1)
	go func() {
		var r result
		sampleOnce := func() {
			n, err := readRSS(pid)
			if err != nil {
				if r.err == nil {
					r.err = err
				}
				return
			}
			r.peak = max(r.peak, n)
		}
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			sampleOnce()
			select {
			case <-done:
				sampleOnce()
				res <- r
				return
			case <-tick.C:
			}
		}
	}()
	return func() (int64, error) {
		close(done)
		r := <-res
		return r.peak, r.err
	}
}
