// Command transfer measures what Modelkeep costs on the artifact path: it
// uploads and downloads one large file directly to an S3 server and through
// a Modelkeep server on that same S3 server, side by side in one run, and
// samples the Modelkeep process's resident memory while the bytes pass.
//
//	go run ./bench/transfer -h
//
// bench/run.sh starts a versitygw for it when none is given.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const usageText = `Usage: go run ./bench/transfer [flags]

Transfer uploads and downloads one file of -size random bytes, -reps rounds:

  direct     to the S3 server itself: a presigned URL with plain net/http
             (PUT streams the file with Content-Length; GET streams the
             object), and with the AWS SDK (PutObject with an unsigned
             payload, the upload manager streaming the file as Modelkeep
             does, GetObject) unless -sdk=false;
  modelkeep  through a Modelkeep server that it builds from this module
             (go build ./cmd/modelkeep, or -bin) and starts on a free
             loopback port on a fresh bucket of the same S3 server, with
             SQLite metadata in a temporary directory (or -database):
             PUT .../versions/N/files/weights.bin with Content-Length and
             X-Checksum-Sha256, then GET it back; and (unless -chunked=false)
             a PUT of weights-chunked.bin without Content-Length (chunked
             transfer encoding), against the SDK's transfer manager
             streaming the same file as a plain io.Reader (8 MiB parts, 5
             at a time, unsigned, as Modelkeep sends its parts).

The order of the direct and the Modelkeep transfers alternates each round.
Before each transfer all disks are synced (-sync) and the machine is given
time to become idle (-idle-wait), so that neither write-back nor other work
slows one transfer more than another. Every download is hashed and checked
against the file's SHA-256, direct and Modelkeep alike (-verify). While a Modelkeep transfer runs, the server's VmRSS
(/proc/PID/status) is sampled every -sample-every.

It prints the throughput of every round in MiB/s, the medians, the ratio of
Modelkeep's median to the fastest direct median of the same direction, the
RSS growth (peak during a transfer minus the RSS just before it, the largest
over the rounds) and the CPU time each process used, then checks the targets:
a ratio of at least -min-ratio and an RSS growth of at most -max-rss-growth.

Exit status: 0 targets met, 1 a target missed (the failing check is printed),
2 the benchmark could not run, 130 interrupted. The bucket, the temporary files and the
server are removed on exit, Ctrl-C included. Linux only (/proc).

