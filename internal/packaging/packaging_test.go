package packaging_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/compose-spec/compose-go/v2/cli"
	"github.com/compose-spec/compose-go/v2/types"
	"github.com/moby/buildkit/frontend/dockerfile/instructions"
	"github.com/moby/buildkit/frontend/dockerfile/linter"
	"github.com/moby/buildkit/frontend/dockerfile/parser"
	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"

	"github.com/modelkeep/modelkeep/internal/testenv"
	"github.com/modelkeep/modelkeep/server"
)

// repoRoot is the repository root, two levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

// --- compose.yaml ---

// overrides is what a user might put in the .env file beside compose.yaml.
var overrides = map[string]string{
	"MYSQL_DATABASE":      "registry",
	"MYSQL_USER":          "mk-user",
	"MYSQL_PASSWORD":      "db-secret-from-env",
	"MYSQL_ROOT_PASSWORD": "root-secret-from-env",
	"MYSQL_APP_USER":      "mk-app.from-env",
	"MYSQL_APP_PASSWORD":  "app-secret-from-env",
	"S3_ACCESS_KEY":       "access-key-from-env",
	"S3_SECRET_KEY":       "s3-secret-from-env",
	"S3_BUCKET":           "models-from-env",
	"S3_REGION":           "eu-central-1",
}

// envCases are the environments compose.yaml is loaded with: its built-in
// defaults, and every secret overridden.
var envCases = []struct {
	name string
	env  map[string]string
}{
	{"defaults", nil},
	{"overridden", overrides},
}

// loadCompose parses and validates compose.yaml with the Compose
// specification's reference loader, interpolating from env only (never
// from the process environment or a .env file, so the result is the same
// on every machine).
func loadCompose(t *testing.T, env map[string]string) *types.Project {
	t.Helper()
	root := repoRoot(t)
	var environ []string
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	opts, err := cli.NewProjectOptions(
		[]string{filepath.Join(root, "compose.yaml")},
		cli.WithWorkingDirectory(root),
		cli.WithEnv(environ),
	)
	if err != nil {
		t.Fatalf("compose options: %v", err)
	}
	project, err := opts.LoadProject(t.Context())
	if err != nil {
		t.Fatalf("load compose.yaml: %v", err)
	}
	return project
}

func service(t *testing.T, p *types.Project, name string) types.ServiceConfig {
	t.Helper()
	s, err := p.GetService(name)
	if err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	return s
}

// env returns the value of key in the service's environment ("" if unset).
func env(s types.ServiceConfig, key string) string {
	if v := s.Environment[key]; v != nil {
		return *v
	}
	return ""
}

func TestComposeServices(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, nil)
	for _, name := range []string{"mysql", "s3", "createbucket", "migrate", "grants", "modelkeep"} {
		if _, err := p.GetService(name); err != nil {
			t.Errorf("compose.yaml: %v", err)
		}
	}
	if got := service(t, p, "mysql").Image; got != "mysql:8.4" {
		t.Errorf("mysql image = %q, want mysql:8.4", got)
	}
	if got := service(t, p, "s3").Image; !strings.HasPrefix(got, "versity/versitygw:") {
		t.Errorf("s3 image = %q, want versity/versitygw", got)
	}

	// The one-shot services run once per `up` and are not restarted.
	mk := service(t, p, "modelkeep")
	tests := []struct {
		service string
		image   string // "" means the image the modelkeep service builds
		command []string
	}{
		{"createbucket", "", nil},
		{"migrate", mk.Image, []string{"migrate"}},
		{"grants", service(t, p, "mysql").Image, nil},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			s := service(t, p, tt.service)
			if s.Restart != "no" {
				t.Errorf("%s restart = %q, want \"no\" for a one-shot", tt.service, s.Restart)
			}
			if tt.image != "" && s.Image != tt.image {
				t.Errorf("%s image = %q, want %q", tt.service, s.Image, tt.image)
			}
			if tt.command != nil && !slices.Equal(s.Command, tt.command) {
				t.Errorf("%s command = %q, want %q", tt.service, s.Command, tt.command)
			}
		})
	}
	// migrate runs the image the modelkeep service builds, without a build
	// of its own (compose builds it once, for both).
	if mk.Build == nil || mk.Image == "" {
		t.Error("modelkeep has no build section or no image name for migrate to share")
	}
	if b := service(t, p, "migrate").Build; b != nil {
		t.Errorf("migrate has a build section %+v: it should run the image the modelkeep service builds", b)
	}
}

