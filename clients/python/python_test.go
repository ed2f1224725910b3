// Package python holds the tests of the Python client (modelkeep.py beside
// this file): its unittest suite, run with the machine's python3 against a
// real Modelkeep on each backend, and its installation with pip.
package python

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelkeep/modelkeep"
	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/internal/testserver"
	"github.com/modelkeep/modelkeep/server"
)

// pythonVar names another interpreter to run the tests with (python3.9, a
// venv's python); python3 on the PATH otherwise.
const pythonVar = "MODELKEEP_TEST_PYTHON"

var pythonCheck = sync.OnceValues(func() (string, string) {
	name := os.Getenv(pythonVar)
	if name == "" {
		name = "python3"
	}
	py, err := exec.LookPath(name)
	if err != nil {
		return "", fmt.Sprintf("%s is not on PATH: the Python client's tests are not run (scripts/test.sh installs python3)", name)
	}
	out, err := exec.Command(py, "-c", "import sys; print('%d.%d' % sys.version_info[:2]); print(sys.executable); sys.exit(3 if sys.version_info < (3, 9) else 0)").CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		// The interpreter itself rather than a version manager's shim
		// (pyenv's costs 0.3 s of CPU a run).
		if _, exe, _ := strings.Cut(strings.TrimSpace(string(out)), "\n"); exe != "" {
			return exe, ""
		}
		return py, ""
	case errors.As(err, &exit) && exit.ExitCode() == 3:
		version, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return "", fmt.Sprintf("%s is Python %s: the client needs 3.9 or later, its tests are not run", py, version)
	default:
		first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		return "", fmt.Sprintf("%s does not run (%v: %s): the Python client's tests are not run", py, err, first)
	}
})

// python3 is the interpreter to run the client's tests with. Without a
// usable one the test is skipped, saying why; when MODELKEEP_TEST_PYTHON
// names one that is not usable, it fails.
func python3(t *testing.T) string {
	t.Helper()
	py, why := pythonCheck()
	if py == "" {
		if os.Getenv(pythonVar) != "" {
			t.Fatalf("%s: %s", pythonVar, why)
		}
		t.Skip(why)
	}
	return py
}

// TestPythonClient runs clients/python/tests (python3 -m unittest) against
// a fresh Modelkeep on each backend, with the tokens of a publisher, an
// approver and a deployer: the suite pushes a directory (a file of several
// parts among small and empty ones), finalizes, requests production as the
// publisher and approves as the approver, pulls by stage and by alias and
// compares the bytes, refuses a corrupted download and resumes an
// interrupted push sending only the missing parts. Then it checks from here
// that the suite's version did reach production.
func TestPythonClient(t *testing.T) {
	py := python3(t)
	for _, b := range testenv.Backends() {
		t.Run(b.Name, func(t *testing.T) {
			database, blobs := b.New(t)
			// The smallest part size of resumable uploads (5 MiB): the
			// suite's files have several parts.
			srv, url := testserver.Start(t, database, blobs, "--upload-part-size", "5MiB")
			tokens := map[string]string{}
			for _, role := range []string{modelkeep.RolePublisher, modelkeep.RoleApprover, modelkeep.RoleDeployer} {
				_, tok, err := srv.IssueToken(context.Background(), modelkeep.TokenInput{Subject: "py-" + role, Roles: []string{role}})
				if err != nil {
					t.Fatalf("issue %s token: %v", role, err)
				}
				tokens[role] = tok
			}
			start := time.Now()
			out, err := runPython(t, py, []string{"-m", "unittest", "discover", "-s", "tests", "-t", ".", "-v"},
				"MODELKEEP_URL="+url,
				"MODELKEEP_PUBLISHER_TOKEN="+tokens[modelkeep.RolePublisher],
				"MODELKEEP_APPROVER_TOKEN="+tokens[modelkeep.RoleApprover],
				"MODELKEEP_DEPLOYER_TOKEN="+tokens[modelkeep.RoleDeployer],
				"MODELKEEP_TEST_REQUIRE_SERVER=1",
				"MODELKEEP_TEST_BACKEND="+b.Name,
			)
			if err != nil {
				t.Fatalf("python3 -m unittest (%s): %v\n%s", time.Since(start).Round(time.Millisecond), err, out)
			}
			t.Logf("python3 -m unittest (%s):\n%s", time.Since(start).Round(time.Millisecond), out)
			if strings.Contains(out, "skipped") {
				t.Errorf("the suite skipped tests against a running server:\n%s", out)
			}
			checkPromoted(t, srv, url)
		})
	}
}

