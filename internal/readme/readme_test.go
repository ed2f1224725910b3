// Package readme runs the shell examples of the repository's README.md, so
// that they cannot drift from the code: every fenced block preceded by the
// line <!-- readme-test --> runs, in order, with bash against a fresh server
// on each backend, built from this checkout with the README's own commands.
package readme

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep/internal/testenv"
)

// The markers: an HTML comment (invisible on GitHub) on the line before a
// fence. "background" marks the block that starts the server: it keeps
// running while the blocks after it run.
const (
	marker           = "<!-- readme-test -->"
	backgroundMarker = "<!-- readme-test: background -->"
)

// block is one marked shell block of the README.
type block struct {
	line       int // of the opening fence, 1-based
	background bool
	text       string
}

// parseBlocks returns the marked blocks of a Markdown document in order. A
// marker not followed by a sh or bash fence, or a fence left open, is an
// error: a marked example must not silently drop out of the test.
func parseBlocks(doc string) ([]block, error) {
	var (
		blocks  []block
		pending string // the marker seen on the previous line
		cur     *block
		body    []string
	)
	sc := bufio.NewScanner(strings.NewReader(doc))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case cur != nil && strings.TrimSpace(line) == "```":
			cur.text = strings.Join(body, "\n") + "\n"
			blocks = append(blocks, *cur)
			cur, body = nil, nil
		case cur != nil:
			body = append(body, line)
		case pending != "":
			if line != "```sh" && line != "```bash" {
				return nil, fmt.Errorf("line %d: %s is not followed by a ```sh fence", n-1, pending)
			}
			cur = &block{line: n, background: pending == backgroundMarker}
			pending = ""
		case strings.TrimSpace(line) == marker || strings.TrimSpace(line) == backgroundMarker:
			pending = strings.TrimSpace(line)
		}
	}
	if cur != nil {
		return nil, fmt.Errorf("line %d: block not closed", cur.line)
	}
	if pending != "" {
		return nil, errors.New("the last marker has no block")
	}
	return blocks, sc.Err()
}

func TestParseBlocks(t *testing.T) {
	doc := "text\n" + marker + "\n```sh\necho a\necho b\n```\n```sh\nnot marked\n```\n" +
		backgroundMarker + "\n```bash\nserve\n```\n"
	got, err := parseBlocks(doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []block{{line: 3, text: "echo a\necho b\n"}, {line: 11, background: true, text: "serve\n"}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{marker + "\ntext\n", marker + "\n```python\nx\n```\n", marker + "\n```sh\nx\n", marker + "\n"} {
		if _, err := parseBlocks(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// readmeDefaultAddr is the address the README's examples talk to; the test
// gives each server a free port instead and rewrites it in the blocks.
const readmeDefaultAddr = "localhost:8080"

// curlFail makes every curl of the examples fail on an HTTP error (with the
// error's body on stdout), so that a refused request fails its block: the
// README's curls print the reply, whatever its status.
const curlFail = `curl() { command curl --fail-with-body "$@"; }
`

// TestReadme runs the README's marked blocks on each backend: the blocks
// before the server's run first (they build and install modelkeep from this
// checkout into a directory put first on the PATH), then the server's block
// in the background, then the rest in one bash (so the variables one block
// sets are there for the next), under set -euo pipefail: an undefined
// variable, a failed command or an HTTP error fails the test, naming the
// block. It also checks what a few blocks print.
func TestReadme(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "jq", "sha256sum", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not on PATH (scripts/test.sh installs jq): the README's examples are not run", tool)
		}
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Run(); err != nil {
		t.Skipf("not a git checkout (%v): the README's build stamps the version from git", err)
	}
	doc, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseBlocks(string(doc))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	serve := -1
	for i, b := range blocks {
		if b.background {
			if serve >= 0 {
				t.Fatalf("README.md: two background blocks (lines %d, %d)", blocks[serve].line, b.line)
			}
			serve = i
		}
	}
	if serve < 0 || serve == len(blocks)-1 {
		t.Fatalf("README.md: want a background block (the server) with blocks after it, got %d blocks", len(blocks))
	}
	// One binary directory for both backends: the second go install finds
	// the binary up to date.
	bin := t.TempDir()
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			work := t.TempDir()
			addr := freeAddr(t)
			env := append(os.Environ(),
				"GOBIN="+bin,
				"GOFLAGS="+goflags(),
				"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
				"MODELKEEP_LISTEN="+addr,
				"MODELKEEP_DATABASE="+database,
				"MODELKEEP_BLOBS="+blobs,
				"MODELKEEP_DATA_DIR="+filepath.Join(work, "data"),
				"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
			)
			adapt := func(s string) string { return strings.ReplaceAll(s, readmeDefaultAddr, addr) }

			// The blocks before the server build it: they run in the clone.
			start := time.Now()
			before := runBlocks(t, root, env, blocks[:serve], adapt)
			t.Logf("build blocks: %s", time.Since(start).Round(time.Millisecond))
			checkVersion(t, root, before[len(before)-1])

			startServer(t, work, env, adapt(blocks[serve].text), addr)
			start = time.Now()
			outs := runBlocks(t, work, env, blocks[serve+1:], adapt)
			t.Logf("%d blocks after the server's: %s", len(outs), time.Since(start).Round(time.Millisecond))
			checkOutputs(t, blocks[serve+1:], outs)
		})
	}
}

// goflags are the GOFLAGS of the README's go install: the environment's,
// plus -trimpath when this test was built with it (scripts/test.sh builds
// with it), so that go install finds the packages go test compiled and
// only links.
func goflags() string {
	flags := os.Getenv("GOFLAGS")
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-trimpath" && s.Value == "true" && !strings.Contains(flags, "-trimpath") {
				flags += " -trimpath"
			}
		}
	}
	return strings.TrimSpace(flags)
}

