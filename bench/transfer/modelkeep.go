package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildModelkeep builds ./cmd/modelkeep of the module the working directory
// belongs to into dir.
func buildModelkeep(ctx context.Context, dir string) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	root := filepath.Dir(strings.TrimSpace(string(out)))
	if _, err := os.Stat(filepath.Join(root, "cmd", "modelkeep")); err != nil {
		return "", fmt.Errorf("run from the Modelkeep module (no cmd/modelkeep under %q), or pass -bin", root)
	}
	bin := filepath.Join(dir, "modelkeep")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/modelkeep")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/modelkeep: %w\n%s", err, out)
	}
	return bin, nil
}

// modelkeepOptions is how the server under test is started.
type modelkeepOptions struct {
	bin, dir                     string
	database, blobs              string
	accessKey, secretKey, region string
	extraEnv                     []string
}

// modelkeep is the server under test, a child process.
type modelkeep struct {
	cmd     *exec.Cmd
	base    string // http://127.0.0.1:port
	token   string // an admin's bearer token; "" for a build without auth
	logPath string
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// startModelkeep issues an admin token with `modelkeep token create`, then
// starts the server on a free loopback port and waits until it is ready.
func startModelkeep(ctx context.Context, o modelkeepOptions) (*modelkeep, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	env := serverEnv(o, addr)
	token, err := issueToken(ctx, o.bin, env)
	if err != nil {
		return nil, err
	}

	logPath := filepath.Join(o.dir, "modelkeep.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(o.bin, "serve")
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = logFile, logFile
	setParentDeathSignal(cmd)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.bin, err)
	}
	m := &modelkeep{cmd: cmd, base: "http://" + addr, token: token, logPath: logPath, done: make(chan struct{})}
	go func() {
		m.waitErr = cmd.Wait()
		close(m.done)
	}()
	if err := m.waitReady(ctx, time.Minute); err != nil {
		return nil, errors.Join(err, m.stop(), fmt.Errorf("modelkeep log:\n%s", m.logTail()))
	}
	return m, nil
}

// serverEnv is the server's environment: this one without MODELKEEP_* and
// AWS_* variables, plus what the benchmark sets (the stores, the
// credentials, no orphan sweep, which would compete with the transfers),
// then the -server-env extras.
func serverEnv(o modelkeepOptions, addr string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "MODELKEEP_") && !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	env = append(env,
		"MODELKEEP_LISTEN="+addr,
		"MODELKEEP_DATA_DIR="+filepath.Join(o.dir, "data"),
		"MODELKEEP_DATABASE="+o.database,
		"MODELKEEP_BLOBS="+o.blobs,
		"MODELKEEP_ORPHAN_SWEEP_INTERVAL=0",
		"AWS_ACCESS_KEY_ID="+o.accessKey,
		"AWS_SECRET_ACCESS_KEY="+o.secretKey,
		"AWS_REGION="+o.region,
		"AWS_EC2_METADATA_DISABLED=true",
	)
	return append(env, o.extraEnv...)
}

// issueToken runs `modelkeep token create` on the server's configuration
// and returns an admin's token. A build from before authentication has no
// such command and needs no token: then it returns "".
func issueToken(ctx context.Context, bin string, env []string) (string, error) {
	cmd := exec.CommandContext(ctx, bin, "token", "create", "--subject", "modelkeep-bench", "--role", "admin", "--ttl", "12h")
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if strings.Contains(stderr.String(), `unknown command "token"`) {
			return "", nil
		}
		return "", fmt.Errorf("modelkeep token create: %w\n%s", err, stderr.String())
	}
	return strings.TrimSpace(string(out)), nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func (m *modelkeep) pid() int { return m.cmd.Process.Pid }

// waitReady polls /readyz until it answers 200.
func (m *modelkeep) waitReady(ctx context.Context, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.base+"/readyz", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-m.done:
			return fmt.Errorf("modelkeep exited before it was ready: %w", m.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("modelkeep not ready on %s: %w", m.base, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// stop asks the server to shut down (SIGTERM) and kills it if it has not
// exited after a while.
func (m *modelkeep) stop() error {
	select {
	case <-m.done:
		return nil
	default:
	}
	_ = m.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-m.done:
		return nil
	case <-time.After(15 * time.Second):
		_ = m.cmd.Process.Kill()
		<-m.done
		return errors.New("modelkeep did not stop within 15s of SIGTERM: killed")
	}
}

// logTail returns the last lines of the server's log.
func (m *modelkeep) logTail() string {
	b, err := os.ReadFile(m.logPath)
	if err != nil {
		return ""
	}
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > 20 {
		lines = lines[len(lines)-20:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}