// runPython runs the interpreter in this directory (clients/python) with
// extra environment variables and returns what it printed.
func runPython(t *testing.T, py string, args []string, env ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, args...)
	cmd.Env = append(os.Environ(),
		"PYTHONDONTWRITEBYTECODE=1", // no __pycache__ in the source tree
		"PYTHONUNBUFFERED=1",
		"NO_PROXY=127.0.0.1,localhost", "no_proxy=127.0.0.1,localhost",
		"TMPDIR="+t.TempDir(), // what the tests' tempfile calls leave goes with the test
	)
	cmd.Env = append(cmd.Env, env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// checkPromoted asks the server, apart from the client, for a model of the
// suite with a version in production that a deployment runs.
func checkPromoted(t *testing.T, srv *server.Server, url string) {
	t.Helper()
	_, admin, err := srv.IssueToken(context.Background(), modelkeep.TokenInput{Subject: "py-check", Roles: []string{modelkeep.RoleAdmin}})
	if err != nil {
		t.Fatalf("issue admin token: %v", err)
	}
	get := func(path string, v any) {
		t.Helper()
		req, _ := http.NewRequest("GET", url+path, nil)
		req.Header.Set("Authorization", "Bearer "+admin)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			body, _ := io.ReadAll(resp.Body)
			t.Fatalf("GET %s: %s %s", path, resp.Status, body)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
	}
	var deps struct {
		Deployments []struct {
			Model       string `json:"model"`
			Version     int    `json:"version"`
			Environment string `json:"environment"`
		} `json:"deployments"`
	}
	get("/api/v1/deployments?environment=prod-eu", &deps)
	if len(deps.Deployments) != 1 {
		t.Fatalf("want the suite's one deployment in prod-eu, got %+v", deps.Deployments)
	}
	d := deps.Deployments[0]
	var staged struct {
		Version        int    `json:"version"`
		Stage          string `json:"stage"`
		ManifestDigest string `json:"manifest_digest"`
		Files          []struct {
			Path string `json:"path"`
		} `json:"files"`
	}
	get("/api/v1/models/"+d.Model+"/stages/production", &staged)
	if staged.Version != d.Version || staged.Stage != "production" || len(staged.Files) < 3 || staged.ManifestDigest == "" {
		t.Errorf("model %s: in production %+v, deployed version %d", d.Model, staged, d.Version)
	}
}

// TestPipInstall installs the client with pip, offline (--no-index: the
// build backend in _backend needs nothing from a package index), into an
// empty target directory, and imports it from there.
func TestPipInstall(t *testing.T) {
	py := python3(t)
	if out, err := exec.Command(py, "-m", "pip", "--version").CombinedOutput(); err != nil {
		t.Skipf("%s has no pip (%v: %s): the installation is not tested", py, err, bytes.TrimSpace(out))
	}
	target := t.TempDir()
	out, err := runPython(t, py, []string{"-m", "pip", "install", "--no-index", "--no-deps", "--no-cache-dir",
		"--disable-pip-version-check", "--target", target, "."}, "PIP_NO_INPUT=1")
	if err != nil {
		t.Fatalf("pip install: %v\n%s", err, out)
	}
	for _, f := range []string{"modelkeep/__init__.py", "modelkeep/py.typed"} {
		if _, err := os.Stat(filepath.Join(target, f)); err != nil {
			t.Errorf("pip installed no %s: %v\n%s", f, err, out)
		}
	}
	check := exec.Command(py, "-c", "import modelkeep, sys; print(modelkeep.__version__); print(modelkeep.__file__); "+
		"c = modelkeep.Client('http://127.0.0.1:1', token='t'); print(type(c).__name__)")
	check.Dir = t.TempDir() // not this directory: the installed copy must be the one imported
	check.Env = append(os.Environ(), "PYTHONPATH="+target, "PYTHONDONTWRITEBYTECODE=1")
	got, err := check.CombinedOutput()
	if err != nil {
		t.Fatalf("import the installed client: %v\n%s", err, got)
	}
	lines := strings.Split(strings.TrimSpace(string(got)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], target) || lines[2] != "Client" {
		t.Errorf("the installed client: %q", lines)
	}
	for _, p := range []string{"build", "dist", "modelkeep.egg-info", "_backend/__pycache__", "__pycache__"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("pip install left %s in the source tree", p)
		}
	}
}