func TestComposeDependsOn(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, nil)
	tests := []struct {
		service, dependency, condition string
	}{
		{"modelkeep", "mysql", types.ServiceConditionHealthy},
		{"modelkeep", "grants", types.ServiceConditionCompletedSuccessfully},
		{"modelkeep", "s3", types.ServiceConditionHealthy},
		{"modelkeep", "createbucket", types.ServiceConditionCompletedSuccessfully},
		{"createbucket", "s3", types.ServiceConditionHealthy},
		// The grants name tables, so they follow the migrations.
		{"grants", "migrate", types.ServiceConditionCompletedSuccessfully},
		{"migrate", "mysql", types.ServiceConditionHealthy},
	}
	for _, tt := range tests {
		t.Run(tt.service+"->"+tt.dependency, func(t *testing.T) {
			dep, ok := service(t, p, tt.service).DependsOn[tt.dependency]
			if !ok {
				t.Fatalf("%s does not depend on %s", tt.service, tt.dependency)
			}
			if dep.Condition != tt.condition {
				t.Errorf("%s depends on %s with condition %q, want %q", tt.service, tt.dependency, dep.Condition, tt.condition)
			}
		})
	}
}

func TestComposeHealthchecks(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, nil)
	tests := []struct {
		service string
		probe   string // must appear in the health check command
		noShell bool   // the image has no shell: the test must be exec form
	}{
		{"mysql", "mysqladmin ping", false},
		{"s3", "http://127.0.0.1:7070/_/health", false},
		{"modelkeep", "/modelkeep health", true},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			hc := service(t, p, tt.service).HealthCheck
			if hc == nil || hc.Disable || len(hc.Test) < 2 {
				t.Fatalf("%s has no health check", tt.service)
			}
			if cmd := strings.Join(hc.Test[1:], " "); !strings.Contains(cmd, tt.probe) {
				t.Errorf("%s health check %q does not run %q", tt.service, cmd, tt.probe)
			}
			// docker top and ps show a health check's command line.
			if cmd := strings.ToLower(strings.Join(hc.Test, " ")); strings.Contains(cmd, "password") || strings.Contains(cmd, "secret") {
				t.Errorf("%s health check %q passes a secret on its command line", tt.service, hc.Test)
			}
			if tt.noShell && hc.Test[0] != "CMD" {
				t.Errorf("%s health check is %q: its image has no shell, want [\"CMD\", ...]", tt.service, hc.Test)
			}
			if hc.Interval == nil || hc.Retries == nil {
				t.Errorf("%s health check sets no interval or retries: a slow first start is then marked unhealthy at docker's defaults", tt.service)
			}
		})
	}
	// The gateway only answers on the probed path when told to.
	if got := env(service(t, p, "s3"), "VGW_HEALTH"); got != "/_/health" {
		t.Errorf("s3 VGW_HEALTH = %q, want /_/health", got)
	}
}

func TestComposeVolumes(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, nil)
	for name, s := range p.Services {
		for _, v := range s.Volumes {
			if v.Type != types.VolumeTypeVolume || v.Source == "" {
				t.Errorf("%s mounts %s as a %s %q: want a named volume", name, v.Target, v.Type, v.Source)
				continue
			}
			if _, ok := p.Volumes[v.Source]; !ok {
				t.Errorf("%s mounts volume %q, which the top-level volumes do not declare", name, v.Source)
			}
		}
	}
	tests := []struct{ service, target string }{
		{"mysql", "/var/lib/mysql"},
		{"s3", "/data"},
		{"modelkeep", "/data"},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			if !mounted(service(t, p, tt.service), tt.target) {
				t.Errorf("%s has no named volume on %s", tt.service, tt.target)
			}
		})
	}
	// The gateway's POSIX root is the directory on its volume.
	s3 := service(t, p, "s3")
	if len(s3.Command) < 2 || s3.Command[len(s3.Command)-2] != "posix" || !mounted(s3, s3.Command[len(s3.Command)-1]) {
		t.Errorf("s3 command %q: want `posix DIR` with a named volume on DIR", s3.Command)
	}
}

func mounted(s types.ServiceConfig, target string) bool {
	return slices.ContainsFunc(s.Volumes, func(v types.ServiceVolumeConfig) bool {
		return v.Type == types.VolumeTypeVolume && v.Source != "" && v.Target == target
	})
}

