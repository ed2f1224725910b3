package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/modelkeep/modelkeep"
)

const usageText = `Modelkeep: a model registry and artifact server.

Usage:
  modelkeep serve [flags]     apply pending migrations, then serve the API and the web UI
  modelkeep migrate [flags]   apply pending database migrations and exit
  modelkeep token create --subject NAME --role ROLE [--role ROLE] [--ttl 24h] [--models PATTERN]
                              issue a bearer token (works before any user exists)
  modelkeep audit verify FILE --public-key KEY
                              verify an audit log export offline
  modelkeep evidence verify FILE --public-key KEY
                              verify an EU AI Act evidence pack offline
  modelkeep audit prune [--dry-run] [flags]
                              remove audit events older than the retention (privileged database user)
  modelkeep health [--live] [--addr HOST:PORT]
                              exit 0 when the server is ready (alive, with --live), 1 when not
  modelkeep version           print the version and the commit it was built from

Run 'modelkeep <command> -h' for the flags of a command; every flag of the
configuration has a MODELKEEP_* environment variable twin. With no
configuration at all, serve keeps its data in ./data (SQLite and local files)
and listens on 127.0.0.1:8080.
`

// Main runs the modelkeep command line and returns the process exit code.
func Main(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, versionLine())
		return 0
	case "help", "-h", "--help", "-help":
		fmt.Fprint(stdout, usageText)
		return 0
	case "token":
		return tokenCommand(ctx, rest, getenv, stdout, stderr)
	case "audit":
		return auditCommand(ctx, rest, getenv, stdout, stderr)
	case "evidence":
		return evidenceCommand(rest, stdout, stderr)
	case "health":
		return healthCommand(ctx, rest, getenv, stdout, stderr)
	case "serve", "migrate":
	default:
		fmt.Fprintf(stderr, "modelkeep: unknown command %q\n\n%s", cmd, usageText)
		return 2
	}
	cfg, err := ParseConfig(cmd, rest, getenv, stdout)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return usageError(stderr, cmd, err)
	}
	logger := NewLogger(cfg, stderr)
	if cmd == "migrate" {
		var report schemaReport
		if report, err = Migrate(ctx, cfg, logger); err == nil {
			fmt.Fprintln(stdout, report)
		}
	} else {
		err = Run(ctx, cfg, logger)
	}
	if err != nil {
		logger.Error("modelkeep "+cmd+" failed", "err", err)
		return 1
	}
	return 0
}

// newFlagSet returns an empty flag set for a command. It prints nothing
// itself: the command prints its help on flag.ErrHelp (printUsage) and its
// errors (usageError).
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// printUsage prints a command's help: head, then the command's own flags,
// then the configuration settings it reads: those named in shown, or all
// when shown is nil.
func printUsage(w io.Writer, fs *flag.FlagSet, head string, shown []string) {
	fmt.Fprint(w, head)
	own := func(f *flag.Flag) bool { return !isSetting(f.Name) }
	config := func(f *flag.Flag) bool {
		return isSetting(f.Name) && (shown == nil || slices.Contains(shown, f.Name))
	}
	if countFlags(fs, own) > 0 {
		fmt.Fprint(w, "\nFlags:\n")
		printFlags(w, fs, own)
	}
	if countFlags(fs, config) > 0 {
		fmt.Fprint(w, "\nConfiguration (each flag can also be set by the environment variable in brackets")
		if shown != nil {
			fmt.Fprint(w, "; serve's other flags are accepted and ignored")
		}
		fmt.Fprint(w, "):\n")
		printFlags(w, fs, config)
	}
}

func countFlags(fs *flag.FlagSet, keep func(*flag.Flag) bool) int {
	n := 0
	fs.VisitAll(func(f *flag.Flag) {
		if keep(f) {
			n++
		}
	})
	return n
}

// printFlags prints the flags of fs that keep selects as flag.PrintDefaults
// prints them.
func printFlags(w io.Writer, fs *flag.FlagSet, keep func(*flag.Flag) bool) {
	some := flag.NewFlagSet(fs.Name(), flag.ContinueOnError)
	some.SetOutput(w)
	fs.VisitAll(func(f *flag.Flag) {
		if keep(f) {
			some.Var(f.Value, f.Name, f.Usage)
			some.Lookup(f.Name).DefValue = f.DefValue
		}
	})
	some.PrintDefaults()
}

