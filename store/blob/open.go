package blob

import (
	"context"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/modelkeep/modelkeep"
)

// spec is a parsed MODELKEEP_BLOBS value: exactly one of dir and s3 is set.
type spec struct {
	dir string
	s3  *S3Options
}

// Open builds the blob store named by spec, the MODELKEEP_BLOBS value:
//
//	file:<dir>                       a directory (relative paths stay relative)
//	s3://bucket?endpoint=http://host:port&region=us-east-1&path_style=true
//
// An empty spec means file:<dataDir>/blobs. S3 credentials come from the
// standard AWS variables and credential chain, never from the spec, so the
// value can be logged. Open does no network I/O; use Ping for readiness.
func Open(ctx context.Context, spec, dataDir string) (modelkeep.BlobStore, error) {
	sp, err := parseSpec(spec, dataDir)
	if err != nil {
		return nil, err
	}
	if sp.s3 != nil {
		return NewS3(ctx, *sp.s3)
	}
	return NewFS(sp.dir)
}

// bucketName is the S3 bucket naming rule, loosely (legacy and
// S3-compatible servers accept upper case and underscores): a name that
// could never work is reported here rather than as a confusing error from
// the server at the first request.
var bucketName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{1,254}$`)

func parseSpec(s, dataDir string) (spec, error) {
	invalid := func(format string, args ...any) (spec, error) {
		return spec{}, modelkeep.Errorf(modelkeep.ErrInvalid, "blob store %q: "+format, append([]any{s}, args...)...)
	}
	scheme, rest, ok := strings.Cut(s, ":")
	switch {
	case s == "":
		if dataDir == "" {
			return invalid("no blob store and no data directory configured")
		}
		return spec{dir: filepath.Join(dataDir, "blobs")}, nil
	case !ok:
		return invalid("want file:<dir> or s3://bucket?endpoint=...")
	}
	switch scheme {
	case "file":
		return parseFile(rest, invalid)
	case "s3":
		return parseS3(s, invalid)
	default:
		return invalid("unsupported scheme %q (want file or s3)", scheme)
	}
}

func parseFile(rest string, invalid func(string, ...any) (spec, error)) (spec, error) {
	dir := rest
	// Accept the URL form file:///abs/path too, as people write it from habit.
	if strings.HasPrefix(rest, "//") {
		u, err := url.Parse("file:" + rest)
		if err != nil {
			return invalid("%v", err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return invalid("file urls cannot name a host (%q)", u.Host)
		}
		dir = u.Path
	}
	if dir == "" {
		return invalid("file: needs a directory")
	}
	return spec{dir: dir}, nil
}

func parseS3(s string, invalid func(string, ...any) (spec, error)) (spec, error) {
	u, err := url.Parse(s)
	if err != nil {
		return invalid("%v", err)
	}
	switch {
	case u.Opaque != "":
		return invalid("want s3://bucket, with two slashes")
	case u.User != nil:
		return invalid("credentials do not belong in the spec; use the AWS environment variables or credential chain")
	case u.Host == "":
		return invalid("no bucket name")
	case !bucketName.MatchString(u.Host):
		return invalid("%q is not a valid bucket name", u.Host)
	case u.Path != "" && u.Path != "/":
		return invalid("a key prefix (%q) is not supported", u.Path)
	case u.Fragment != "":
		return invalid("unexpected fragment %q", u.Fragment)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return invalid("%v", err)
	}
	for k, v := range q {
		switch k {
		case "endpoint", "region", "path_style":
		default:
			return invalid("unknown parameter %q (known: endpoint, region, path_style)", k)
		}
		if len(v) > 1 {
			return invalid("parameter %q given more than once", k)
		}
	}
	opts := S3Options{Bucket: u.Host, Endpoint: q.Get("endpoint"), Region: q.Get("region")}
	if opts.Endpoint != "" {
		e, err := url.Parse(opts.Endpoint)
		if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
			return invalid("endpoint %q is not an http(s) url", opts.Endpoint)
		}
	}
	if v := q.Get("path_style"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return invalid("path_style %q is not a boolean", v)
		}
		opts.PathStyle = b
	}
	return spec{s3: &opts}, nil
}