// TestComposePublishesOnLoopback: the registry's port is published on the
// host's loopback only, unless MODELKEEP_BIND_ADDRESS says otherwise (plain
// HTTP with bearer tokens belongs behind a TLS proxy), and nothing else is
// published at all.
func TestComposePublishesOnLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		env        map[string]string
		host, port string
	}{
		{"defaults", nil, "127.0.0.1", "8080"},
		{"overridden", map[string]string{"MODELKEEP_BIND_ADDRESS": "0.0.0.0", "MODELKEEP_PORT": "9000"}, "0.0.0.0", "9000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := loadCompose(t, tt.env)
			for name, s := range p.Services {
				if name != "modelkeep" && len(s.Ports) > 0 {
					t.Errorf("%s publishes ports %v: only the registry should", name, s.Ports)
				}
			}
			ports := service(t, p, "modelkeep").Ports
			if len(ports) != 1 {
				t.Fatalf("modelkeep publishes %d ports (%v), want 1", len(ports), ports)
			}
			if pc := ports[0]; pc.HostIP != tt.host || pc.Published != tt.port {
				t.Errorf("modelkeep publishes on %s:%s, want %s:%s", pc.HostIP, pc.Published, tt.host, tt.port)
			}
		})
	}
}

// TestReadmeComposeToken: the README's command for the first token under
// compose runs `token create` with the image's binary in a service that
// exists and runs that image.
func TestReadmeComposeToken(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`docker compose exec((?: -[A-Za-z-]+)*) (\S+) (\S+) token create\b`).FindSubmatch(readme)
	if m == nil {
		t.Fatal("README.md has no `docker compose exec [flags] SERVICE BINARY token create` command")
	}
	serviceName, binary := string(m[2]), string(m[3])
	p := loadCompose(t, nil)
	s, err := p.GetService(serviceName)
	if err != nil {
		t.Fatalf("README.md runs token create in service %q: %v", serviceName, err)
	}
	if s.Image != service(t, p, "modelkeep").Image {
		t.Errorf("README.md runs token create in %q, which does not run the registry's image", serviceName)
	}
	stages := parseDockerfile(t)
	final := stages[len(stages)-1]
	var eps []string
	for _, c := range commands[*instructions.EntrypointCommand](final) {
		eps = c.CmdLine
	}
	if len(eps) == 0 || eps[0] != binary {
		t.Errorf("README.md runs %q, the image's ENTRYPOINT is %q", binary, eps)
	}
}

func TestComposeModelkeepBuild(t *testing.T) {
	t.Parallel()
	p := loadCompose(t, nil)
	b := service(t, p, "modelkeep").Build
	if b == nil {
		t.Fatal("modelkeep has no build section")
	}
	ctx := b.Context
	if !filepath.IsAbs(ctx) {
		ctx = filepath.Join(p.WorkingDir, ctx)
	}
	if ctx != repoRoot(t) {
		t.Errorf("modelkeep build context = %q, want the repository root", b.Context)
	}
	if b.Dockerfile != "" && filepath.Base(b.Dockerfile) != "Dockerfile" {
		t.Errorf("modelkeep builds %q, want the repository's Dockerfile", b.Dockerfile)
	}
}

