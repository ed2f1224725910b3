package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// buildBinary compiles modelkeep once for all tests of this package.
func buildBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "modelkeep-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "modelkeep")
		// -buildvcs=auto: stamp the commit when in a repository, whatever
		// GOFLAGS says, as a plain go build does by default. -trimpath, as
		// the Dockerfile and scripts/test.sh build: what is compiled is then
		// shared with them and with other clones.
		cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=auto", "-o", binPath, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// TestFreshStart: in an empty directory with no configuration at all,
// `modelkeep serve` gives a working registry on SQLite and local disk, and
// SIGTERM shuts it down cleanly.
func TestFreshStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	addr := freePort(t)
	_, port, _ := net.SplitHostPort(addr)
	// Bootstrap: the first token, before any user exists.
	tokenCmd := exec.Command(bin, "token", "create", "--subject", "admin", "--role", "admin")
	tokenCmd.Dir = dir
	tokenCmd.Env = []string{"HOME=" + dir}
	out, err := tokenCmd.Output()
	if err != nil {
		t.Fatalf("token create: %v", err)
	}
	token := strings.TrimSpace(string(out))
	if strings.Count(token, ".") != 2 {
		t.Fatalf("token create printed %q, want a JWT", out)
	}
	var logs bytes.Buffer
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	// Only the listen address is set (the default port may be taken here).
	cmd.Env = []string{"MODELKEEP_LISTEN=" + addr, "HOME=" + dir}
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	base := "http://" + addr
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil && resp.StatusCode == http.StatusOK {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not ready: %v\n%s", err, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	req, _ := http.NewRequest("POST", base+"/api/v1/models", strings.NewReader(`{"name":"first"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create model: %d\n%s", resp.StatusCode, logs.String())
	}
	// The container's health probe: ready, alive, and nobody home.
	for _, probe := range []struct {
		args []string
		env  string
		code int
	}{
		{[]string{"health"}, "MODELKEEP_LISTEN=" + addr, 0},
		// As the image runs it: listening on every interface, asked over
		// loopback.
		{[]string{"health"}, "MODELKEEP_LISTEN=0.0.0.0:" + port, 0},
		{[]string{"health"}, "MODELKEEP_LISTEN=:" + port, 0},
		{[]string{"health", "--live", "--addr", addr}, "", 0},
		{[]string{"health", "--addr", freePort(t)}, "", 1},
		{[]string{"health", "--addr", "no-port"}, "", 1},
		{[]string{"health", "--bogus"}, "", 1},
	} {
		cmd := exec.Command(bin, probe.args...)
		cmd.Env = []string{probe.env}
		out, err := cmd.CombinedOutput()
		code := 0
		if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != probe.code {
			t.Errorf("modelkeep %v (%s): exit %d, want %d\n%s", probe.args, probe.env, code, probe.code, out)
		}
	}
	for _, p := range []string{"data/modelkeep.db", "data/blobs"} {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("embedded default %s: %v", p, err)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no exit after SIGTERM\n%s", logs.String())
	}
	if !strings.Contains(logs.String(), "shutting down") {
		t.Errorf("no shutdown log line:\n%s", logs.String())
	}
}

// TestCommandLine covers help, version, migrate and bad usage.
func TestCommandLine(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	dir := t.TempDir()
	for _, tc := range []struct {
		args     []string
		code     int
		contains string
	}{
		{nil, 2, "Usage:"},
		{[]string{"--help"}, 0, "modelkeep serve"},
		{[]string{"version"}, 0, "modelkeep "},
		{[]string{"frobnicate"}, 2, "unknown command"},
		{[]string{"serve", "-h"}, 0, "MODELKEEP_DATABASE"},
		{[]string{"serve", "--listen", "nowhere"}, 2, "listen"},
		{[]string{"migrate"}, 0, "applied "},
		{[]string{"migrate"}, 0, "up to date"},
		{[]string{"migrate", "--database", "postgres://x"}, 1, "invalid database URL"},
		{[]string{"token"}, 2, "modelkeep token create --subject"},
		{[]string{"token", "--help"}, 0, "modelkeep token create --subject"},
		{[]string{"token", "create", "--role", "admin"}, 2, "--subject"},
		{[]string{"token", "create", "--subject", "x", "--role", "root"}, 1, "unknown role"},
		{[]string{"token", "create", "--subject", "x", "--role", "auditor", "--ttl", "1s"}, 1, "lifetime"},
		{[]string{"token", "create", "--subject", "x", "--role", "auditor", "--ttl", "0s"}, 1, "lifetime must be from 1m to 87600h"},
		{[]string{"token", "create", "-h"}, 0, "--models"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, tc.args...)
			cmd.Dir = dir
			cmd.Env = []string{"HOME=" + dir}
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.code || !strings.Contains(string(out), tc.contains) {
				t.Fatalf("exit %d (want %d), output lacks %q:\n%s", code, tc.code, tc.contains, out)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "modelkeep.db")); err != nil {
		t.Errorf("migrate did not create the database: %v", err)
	}
}

// TestVersionFromBuildInfo: a go build in a repository prints the commit it
// was built from (the Dockerfile stamps it instead; see
// internal/packaging).
func TestVersionFromBuildInfo(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := buildBinary(t)
	top, err := exec.Command("git", "rev-parse", "--show-toplevel").Output()
	if err != nil {
		t.Skipf("not in a git work tree (git rev-parse: %v): the build records no commit", err)
	}
	// go build stamps only a repository whose .git is a directory: not a
	// linked work tree (git worktree add), whose .git is a file.
	if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err != nil || !fi.IsDir() {
		t.Skip("a linked git work tree: go build records no commit")
	}
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := "(commit " + strings.TrimSpace(string(head))
	if !strings.HasPrefix(string(out), "modelkeep v") || !strings.Contains(string(out), want) {
		t.Errorf("modelkeep version = %q, want the module version and %q", out, want)
	}
}
