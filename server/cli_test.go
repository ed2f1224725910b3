package server

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/migrations"
)

// noEnv is an empty environment.
func noEnv(string) string { return "" }

// runMain runs the command line in dir's data directory and returns its
// exit status and output.
func runMain(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = Main(t.Context(), args, noEnv, &out, &errOut)
	return code, out.String(), errOut.String()
}

// TestCommandHelp: every command's -h exits 0 and shows its own flags (and
// the configuration it takes), not another command's nor all of serve's.
func TestCommandHelp(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		want    []string
		notWant []string
	}{
		{[]string{"--help"}, []string{"modelkeep serve", "modelkeep token create"}, nil},
		{[]string{"token", "--help"}, []string{"modelkeep token create --subject NAME"}, []string{"-listen"}},
		{[]string{"token", "-h"}, []string{"modelkeep token create --subject NAME"}, nil},
		{[]string{"token", "create", "-h"}, []string{"-subject string", "-role value", "-ttl duration", "-models value", "-database string", "-data-dir string", "-blobs string"},
			[]string{"-listen", "-max-concurrent-requests", "-presign-ttl", "-audit-retention", "-verbose"}},
		{[]string{"audit", "--help"}, []string{"modelkeep audit verify", "modelkeep audit prune"}, nil},
		{[]string{"audit", "verify", "--help"}, []string{"Usage: modelkeep audit verify FILE", "-public-key value", "-json"},
			[]string{"audit prune", "-database", "-dry-run"}},
		{[]string{"audit", "prune", "-h"}, []string{"Usage: modelkeep audit prune", "-dry-run", "-audit-retention string", "-database string"},
			[]string{"audit verify", "-public-key", "-listen", "-blobs"}},
		{[]string{"migrate", "-h"}, []string{"Usage: modelkeep migrate", "-verbose", "-database string", "-data-dir string"},
			[]string{"-listen", "-blobs", "-jwt-secret", "-audit-retention"}},
		{[]string{"serve", "-h"}, []string{"Usage: modelkeep serve", "-verbose", "-listen string", "-max-concurrent-requests string"}, nil},
		{[]string{"health", "-h"}, []string{"Usage: modelkeep health", "-addr string", "-live"}, []string{"-database"}},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runMain(t, tc.args...)
			if code != 0 || stderr != "" {
				t.Fatalf("exit %d, stderr %q; want 0 and help on stdout", code, stderr)
			}
			for _, w := range tc.want {
				if !strings.Contains(stdout, w) {
					t.Errorf("help lacks %q:\n%s", w, stdout)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(stdout, w) {
					t.Errorf("help shows %q, which is not this command's:\n%s", w, stdout)
				}
			}
		})
	}
}

// TestServeHelpShowsEverySetting: each setting is listed as "-name string"
// with its whole description (a back-quoted word in a flag's usage would be
// taken for the value's name and cut out of the text).
func TestServeHelpShowsEverySetting(t *testing.T) {
	_, help, _ := runMain(t, "serve", "-h")
	for _, s := range settings {
		if line := "  -" + s.flag + " string\n"; !strings.Contains(help, line) {
			t.Errorf("serve -h lacks the line %q", line)
		}
		if !strings.Contains(help, s.usage) {
			t.Errorf("serve -h does not print the usage of -%s as written: %q", s.flag, s.usage)
		}
	}
}

// TestCommandUsageErrors: bad usage exits 2 (health: 1) with one line on
// stderr and a pointer to -h.
func TestCommandUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"token"}, 2, "Usage:"},
		{[]string{"token", "frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"token", "create", "--nope", "x"}, 2, "flag provided but not defined: -nope"},
		{[]string{"token", "create", "--role", "admin"}, 2, "--subject and at least one --role are required"},
		{[]string{"audit", "verify", "x.jsonl"}, 2, "Run 'modelkeep audit verify -h' for help."},
		{[]string{"migrate", "--nope"}, 2, "Run 'modelkeep migrate -h' for help."},
		{[]string{"health", "--nope"}, 1, "Run 'modelkeep health -h' for help."},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			code, stdout, stderr := runMain(t, tc.args...)
			if code != tc.code || stdout != "" || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want %d and %q on stderr", code, stdout, stderr, tc.code, tc.want)
			}
		})
	}
}

// latestVersion is the schema version this binary migrates to.
func latestVersion(t *testing.T) int {
	t.Helper()
	all, err := migrations.Load("sqlite")
	if err != nil {
		t.Fatal(err)
	}
	return all[len(all)-1].Version
}

// TestMigrateSummary: migrate prints one line, and each migration only
// with --verbose.
func TestMigrateSummary(t *testing.T) {
	n := latestVersion(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		args     []string
		stdout   string
		logLines int // "applied migration" records on stderr
	}{
		{"fresh", []string{"migrate", "--data-dir", dir}, fmt.Sprintf("applied %d migrations, schema at %d\n", n, n), 0},
		{"again", []string{"migrate", "--data-dir", dir}, fmt.Sprintf("up to date, schema at %d\n", n), 0},
		{"fresh, verbose", []string{"migrate", "--verbose", "--data-dir", filepath.Join(dir, "v")}, fmt.Sprintf("applied %d migrations, schema at %d\n", n, n), n},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := runMain(t, tc.args...)
			if code != 0 || stdout != tc.stdout {
				t.Fatalf("exit %d, stdout %q (stderr %q); want 0, %q", code, stdout, stderr, tc.stdout)
			}
			// (Other lines may come, such as a slow query's on a busy
			// machine.)
			if got := strings.Count(stderr, `msg="applied migration"`); got != tc.logLines {
				t.Errorf("%d lines per migration on stderr, want %d:\n%s", got, tc.logLines, stderr)
			}
		})
	}
}