// usageError reports bad usage of command and returns exit status 2.
func usageError(stderr io.Writer, command string, err error) int {
	fmt.Fprintf(stderr, "modelkeep %s: %v\nRun 'modelkeep %s -h' for help.\n", command, err, command)
	return 2
}

// NewLogger builds the slog logger the configuration asks for.
func NewLogger(cfg Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by Config.Validate
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// redactURL hides the password of a URL-shaped setting for logging.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		if strings.Contains(s, "@") {
			return "(redacted)"
		}
		return s
	}
	return u.Redacted()
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part != "" {
			*l = append(*l, part)
		}
	}
	return nil
}

const tokenUsage = `Usage:
  modelkeep token create --subject NAME --role ROLE [--role ROLE] [--ttl 24h] [--models PATTERN] [flags]
      issue a bearer token and print it; it reads the same configuration as
      serve, so it works on the server's machine before any user exists

Run 'modelkeep token create -h' for its flags. Admins list and revoke tokens
over the API (GET /api/v1/tokens, DELETE /api/v1/tokens/{id}).
`

const tokenCreateUsage = `Usage: modelkeep token create --subject NAME --role ROLE [--role ROLE] [--ttl 24h] [--models PATTERN] [flags]

Issues a token, prints it on stdout (and what it is on stderr). It reads the
same configuration as serve: the MODELKEEP_* environment variables, or the
configuration flags below.
`

// tokenCommand runs `modelkeep token ...`.
func tokenCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, tokenUsage)
		return 2
	}
	switch args[0] {
	case "create":
		return tokenCreateCommand(ctx, args[1:], getenv, stdout, stderr)
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, tokenUsage)
		return 0
	}
	fmt.Fprintf(stderr, "modelkeep token: unknown command %q\n\n%s", args[0], tokenUsage)
	return 2
}

// tokenCreateCommand runs `modelkeep token create`: it opens the same stores
// as serve (so the token is recorded, listed and revocable) and prints the
// signed token on stdout, nothing else, for scripts.
func tokenCreateCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := newFlagSet("token create")
	subject := fs.String("subject", "", "who or what uses the token (required)")
	ttl := fs.Duration("ttl", 24*time.Hour, "lifetime of the token")
	var roles, models listFlag
	fs.Var(&roles, "role", "a role: admin, publisher, approver, deployer or auditor (repeatable; required)")
	fs.Var(&models, "models", "restrict the token to model names matching this glob, e.g. fraud-* (repeatable)")
	cfg, err := parseConfig(fs, args, getenv)
	if errors.Is(err, flag.ErrHelp) {
		printUsage(stdout, fs, tokenCreateUsage, tokenSettings)
		return 0
	}
	if err == nil && (*subject == "" || len(roles) == 0) {
		err = errors.New("--subject and at least one --role are required")
	}
	if err != nil {
		return usageError(stderr, "token create", err)
	}
	// Given, --ttl is the lifetime: 0 is refused, not the default.
	if err := modelkeep.CheckTokenTTL(*ttl); err != nil {
		fmt.Fprintf(stderr, "modelkeep token create: --ttl: %v\n", err)
		return 1
	}
	logger := NewLogger(cfg, stderr)
	srv, err := New(ctx, cfg, logger)
	if err != nil {
		logger.Error("modelkeep token create failed", "err", err)
		return 1
	}
	defer srv.Close()
	t, signed, err := srv.IssueToken(ctx, modelkeep.TokenInput{Subject: *subject, Roles: roles, Models: models, TTL: *ttl})
	if err != nil {
		fmt.Fprintf(stderr, "modelkeep token create: %v\n", err)
		return 1
	}
	fmt.Fprintln(stdout, signed)
	fmt.Fprintf(stderr, "token %s for %q (roles %s) expires %s\n", t.ID, t.Subject, strings.Join(t.Roles, ","), t.ExpiresAt.Format(time.RFC3339))
	return 0
}