// runBlocks runs the blocks in one bash in dir and returns each one's output
// (stdout and stderr). A failing block fails the test with its line and what
// it printed.
func runBlocks(t *testing.T, dir string, env []string, blocks []block, adapt func(string) string) []string {
	t.Helper()
	var script strings.Builder
	script.WriteString("set -euo pipefail\n" + curlFail)
	for i, b := range blocks {
		fmt.Fprintf(&script, "printf '\\n%s%d\\n'\n%s", sep, i, adapt(b.text))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir, cmd.Env = dir, env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	outs, last := splitOutputs(out.String(), len(blocks))
	if err != nil {
		if last < 0 {
			t.Fatalf("README.md blocks: %v before the first block\n%s", err, out.String())
		}
		t.Fatalf("README.md block at line %d: %v\n--- block:\n%s--- output:\n%s", blocks[last].line, err, adapt(blocks[last].text), outs[last])
	}
	return outs
}

// sep begins the line the script prints before each block.
const sep = "@@readme-block-"

// splitOutputs cuts the script's output at the separator lines into each
// block's output (blocks that did not run have "") and returns the index of
// the last block that began (-1 for none).
func splitOutputs(out string, n int) ([]string, int) {
	outs := make([]string, n)
	cur := -1
	for _, line := range strings.SplitAfter(out, "\n") {
		if rest, ok := strings.CutPrefix(line, sep); ok {
			if i, err := strconv.Atoi(strings.TrimSpace(rest)); err == nil && i < n {
				cur = i
				continue
			}
		}
		if cur >= 0 {
			outs[cur] += line
		}
	}
	for i := range outs {
		outs[i] = strings.TrimPrefix(outs[i], "\n")
	}
	return outs, cur
}

// startServer runs the README's server block in the background in dir and
// waits until the server is ready; at the end of the test it is stopped
// with SIGTERM (its whole process group: bash and modelkeep).
func startServer(t *testing.T, dir string, env []string, text, addr string) {
	t.Helper()
	cmd := exec.Command("bash", "-c", "set -euo pipefail\n"+text)
	cmd.Dir, cmd.Env = dir, env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	log := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start the server's block: %v", err)
	}
	// exited is closed once the block has ended (waitErr set): both the
	// readiness loop and the cleanup wait for it.
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-exited
			t.Errorf("the server did not stop within 30 s of SIGTERM\n%s", log.String())
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-exited:
			t.Fatalf("the server's block ended (%v):\n%s", waitErr, log.String())
		case <-tick.C:
		}
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server was not ready within 60 s:\n%s", log.String())
		}
	}
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// checkVersion: the binary the README builds names its commit, when the
// checkout is a git repository.
func checkVersion(t *testing.T, root, out string) {
	t.Helper()
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v", err)
	}
	if commit := strings.TrimSpace(string(head)); !strings.HasPrefix(out, "modelkeep ") || !strings.Contains(out, "(commit "+commit+")") {
		t.Errorf("modelkeep version printed %q, want the version and commit %s", out, commit)
	}
}

// checkOutputs checks what the blocks print where it says something: the
// filter examples find the model and its version, the audit chain verifies.
func checkOutputs(t *testing.T, blocks []block, outs []string) {
	t.Helper()
	checks := []struct {
		block string         // a line of the block
		want  *regexp.Regexp // in its output
	}{
		{`filter=tags.team = "risk"`, regexp.MustCompile(`"name":"fraud-detector"`)},
		{`filter=metrics.auc >= 0.9`, regexp.MustCompile(`"versions":\[\{.*"version":1\}\]`)},
		{`/approve`, regexp.MustCompile(`"status":"(approved|executed)"`)},
		{`stages/production`, regexp.MustCompile(`"stage":"production"`)},
		{`audit/verify`, regexp.MustCompile(`"ok":true`)},
		{`curl -sI`, regexp.MustCompile(`(?s)HTTP/1.1 200 OK.*(?i:content-length: 26\r?\n)`)},
		{`modelkeep audit verify`, regexp.MustCompile(`(?i)ok|verified|intact`)},
	}
	for _, c := range checks {
		found := false
		for i, b := range blocks {
			if !strings.Contains(b.text, c.block) {
				continue
			}
			found = true
			if !c.want.MatchString(outs[i]) {
				t.Errorf("README.md block at line %d (with %q) printed\n%s\nwant a match of %s", b.line, c.block, outs[i], c.want)
			}
		}
		if !found {
			t.Errorf("no README block with %q: update the test's checks with the README", c.block)
		}
	}
}

// lockedBuffer is the server's output, written by its process and read by
// the test.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