Flags:
`

// config is what the flags select.
type config struct {
	endpoint, accessKey, secretKey, region string
	s3PID                                  int
	size                                   int64
	reps                                   int
	database                               string
	bin                                    string
	tmpDir                                 string
	minRatio, minChunkedRatio              float64
	maxRSSGrowth                           int64
	sdk, sync, verify, chunked, onlyChunk  bool
	sampleEvery, idleWait                  time.Duration
	serverEnv                              []string
	// -dir: a directory through modelkeep push and pull (dir.go).
	dir                bool
	dirLarge, dirSmall int
	dirSmallSize       int64
	dirParallel        int
	minDirRatio        float64
}

// sizeFlag is a byte count flag that takes suffixes (512MiB, 1GiB).
type sizeFlag struct{ n *int64 }

func (f sizeFlag) String() string {
	if f.n == nil {
		return ""
	}
	return formatSize(*f.n)
}

func (f sizeFlag) Set(s string) error {
	n, err := parseSize(s)
	if err != nil {
		return err
	}
	*f.n = n
	return nil
}

// parseSize reads a byte count such as 1048576, 512MiB or 1GiB.
func parseSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), int64(1)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(rest), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n < 0 || n > (1<<62)/mult {
		return 0, fmt.Errorf("invalid size %q (want a byte count, or a number with KiB, MiB, GiB or TiB)", s)
	}
	return n * mult, nil
}

// listFlag collects a repeated flag.
type listFlag struct{ v *[]string }

func (f listFlag) String() string {
	if f.v == nil {
		return ""
	}
	return strings.Join(*f.v, " ")
}

func (f listFlag) Set(s string) error {
	if !strings.Contains(s, "=") {
		return fmt.Errorf("want KEY=VALUE, got %q", s)
	}
	*f.v = append(*f.v, s)
	return nil
}

func parseFlags(args []string, getenv func(string) string, stderr io.Writer) (config, error) {
	c := config{size: 1 << 30, maxRSSGrowth: 64 << 20}
	fs := flag.NewFlagSet("transfer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
	}
	fs.StringVar(&c.endpoint, "endpoint", getenv("MODELKEEP_TEST_S3_ENDPOINT"), "S3 server `URL`, plain http on loopback for a fair comparison [$MODELKEEP_TEST_S3_ENDPOINT]")
	fs.StringVar(&c.accessKey, "access-key", getenv("MODELKEEP_TEST_S3_ACCESS_KEY"), "S3 access key [$MODELKEEP_TEST_S3_ACCESS_KEY]")
	fs.StringVar(&c.secretKey, "secret-key", getenv("MODELKEEP_TEST_S3_SECRET_KEY"), "S3 secret key [$MODELKEEP_TEST_S3_SECRET_KEY]")
	fs.StringVar(&c.region, "region", "us-east-1", "S3 region")
	fs.IntVar(&c.s3PID, "s3-pid", 0, "`PID` of the S3 server, to report its CPU time too (0: not reported)")
	fs.Var(sizeFlag{&c.size}, "size", "file `size` (suffixes KiB, MiB, GiB)")
	fs.IntVar(&c.reps, "reps", 3, "rounds of every transfer")
	fs.StringVar(&c.database, "database", "", "Modelkeep metadata `URL`, e.g. mysql://user:pass@127.0.0.1:3306/db (default: SQLite in the temporary directory)")
	fs.StringVar(&c.bin, "bin", "", "run this modelkeep `binary` instead of building ./cmd/modelkeep")
	fs.StringVar(&c.tmpDir, "tmp", os.TempDir(), "`directory` for the test file, the binary and the SQLite database")
	fs.Float64Var(&c.minRatio, "min-ratio", 0.8, "target: Modelkeep median at least this fraction of the fastest direct median")
	fs.Float64Var(&c.minChunkedRatio, "min-chunked-ratio", 0.9, "target: Modelkeep's chunked PUT median at least this fraction of the SDK transfer manager's")
	fs.BoolVar(&c.onlyChunk, "only-chunked", false, "measure only the chunked PUTs (Modelkeep and the SDK transfer manager)")
	fs.BoolVar(&c.chunked, "chunked", true, "also measure a PUT without Content-Length (chunked) against the SDK transfer manager streaming the same file")
	fs.Var(sizeFlag{&c.maxRSSGrowth}, "max-rss-growth", "target: largest RSS growth of the server during one transfer, in `bytes` (suffixes allowed)")
	fs.BoolVar(&c.sdk, "sdk", true, "also measure the AWS SDK transfers as direct baselines")
	fs.BoolVar(&c.sync, "sync", true, "sync(2) before each transfer, so that the write-back of one does not slow the next")
	fs.BoolVar(&c.verify, "verify", true, "hash every download and compare it with the file's SHA-256")
	fs.DurationVar(&c.idleWait, "idle-wait", 30*time.Second, "before each transfer, wait up to this long for the machine to be idle (below 10% of a CPU busy); 0: do not wait")
	fs.DurationVar(&c.sampleEvery, "sample-every", 20*time.Millisecond, "RSS sampling interval")
	fs.Var(listFlag{&c.serverEnv}, "server-env", "extra `KEY=VALUE` for the server's environment (GOGC=50, MODELKEEP_LOG_LEVEL=debug, ...); repeatable")
	fs.BoolVar(&c.dir, "dir", false, "measure a directory instead (-dir-large files sharing -size, -dir-small small files): `modelkeep push` and `pull` against the SDK transfer manager's UploadDirectory and DownloadDirectory")
	fs.IntVar(&c.dirLarge, "dir-large", 4, "with -dir: large files, sharing -size")
	fs.IntVar(&c.dirSmall, "dir-small", 500, "with -dir: small files")
	c.dirSmallSize = 64 << 10
	fs.Var(sizeFlag{&c.dirSmallSize}, "dir-small-size", "with -dir: `size` of each small file")
	fs.IntVar(&c.dirParallel, "dir-parallel", 5, "with -dir: requests at once of modelkeep push and pull (the transfer manager's default concurrency is 5)")
	fs.Float64Var(&c.minDirRatio, "min-dir-ratio", 0.9, "target with -dir: push and pull medians at least this fraction of the transfer manager's")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	var errs []error
	if fs.NArg() > 0 {
		errs = append(errs, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " ")))
	}
	if c.endpoint == "" || c.accessKey == "" || c.secretKey == "" {
		errs = append(errs, errors.New("need an S3 server: -endpoint, -access-key and -secret-key (or MODELKEEP_TEST_S3_ENDPOINT, _ACCESS_KEY, _SECRET_KEY); bench/run.sh starts one"))
	}
	if c.size < 1<<20 {
		errs = append(errs, errors.New("-size must be at least 1MiB"))
	}
	if c.dir && (c.dirLarge < 1 || c.dirSmall < 0 || c.dirParallel < 1 || c.onlyChunk) {
		errs = append(errs, errors.New("-dir needs -dir-large ≥ 1, -dir-small ≥ 0, -dir-parallel ≥ 1, and no -only-chunked"))
	}
	if c.onlyChunk && !c.chunked {
		errs = append(errs, errors.New("-only-chunked needs -chunked"))
	}
	if c.reps < 1 {
		errs = append(errs, errors.New("-reps must be at least 1"))
	}
	if c.sampleEvery <= 0 {
		errs = append(errs, errors.New("-sample-every must be positive"))
	}
	if c.database != "" && !strings.HasPrefix(c.database, "mysql://") && !strings.HasPrefix(c.database, "sqlite:") {
		errs = append(errs, errors.New("-database: want mysql://... or sqlite:<path>"))
	}
	return c, errors.Join(errs...)
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// A second Ctrl-C kills at once; the first one cleans up.
		<-ctx.Done()
		stop()
	}()
	cfg, err := parseFlags(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "transfer: %v\n", err)
		os.Exit(2)
	}
	met, err := run(ctx, cfg, os.Stdout, os.Stderr)
	interrupted := ctx.Err() != nil // before stop, which cancels ctx
	stop()
	switch {
	case interrupted:
		if err == nil {
			err = errInterrupted
		}
		fmt.Fprintf(os.Stderr, "transfer: %v\n", err)
		os.Exit(130)
	case err != nil:
		fmt.Fprintf(os.Stderr, "transfer: %v\n", err)
		os.Exit(2)
	case !met:
		os.Exit(1)
	}
}

var errInterrupted = errors.New("interrupted")

// run sets everything up, measures, reports and cleans up. It returns
// whether every target was met.
func run(ctx context.Context, cfg config, stdout, stderr io.Writer) (met bool, err error) {
	log := func(format string, args ...any) {
		fmt.Fprintf(stderr, "%s "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
	}
	// Clean-ups run with a context of their own: after Ctrl-C they must
	// still reach the S3 server.
	cleanupCtx := context.WithoutCancel(ctx)

	dir, err := os.MkdirTemp(cfg.tmpDir, "modelkeep-bench-")
	if err != nil {
		return false, fmt.Errorf("temporary directory: %w", err)
	}
	defer func() {
		if rerr := os.RemoveAll(dir); rerr != nil {
			err = errors.Join(err, fmt.Errorf("remove %s: %w", dir, rerr))
		}
	}()

	s3c := newS3(cfg)
	bucket := "mk-bench-" + randomHex(6)
	if err := s3c.createBucket(ctx, bucket); err != nil {
		return false, err
	}
	log("bucket %s on %s", bucket, cfg.endpoint)
	defer func() {
		ctx, cancel := context.WithTimeout(cleanupCtx, 2*time.Minute)
		defer cancel()
		if rerr := s3c.removeBucket(ctx, bucket); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()

	var pl *payload
	var dirp *dirPayload
	if cfg.dir {
		log("writing a directory of %d files of %s and %d of %s, random bytes", cfg.dirLarge, formatSize(cfg.size/int64(cfg.dirLarge)), cfg.dirSmall, formatSize(cfg.dirSmallSize))
		if dirp, err = writeDir(ctx, dir, cfg.size, cfg.dirLarge, cfg.dirSmall, cfg.dirSmallSize); err != nil {
			return false, err
		}
		// The throughput of a directory transfer is its total bytes per second.
		pl = &payload{size: dirp.total}
	} else {
		log("writing %s of random bytes", formatSize(cfg.size))
		if pl, err = writePayload(ctx, dir, cfg.size); err != nil {
			return false, err
		}
	}

	bin := cfg.bin
	if bin == "" {
		log("building ./cmd/modelkeep")
		if bin, err = buildModelkeep(ctx, dir); err != nil {
			return false, err
		}
	}
	database := cfg.database
	if database == "" {
		database = "sqlite:" + dir + "/data/modelkeep.db"
	}
	mk, err := startModelkeep(ctx, modelkeepOptions{
		bin: bin, dir: dir, database: database, blobs: s3c.blobSpec(bucket), extraEnv: cfg.serverEnv,
		accessKey: cfg.accessKey, secretKey: cfg.secretKey, region: cfg.region,
	})
	if err != nil {
		return false, err
	}
	defer func() {
		if serr := mk.stop(); serr != nil {
			err = errors.Join(err, serr)
		}
	}()
	log("modelkeep (pid %d) on %s, metadata %s", mk.pid(), mk.base, metadataKind(database))

	b := &bench{cfg: cfg, s3: s3c, bucket: bucket, mk: mk, payload: pl, stderr: stderr, log: log,
		bin: bin, tmp: dir, dir: dirp, dirVersions: make([]int, cfg.reps)}
	if err := b.setup(ctx); err != nil {
		return false, err
	}
	rows, err := b.measureAll(ctx)
	if ctx.Err() != nil {
		return false, errInterrupted
	}
	if err != nil {
		if tail := mk.logTail(); tail != "" {
			fmt.Fprintf(stderr, "modelkeep log (last lines):\n%s\n", tail)
		}
		return false, err
	}
	return b.report(stdout, database, rows), nil
}

func metadataKind(database string) string {
	if strings.HasPrefix(database, "mysql://") {
		return "MySQL"
	}
	return "SQLite"
}