// TestComposeModelkeepEnv checks the wiring between the services: the
// registry's settings are ones the server reads, and the credentials,
// hosts and names it is given are the ones the other services use, with
// the defaults and with every secret overridden.
func TestComposeModelkeepEnv(t *testing.T) {
	t.Parallel()
	known := server.EnvVars()
	for _, ec := range envCases {
		t.Run(ec.name, func(t *testing.T) {
			p := loadCompose(t, ec.env)
			mk := service(t, p, "modelkeep")
			mysql := service(t, p, "mysql")
			s3 := service(t, p, "s3")
			mb := service(t, p, "createbucket")
			migrate := service(t, p, "migrate")
			grants := service(t, p, "grants")

			t.Run("known variables", func(t *testing.T) {
				for _, s := range []types.ServiceConfig{mk, migrate} {
					for key := range s.Environment {
						if strings.HasPrefix(key, "MODELKEEP_") && !slices.Contains(known, key) {
							t.Errorf("%s sets %s, which the server does not read (it reads %s)", s.Name, key, strings.Join(known, ", "))
						}
					}
				}
				for _, key := range []string{"MODELKEEP_DATABASE", "MODELKEEP_BLOBS", "MODELKEEP_LISTEN", "MODELKEEP_DATA_DIR"} {
					if env(mk, key) == "" {
						t.Errorf("modelkeep does not set %s", key)
					}
				}
			})

			t.Run("database", func(t *testing.T) {
				// The server connects as the least-privileged user the
				// grants service sets up, migrations run as the schema
				// owner the mysql image creates.
				tests := []struct {
					client         types.ServiceConfig
					user, password string
					from           string // where user and password come from
				}{
					{mk, env(grants, "MYSQL_APP_USER"), env(grants, "MYSQL_APP_PASSWORD"), "the app user the grants service sets up"},
					{migrate, env(mysql, "MYSQL_USER"), env(mysql, "MYSQL_PASSWORD"), "the schema owner the mysql service creates"},
				}
				for _, tt := range tests {
					t.Run(tt.client.Name, func(t *testing.T) {
						u, err := url.Parse(env(tt.client, "MODELKEEP_DATABASE"))
						if err != nil {
							t.Fatalf("MODELKEEP_DATABASE: %v", err)
						}
						pass, _ := u.User.Password()
						checks := []struct{ what, got, want string }{
							{"scheme", u.Scheme, "mysql"},
							{"host", u.Hostname(), "mysql"},
							{"port", u.Port(), "3306"},
							{"user", u.User.Username(), tt.user},
							{"password", pass, tt.password},
							{"database", strings.TrimPrefix(u.Path, "/"), env(mysql, "MYSQL_DATABASE")},
						}
						for _, c := range checks {
							if c.got != c.want || c.want == "" {
								t.Errorf("%s MODELKEEP_DATABASE %s = %q, want %q (%s)", tt.client.Name, c.what, c.got, c.want, tt.from)
							}
						}
					})
				}
				if owner, app := env(mysql, "MYSQL_USER"), env(grants, "MYSQL_APP_USER"); owner == app {
					t.Errorf("the server's user %q is the schema owner: it could change audit events", app)
				}
			})

			t.Run("grants", func(t *testing.T) {
				// grants logs in as root, to the mysql service's database,
				// and refuses to make the owner the app user.
				checks := []struct{ key, want string }{
					{"MYSQL_ROOT_PASSWORD", env(mysql, "MYSQL_ROOT_PASSWORD")},
					{"MYSQL_DATABASE", env(mysql, "MYSQL_DATABASE")},
					{"MYSQL_USER", env(mysql, "MYSQL_USER")},
				}
				for _, c := range checks {
					if got := env(grants, c.key); got != c.want || c.want == "" {
						t.Errorf("grants %s = %q, want %q from the mysql service", c.key, got, c.want)
					}
				}
				checkGrantsSQL(t, grants, env(mysql, "MYSQL_DATABASE"), env(grants, "MYSQL_APP_USER"), env(grants, "MYSQL_APP_PASSWORD"))
			})

			t.Run("blobs", func(t *testing.T) {
				u, err := url.Parse(env(mk, "MODELKEEP_BLOBS"))
				if err != nil {
					t.Fatalf("MODELKEEP_BLOBS: %v", err)
				}
				q := u.Query()
				endpoint, err := url.Parse(q.Get("endpoint"))
				if err != nil {
					t.Fatalf("MODELKEEP_BLOBS endpoint: %v", err)
				}
				checks := []struct{ what, got, want string }{
					{"scheme", u.Scheme, "s3"},
					{"bucket", u.Host, env(mb, "BUCKET")},
					{"endpoint scheme", endpoint.Scheme, "http"},
					{"endpoint host", endpoint.Hostname(), "s3"},
					{"endpoint port", endpoint.Port(), "7070"},
					{"region", q.Get("region"), env(s3, "VGW_REGION")},
					{"path_style", q.Get("path_style"), "true"},
				}
				for _, c := range checks {
					if c.got != c.want || c.want == "" {
						t.Errorf("MODELKEEP_BLOBS %s = %q, want %q", c.what, c.got, c.want)
					}
				}
			})

			t.Run("s3 credentials", func(t *testing.T) {
				for _, client := range []types.ServiceConfig{mk, mb} {
					checks := []struct{ key, want string }{
						{"AWS_ACCESS_KEY_ID", env(s3, "ROOT_ACCESS_KEY")},
						{"AWS_SECRET_ACCESS_KEY", env(s3, "ROOT_SECRET_KEY")},
					}
					for _, c := range checks {
						if got := env(client, c.key); got != c.want || c.want == "" {
							t.Errorf("%s %s = %q, want the gateway's root key %q", client.Name, c.key, got, c.want)
						}
					}
				}
			})

			t.Run("listen and data", func(t *testing.T) {
				host, port, err := net.SplitHostPort(env(mk, "MODELKEEP_LISTEN"))
				if err != nil {
					t.Fatalf("MODELKEEP_LISTEN: %v", err)
				}
				if host != "0.0.0.0" && host != "" {
					t.Errorf("MODELKEEP_LISTEN host = %q: loopback inside a container is unreachable from outside", host)
				}
				if !slices.ContainsFunc(mk.Ports, func(pc types.ServicePortConfig) bool { return fmt.Sprint(pc.Target) == port }) {
					t.Errorf("modelkeep publishes no port to the listen port %s (ports %v)", port, mk.Ports)
				}
				if dir := env(mk, "MODELKEEP_DATA_DIR"); !mounted(mk, dir) {
					t.Errorf("MODELKEEP_DATA_DIR %q is not on a named volume", dir)
				}
			})

			t.Run("secrets from env", func(t *testing.T) {
				// Each overridable value must reach the service that uses it.
				checks := []struct{ service, key, from string }{
					{"mysql", "MYSQL_DATABASE", "MYSQL_DATABASE"},
					{"mysql", "MYSQL_USER", "MYSQL_USER"},
					{"mysql", "MYSQL_PASSWORD", "MYSQL_PASSWORD"},
					{"mysql", "MYSQL_ROOT_PASSWORD", "MYSQL_ROOT_PASSWORD"},
					{"grants", "MYSQL_APP_USER", "MYSQL_APP_USER"},
					{"grants", "MYSQL_APP_PASSWORD", "MYSQL_APP_PASSWORD"},
					{"s3", "ROOT_ACCESS_KEY", "S3_ACCESS_KEY"},
					{"s3", "ROOT_SECRET_KEY", "S3_SECRET_KEY"},
					{"s3", "VGW_REGION", "S3_REGION"},
					{"createbucket", "BUCKET", "S3_BUCKET"},
				}
				for _, c := range checks {
					got := env(service(t, p, c.service), c.key)
					if want, ok := ec.env[c.from]; ok && got != want {
						t.Errorf("%s %s = %q, want %q from $%s", c.service, c.key, got, want, c.from)
					}
					if got == "" {
						t.Errorf("%s %s is empty", c.service, c.key)
					}
				}
			})
		})
	}
}