// lineWriter collects output and tells when a line containing want was
// written.
type lineWriter struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	want string
	seen chan struct{}
}

func newLineWriter(want string) *lineWriter {
	return &lineWriter{want: want, seen: make(chan struct{})}
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	had := strings.Contains(w.buf.String(), w.want)
	w.buf.Write(p)
	if !had && strings.Contains(w.buf.String(), w.want) {
		close(w.seen)
	}
	return len(p), nil
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// serveUntilReady runs `modelkeep serve ARGS` until it serves, stops it and
// returns what it logged.
func serveUntilReady(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	logs := newLineWriter(`msg="modelkeep serving"`)
	done := make(chan int, 1)
	go func() {
		var out bytes.Buffer
		done <- Main(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), noEnv, &out, logs)
	}()
	select {
	case <-logs.seen:
	case code := <-done:
		t.Fatalf("serve exited %d before serving:\n%s", code, logs.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("serve did not start:\n%s", logs.String())
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d:\n%s", code, logs.String())
	}
	return logs.String()
}

// TestServeStartLines: a first start logs one line for the migrations (one
// per migration with --verbose) and, while no token was ever issued, the
// exact command that creates the first one, with serve's configuration
// flags; the command works, and then the hint is gone.
func TestServeStartLines(t *testing.T) {
	n := latestVersion(t)
	dir := t.TempDir()
	logs := serveUntilReady(t, "--data-dir", dir)
	if got := strings.Count(logs, `msg="applied migration"`); got != 0 {
		t.Errorf("%d lines per migration without --verbose:\n%s", got, logs)
	}
	if want := fmt.Sprintf(`msg="applied migrations" count=%d schema=%d`, n, n); !strings.Contains(logs, want) {
		t.Errorf("no summary line %q:\n%s", want, logs)
	}
	hint := fmt.Sprintf(`command="modelkeep token create --subject admin --role admin --data-dir=%s"`, dir)
	if !strings.Contains(logs, hint) {
		t.Fatalf("no hint %s:\n%s", hint, logs)
	}

	args := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(hint, `command="modelkeep `), `"`))
	if code, stdout, stderr := runMain(t, args...); code != 0 || strings.Count(stdout, ".") != 2 {
		t.Fatalf("the hint's command %q: exit %d, stdout %q, stderr %q", args, code, stdout, stderr)
	}
	logs = serveUntilReady(t, "--data-dir", dir, "--verbose")
	if strings.Contains(logs, "no token exists") || strings.Contains(logs, "applied migration") {
		t.Errorf("second start, after a token was issued, on a migrated database:\n%s", logs)
	}

	logs = serveUntilReady(t, "--data-dir", filepath.Join(dir, "verbose"), "--verbose")
	if got := strings.Count(logs, `msg="applied migration"`); got != n {
		t.Errorf("%d lines per migration with --verbose, want %d:\n%s", got, n, logs)
	}
}

func TestTokenCreateLine(t *testing.T) {
	for _, tc := range []struct {
		name  string
		given []givenFlag
		want  string
	}{
		{"defaults", nil, "modelkeep token create --subject admin --role admin"},
		{"repeats what token create reads", []givenFlag{{"data-dir", "/srv/mk"}, {"listen", ":80"}, {"blobs", "s3://b?endpoint=http://s3:7070&region=x"}},
			"modelkeep token create --subject admin --role admin --data-dir=/srv/mk --blobs='s3://b?endpoint=http://s3:7070&region=x'"},
		{"no secrets", []givenFlag{{"database", "mysql://u:secret@db/mk"}, {"jwt-secret", "0123456789abcdef0123456789abcdef"}},
			"modelkeep token create --subject admin --role admin --database='<as given to serve>' --jwt-secret='<as given to serve>'"},
		{"database without password", []givenFlag{{"database", "sqlite:/var/lib/it's.db"}},
			`modelkeep token create --subject admin --role admin --database='sqlite:/var/lib/it'\''s.db'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tokenCreateLine("modelkeep", Config{given: tc.given}); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestResolveVersion(t *testing.T) {
	vcs := func(rev, modified string) *debug.BuildInfo {
		return &debug.BuildInfo{Main: debug.Module{Version: "v0.0.0-20261205120000-0123456789ab"},
			Settings: []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}}
	}
	for _, tc := range []struct {
		name                 string
		version, commit      string
		bi                   *debug.BuildInfo
		wantVersion, wantRev string
	}{
		{"stamped (the image)", "v1.4.0", "fedcba9876543210", vcs("0123456789abcdef", "false"), "v1.4.0", "fedcba9876543210"},
		{"go build in a clean tree", "", "", vcs("0123456789abcdef", "false"), "v0.0.0-20261205120000-0123456789ab", "0123456789abcdef"},
		{"go build with changes", "", "", vcs("0123456789abcdef", "true"), "v0.0.0-20261205120000-0123456789ab", "0123456789abcdef-modified"},
		{"go run", "", "", &debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "devel", "unknown"},
		{"no build info", "", "", nil, "devel", "unknown"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v, c := resolveVersion(tc.version, tc.commit, tc.bi)
			if v != tc.wantVersion || c != tc.wantRev {
				t.Errorf("= %q, %q; want %q, %q", v, c, tc.wantVersion, tc.wantRev)
			}
		})
	}
}
