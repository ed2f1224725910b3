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
)

const usageText = `Modelkeep: a model registry and artifact server.

Usage:
  modelkeep serve [flags]     apply pending migrations, then serve the API and the web UI
  modelkeep migrate [flags]   apply pending database migrations and exit
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