// auditGrants is testenv.AuditGrants with each statement's ';', as the
// grants script sends it.
func auditGrants(t *testing.T, db, user, password string) []string {
	t.Helper()
	stmts := testenv.AuditGrants(t, filepath.Join(repoRoot(t), "docs", "audit.md"), db, user, password)
	for i := range stmts {
		stmts[i] += ";"
	}
	return stmts
}

func collapseSpace(s string) string { return strings.Join(strings.Fields(s), " ") }

// grantRE finds GRANT statements: privileges, target (db.table), grantee.
var grantRE = regexp.MustCompile(`(?i)GRANT ([A-Z_, ]+?) ON ([^\s;]+) TO '[^']+'@'[^']+'`)

// checkGrantsSQL checks the grants service's script: the SQL it sends is
// docs/audit.md's block for this database and user (so the two cannot
// drift), with an idempotent CREATE USER, and it never lets the user change
// or delete audit events or checkpoints.
func checkGrantsSQL(t *testing.T, grants types.ServiceConfig, db, user, password string) {
	t.Helper()
	if !slices.Equal(grants.Entrypoint, []string{"/bin/sh", "-ec"}) || len(grants.Command) != 1 {
		t.Fatalf("grants runs %q %q, want entrypoint /bin/sh -ec and one script", grants.Entrypoint, grants.Command)
	}
	// What the shell sends: its variables (from the service's environment)
	// expanded, and the backticks the here-documents escape unescaped.
	script := os.Expand(strings.ReplaceAll(grants.Command[0], "\\`", "`"), func(key string) string { return env(grants, key) })
	script = collapseSpace(script)
	// Root logs in from an option file, its password never on a command
	// line (which the process list shows).
	for _, login := range []string{`user=root`, `password="%s"`, "umask 077", "mysql --defaults-extra-file=/tmp/root.cnf "} {
		if !strings.Contains(script, login) {
			t.Errorf("grants does not log in with %s: root is the user that may create users and grant", login)
		}
	}
	if strings.Contains(script, "--password") || strings.Contains(script, "MYSQL_PWD") {
		t.Errorf("grants passes root's password on a command line or in MYSQL_PWD:\n%s", grants.Command[0])
	}

	for _, stmt := range auditGrants(t, db, user, password) {
		want := []string{stmt}
		if rest, ok := strings.CutPrefix(stmt, "CREATE USER "); ok {
			// Safe on every `up`, and a changed password applies.
			want = []string{"CREATE USER IF NOT EXISTS " + rest, "ALTER USER " + rest}
		}
		for _, w := range want {
			if !strings.Contains(script, w) {
				t.Errorf("grants does not run docs/audit.md's\n\t%s\nits script:\n%s", w, grants.Command[0])
			}
		}
	}

	matches := grantRE.FindAllStringSubmatch(script, -1)
	if len(matches) == 0 {
		t.Fatal("grants runs no GRANT statement")
	}
	for _, m := range matches {
		privs, target := strings.ToUpper(m[1]), strings.ReplaceAll(m[2], "`", "")
		_, table, _ := strings.Cut(target, ".")
		if table != "audit_events" && table != "audit_checkpoints" && table != "*" {
			continue
		}
		for _, p := range strings.Split(privs, ",") {
			if p = strings.TrimSpace(p); p == "UPDATE" || p == "DELETE" || p == "ALL" || p == "ALL PRIVILEGES" || p == "DROP" || p == "ALTER" {
				t.Errorf("grants gives %s on %s: audit events and checkpoints must stay insert and read only (%s)", p, target, m[0])
			}
		}
	}
}

