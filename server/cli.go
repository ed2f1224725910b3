package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/url"
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
  modelkeep version           print the version

Run 'modelkeep <command> -h' for the flags of a command; every flag has a
MODELKEEP_* environment variable twin. With no configuration at all, serve
keeps its data in ./data (SQLite and local files) and listens on 127.0.0.1:8080.
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
		fmt.Fprintf(stdout, "modelkeep %s\n", Version)
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
	cfg, err := ParseConfig(cmd, rest, getenv, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "modelkeep %s: %v\n", cmd, err)
		return 2
	}
	logger := NewLogger(cfg, stderr)
	if cmd == "migrate" {
		err = Migrate(ctx, cfg, logger)
	} else {
		err = Run(ctx, cfg, logger)
	}
	if err != nil {
		logger.Error("modelkeep "+cmd+" failed", "err", err)
		return 1
	}
	return 0
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

// tokenCommand runs `modelkeep token create`: it opens the same stores as
// serve (so the token is recorded, listed and revocable) and prints the
// signed token on stdout, nothing else, for scripts.
func tokenCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "create" {
		fmt.Fprint(stderr, "Usage: modelkeep token create --subject NAME --role ROLE [--role ROLE] [--ttl 24h] [--models PATTERN] [flags]\n")
		return 2
	}
	fs := flag.NewFlagSet("token create", flag.ContinueOnError)
	fs.SetOutput(stderr)
	subject := fs.String("subject", "", "who or what uses the token (required)")
	ttl := fs.Duration("ttl", 24*time.Hour, "lifetime of the token")
	var roles, models listFlag
	fs.Var(&roles, "role", "a role: admin, publisher, approver, deployer or auditor (repeatable; required)")
	fs.Var(&models, "models", "restrict the token to model names matching this glob, e.g. fraud-* (repeatable)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "Usage: modelkeep token create --subject NAME --role ROLE [--role ROLE] [--ttl 24h] [--models PATTERN] [flags]\n\n"+
			"Issues a token and prints it. It reads the same configuration as serve.\n\n")
		fs.PrintDefaults()
	}
	cfg, err := parseConfig(fs, args[1:], getenv)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err == nil && (*subject == "" || len(roles) == 0) {
		err = errors.New("--subject and at least one --role are required")
	}
	if err != nil {
		fmt.Fprintf(stderr, "modelkeep token create: %v\n", err)
		return 2
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