// --- Dockerfile ---

// parseDockerfile parses the Dockerfile with BuildKit's own parser and
// instruction reader, failing on any parser or linter warning.
func parseDockerfile(t *testing.T) []instructions.Stage {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(repoRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := parser.Parse(bytes.NewReader(src))
	if err != nil {
		t.Fatalf("parse Dockerfile: %v", err)
	}
	for _, w := range res.Warnings {
		t.Errorf("Dockerfile: %s", w.Short)
	}
	lint := linter.New(&linter.Config{
		Warn: func(rule, _, _, msg string, loc []parser.Range) {
			line := 0
			if len(loc) > 0 {
				line = loc[0].Start.Line
			}
			t.Errorf("Dockerfile:%d: %s: %s", line, rule, msg)
		},
	})
	stages, _, err := instructions.Parse(res.AST, lint)
	if err != nil {
		t.Fatalf("read Dockerfile instructions: %v", err)
	}
	return stages
}

// commands returns the stage's commands of type T, in order.
func commands[T instructions.Command](s instructions.Stage) []T {
	var out []T
	for _, c := range s.Commands {
		if v, ok := c.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// stageEnv is the stage's ENV settings (later ones win).
func stageEnv(s instructions.Stage) map[string]string {
	m := map[string]string{}
	for _, e := range commands[*instructions.EnvCommand](s) {
		for _, kv := range e.Env {
			m[kv.Key] = kv.Value
		}
	}
	return m
}

// isRootUser reports whether a USER value (user[:group]) means root.
func isRootUser(u string) bool {
	name, _, _ := strings.Cut(u, ":")
	return name == "" || name == "root" || name == "0"
}

func TestDockerfile(t *testing.T) {
	t.Parallel()
	stages := parseDockerfile(t)
	if len(stages) < 2 {
		t.Fatalf("Dockerfile has %d stage(s), want a multi-stage build", len(stages))
	}

	// The build stage is the one that runs `go build`.
	var build *instructions.Stage
	var goBuild string
	for i, s := range stages {
		for _, r := range commands[*instructions.RunCommand](s) {
			if line := strings.Join(r.CmdLine, " "); strings.Contains(line, "go build") {
				build, goBuild = &stages[i], line
			}
		}
	}
	final := stages[len(stages)-1]

	t.Run("build stage", func(t *testing.T) {
		if build == nil {
			t.Fatal("no stage runs go build")
		}
		if !strings.HasPrefix(build.BaseName, "golang:") {
			t.Errorf("build stage is FROM %q, want golang", build.BaseName)
		}
		if build.Name == "" {
			t.Error("build stage has no name to COPY --from")
		}
		if stageEnv(*build)["CGO_ENABLED"] != "0" && !strings.Contains(goBuild, "CGO_ENABLED=0") {
			t.Error("build stage does not set CGO_ENABLED=0: the binary would not be static")
		}
		for _, want := range []string{"./cmd/modelkeep", "-trimpath", "-s -w"} {
			if !strings.Contains(goBuild, want) {
				t.Errorf("go build %q lacks %q", goBuild, want)
			}
		}
		var caches []string
		for _, r := range commands[*instructions.RunCommand](*build) {
			// Mount options are only read once expanded; these use no variables.
			if err := r.Expand(func(word string) (string, error) { return word, nil }); err != nil {
				t.Fatalf("RUN %q: %v", r.CmdLine, err)
			}
			for _, m := range instructions.GetMounts(r) {
				if m.Type == instructions.MountTypeCache {
					caches = append(caches, m.Target)
				}
			}
		}
		if !slices.Contains(caches, "/go/pkg/mod") {
			t.Errorf("build stage cache mounts %q: want the module cache /go/pkg/mod", caches)
		}
	})

	t.Run("final stage", func(t *testing.T) {
		if build != nil && final.Name == build.Name {
			t.Fatal("the final stage is the build stage")
		}
		users := commands[*instructions.UserCommand](final)
		switch {
		case len(users) > 0:
			if u := users[len(users)-1].User; isRootUser(u) {
				t.Errorf("final stage runs as USER %q, want a non-root user", u)
			}
		case !strings.HasSuffix(final.BaseName, ":nonroot"):
			t.Errorf("final stage (FROM %s) sets no USER and is no nonroot image: it would run as root", final.BaseName)
		}

		copied := false
		for _, c := range commands[*instructions.CopyCommand](final) {
			if build != nil && strings.EqualFold(c.From, build.Name) && c.DestPath == "/modelkeep" {
				copied = true
			}
		}
		if !copied {
			t.Error("final stage does not COPY --from the build stage to /modelkeep")
		}

		execForm := func(what string, cmds []instructions.ShellDependantCmdLine, want []string) {
			if len(cmds) == 0 {
				t.Errorf("no %s", what)
				return
			}
			last := cmds[len(cmds)-1]
			if last.PrependShell || !slices.Equal(last.CmdLine, want) {
				t.Errorf("%s = %q (shell form: %v), want exec form %q", what, last.CmdLine, last.PrependShell, want)
			}
		}
		var eps, cmds []instructions.ShellDependantCmdLine
		for _, c := range commands[*instructions.EntrypointCommand](final) {
			eps = append(eps, c.ShellDependantCmdLine)
		}
		for _, c := range commands[*instructions.CmdCommand](final) {
			cmds = append(cmds, c.ShellDependantCmdLine)
		}
		execForm("ENTRYPOINT", eps, []string{"/modelkeep"})
		execForm("CMD", cmds, []string{"serve"})

		// No shell in the image: the probe is the binary, in exec form.
		hcs := commands[*instructions.HealthCheckCommand](final)
		if len(hcs) == 0 {
			t.Error("final stage has no HEALTHCHECK")
		} else {
			hc := hcs[len(hcs)-1].Health
			if want := []string{"CMD", "/modelkeep", "health"}; !slices.Equal(hc.Test, want) {
				t.Errorf("HEALTHCHECK %q, want exec form %q", hc.Test, want)
			}
			if hc.Interval == 0 || hc.Timeout == 0 || hc.StartPeriod == 0 {
				t.Errorf("HEALTHCHECK interval %v, timeout %v, start period %v: set each (docker's defaults are 30s, 30s and none)", hc.Interval, hc.Timeout, hc.StartPeriod)
			}
		}

		envs := stageEnv(final)
		known := server.EnvVars()
		for key := range envs {
			if strings.HasPrefix(key, "MODELKEEP_") && !slices.Contains(known, key) {
				t.Errorf("ENV %s is not a variable the server reads", key)
			}
		}
		wantEnv := []struct{ key, value string }{
			{"MODELKEEP_LISTEN", "0.0.0.0:8080"},
			{"MODELKEEP_DATA_DIR", "/data"},
		}
		for _, w := range wantEnv {
			if got := envs[w.key]; got != w.value {
				t.Errorf("ENV %s = %q, want %q", w.key, got, w.value)
			}
		}
		var ports, volumes []string
		for _, e := range commands[*instructions.ExposeCommand](final) {
			ports = append(ports, e.Ports...)
		}
		for _, v := range commands[*instructions.VolumeCommand](final) {
			volumes = append(volumes, v.Volumes...)
		}
		if !slices.Contains(ports, "8080") && !slices.Contains(ports, "8080/tcp") {
			t.Errorf("EXPOSE %q, want 8080", ports)
		}
		if !slices.Contains(volumes, "/data") {
			t.Errorf("VOLUME %q, want /data", volumes)
		}
	})
}

// TestDockerfileStampsVersion builds the binary with the -ldflags of the
// Dockerfile's go build, its build arguments set, and checks that
// `modelkeep version` prints them (a -X of a misspelt symbol does nothing);
// compose.yaml passes them from MODELKEEP_VERSION and MODELKEEP_COMMIT.
func TestDockerfileStampsVersion(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	const version, commit = "v9.8.7", "0123456789abcdef0123456789abcdef01234567"
	stages := parseDockerfile(t)
	var goBuild string
	args := map[string]bool{}
	for _, s := range stages {
		for _, r := range commands[*instructions.RunCommand](s) {
			if line := strings.Join(r.CmdLine, " "); strings.Contains(line, "go build") {
				goBuild = line
				for _, a := range commands[*instructions.ArgCommand](s) {
					for _, kv := range a.Args {
						args[kv.Key] = true
					}
				}
			}
		}
	}
	if !args["VERSION"] || !args["COMMIT"] {
		t.Fatalf("the build stage declares the ARGs %v, want VERSION and COMMIT", args)
	}
	m := regexp.MustCompile(`-ldflags="([^"]*)"`).FindStringSubmatch(goBuild)
	if m == nil {
		t.Fatalf("go build %q has no -ldflags=\"...\"", goBuild)
	}
	ldflags := strings.NewReplacer("${VERSION}", version, "$VERSION", version, "${COMMIT}", commit, "$COMMIT", commit).Replace(m[1])

	root := repoRoot(t)
	bin := filepath.Join(t.TempDir(), "modelkeep")
	build := exec.CommandContext(t.Context(), goTool(), "build", "-trimpath", "-ldflags="+ldflags, "-o", bin, "./cmd/modelkeep")
	build.Dir = root
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build -ldflags=%q: %v\n%s", ldflags, err, out)
	}
	out, err := exec.CommandContext(t.Context(), bin, "version").Output()
	if want := fmt.Sprintf("modelkeep %s (commit %s)\n", version, commit); err != nil || string(out) != want {
		t.Errorf("modelkeep version = %q (%v), want %q", out, err, want)
	}

	p := loadCompose(t, map[string]string{"MODELKEEP_VERSION": version, "MODELKEEP_COMMIT": commit})
	b := service(t, p, "modelkeep").Build
	for key, want := range map[string]string{"VERSION": version, "COMMIT": commit} {
		if b == nil || b.Args[key] == nil || *b.Args[key] != want {
			t.Errorf("compose.yaml: the modelkeep build does not pass %s from $MODELKEEP_%s", key, key)
		}
	}
}

// --- .dockerignore ---

// goListPackage is the part of `go list -json` output this test reads.
type goListPackage struct {
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	EmbedFiles []string
}

// TestDockerignore checks that the build context keeps every file the Go
// build reads (sources and //go:embed files of every package) and leaves
// out what must not reach an image builder.
func TestDockerignore(t *testing.T) {
	t.Parallel()
	root := repoRoot(t)
	f, err := os.Open(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		t.Fatalf("read .dockerignore: %v", err)
	}
	pm, err := patternmatcher.New(patterns)
	if err != nil {
		t.Fatalf(".dockerignore: %v", err)
	}
	excluded := func(t *testing.T, rel string) bool {
		t.Helper()
		ex, err := pm.MatchesOrParentMatches(rel)
		if err != nil {
			t.Fatalf(".dockerignore on %s: %v", rel, err)
		}
		return ex
	}

	t.Run("keeps build inputs", func(t *testing.T) {
		need := []string{"go.mod", "go.sum"}
		for _, pkg := range goList(t, root) {
			for _, names := range [][]string{pkg.GoFiles, pkg.CgoFiles, pkg.EmbedFiles} {
				for _, name := range names {
					rel, err := filepath.Rel(root, filepath.Join(pkg.Dir, name))
					if err != nil {
						t.Fatal(err)
					}
					need = append(need, rel)
				}
			}
		}
		for _, rel := range need {
			if excluded(t, rel) {
				t.Errorf(".dockerignore drops %s, which the build needs", rel)
			}
		}
	})

	t.Run("drops local state", func(t *testing.T) {
		for _, rel := range []string{".git/HEAD", ".env", "data/modelkeep.db", "data/blobs/x"} {
			if !excluded(t, rel) {
				t.Errorf(".dockerignore keeps %s in the build context", rel)
			}
		}
	})
}

// goTool is the go command.
func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// goList lists the module's packages with `go list -e -json ./...`.
func goList(t *testing.T, root string) []goListPackage {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), goTool(), "list", "-e", "-json=Dir,GoFiles,CgoFiles,EmbedFiles", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []goListPackage
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p goListPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list found no packages")
	}
	return pkgs
}
