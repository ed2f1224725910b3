// Package cli is Modelkeep's command line for users of a server: login,
// push, pull, and the common reads and actions on models, versions,
// transitions and the audit log. It talks to the server over HTTP through
// package client; cmd/modelkeep sends it these commands and everything
// else (serve, migrate, token create, ...) to package server.
package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"github.com/mattn/go-isatty"

	"github.com/modelkeep/modelkeep/client"
)

// Exit codes, documented in UsageText.
const (
	ExitOK          = 0
	ExitError       = 1   // any other failure: server unreachable, 5xx, local I/O
	ExitUsage       = 2   // bad command line
	ExitAuth        = 3   // no or rejected token (401), not allowed (403: role, scope, four eyes)
	ExitNotFound    = 4   // no such model, version, alias, stage holder, transition, event (404)
	ExitConflict    = 5   // the state does not allow it (409, 412: not ready, already approved, gates, ...)
	ExitVerify      = 6   // a SHA-256 or manifest digest did not match (nothing was placed)
	ExitInterrupted = 130 // interrupted (SIGINT, SIGTERM); a push continues with --resume
)

// UsageText lists the client commands; `modelkeep help` prints it after
// the server's commands.
const UsageText = `Client commands (talk to a server; see 'modelkeep login'):
  modelkeep login URL [--token TOKEN]
                              store the server and a token in your config file (0600)
  modelkeep push MODEL DIR [--tag k=v] [--param k=v] [--dataset name@version:role]
                 [--run RUN_ID] [--description TEXT] [--finalize] [--resume]
                              create a version and upload DIR (resumable, parallel parts)
  modelkeep pull MODEL@production|MODEL@staging|MODEL@ALIAS|MODEL@N DIR [--record-deployment ENV]
                              download a ready version, verified, atomically into DIR
  modelkeep models list|show|create ...
  modelkeep versions list|show|finalize ...
  modelkeep transitions list|show|request|approve|reject ...
  modelkeep audit list|show ...

Every client command takes --output json (tables or plain lines by default),
--server URL and --token TOKEN; the server and token come from the flags, else
MODELKEEP_URL and MODELKEEP_TOKEN, else the file 'modelkeep login' wrote
($XDG_CONFIG_HOME/modelkeep/config.json, or MODELKEEP_CONFIG).

Exit codes of client commands:
  0    success
  1    error (server unreachable, server error, local I/O)
  2    bad usage
  3    not authenticated (no or rejected token) or not allowed (including
       approving your own request: four eyes)
  4    not found
  5    conflict or failed precondition (version not ready, already approved, gates)
  6    verification failed (a SHA-256 or manifest digest did not match)
  130  interrupted (a push continues with 'modelkeep push --resume MODEL DIR')
`

// Env is what a command runs with: the process's environment and streams,
// and the HTTP client to reach the server with (tests count bytes there).
type Env struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	HTTP   *http.Client
	// Terminal says that Stderr is a terminal (progress bars instead of
	// plain lines); Main detects it when Stderr is an *os.File.
	Terminal *bool
}

// Commands are the first words Main handles; cmd/modelkeep sends the rest
// to the server's command line. "audit" is shared: list and show are
// ours, verify and prune the server's.
func Handles(args []string) bool {
	if len(args) == 0 {
		return false
	}
	switch args[0] {
	case "login", "push", "pull", "models", "versions", "transitions":
		return true
	case "audit":
		return len(args) > 1 && (args[1] == "list" || args[1] == "show")
	}
	return false
}

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env, args []string) error
}

// env is the running command's Env with what the common flags said.
type env struct {
	Env
	output   string
	quiet    bool
	server   string
	token    string
	terminal bool
}

// Main runs a client command and returns its exit code.
func Main(ctx context.Context, args []string, e Env) int {
	if e.Getenv == nil {
		e.Getenv = os.Getenv
	}
	if e.Stdin == nil {
		e.Stdin = os.Stdin
	}
	if e.HTTP == nil {
		e.HTTP = &http.Client{Transport: http.DefaultTransport}
	}
	terminal := false
	if e.Terminal != nil {
		terminal = *e.Terminal
	} else if f, ok := e.Stderr.(*os.File); ok {
		terminal = isatty.IsTerminal(f.Fd())
	}
	ev := &env{Env: e, terminal: terminal}
	if len(args) == 0 {
		fmt.Fprint(e.Stderr, UsageText)
		return ExitUsage
	}
	name, rest := args[0], args[1:]
	groups := map[string][]command{
		"models":      modelCommands,
		"versions":    versionCommands,
		"transitions": transitionCommands,
		"audit":       auditCommands,
	}
	var cmd command
	switch name {
	case "login":
		cmd = command{name: "login", run: runLogin}
	case "push":
		cmd = command{name: "push", run: runPush}
	case "pull":
		cmd = command{name: "pull", run: runPull}
	default:
		subs, ok := groups[name]
		if !ok {
			fmt.Fprintf(e.Stderr, "modelkeep: unknown command %q\n\n%s", name, UsageText)
			return ExitUsage
		}
		if len(rest) == 0 || rest[0] == "-h" || rest[0] == "--help" || rest[0] == "help" {
			fmt.Fprint(e.Stdout, groupUsage(name, subs))
			if len(rest) == 0 {
				return ExitUsage
			}
			return ExitOK
		}
		found := false
		for _, c := range subs {
			if c.name == rest[0] {
				cmd, found = c, true
			}
		}
		if !found {
			fmt.Fprintf(e.Stderr, "modelkeep %s: unknown command %q\n\n%s", name, rest[0], groupUsage(name, subs))
			return ExitUsage
		}
		name, rest = name+" "+rest[0], rest[1:]
	}
	err := cmd.run(ctx, ev, rest)
	return report(e.Stderr, name, err, ctx)
}

func groupUsage(name string, subs []command) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage: modelkeep %s COMMAND [flags]\n\nCommands:\n", name)
	for _, c := range subs {
		fmt.Fprintf(&b, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(&b, "\nRun 'modelkeep %s COMMAND -h' for a command's flags.\n", name)
	return b.String()
}

// usageErr is a bad command line: exit 2 with the help hint.
type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

func usagef(format string, a ...any) error { return usageErr{fmt.Sprintf(format, a...)} }

// errHelp: the command printed its help.
var errHelp = errors.New("help")

// report prints err and maps it to an exit code.
func report(stderr io.Writer, name string, err error, ctx context.Context) int {
	if err == nil || errors.Is(err, errHelp) {
		return ExitOK
	}
	var ue usageErr
	if errors.As(err, &ue) {
		fmt.Fprintf(stderr, "modelkeep %s: %s\nRun 'modelkeep %s -h' for help.\n", name, ue.msg, name)
		return ExitUsage
	}
	fmt.Fprintf(stderr, "modelkeep %s: %v\n", name, err)
	return exitCode(ctx, err)
}

// exitCode maps an error to the documented exit codes.
func exitCode(ctx context.Context, err error) int {
	var ve *client.VerificationError
	switch {
	case errors.Is(err, context.Canceled) || (ctx.Err() != nil && errors.Is(err, ctx.Err())):
		return ExitInterrupted
	case errors.As(err, &ve):
		return ExitVerify
	case errors.Is(err, errNotLoggedIn):
		return ExitAuth
	}
	switch client.StatusOf(err) {
	case http.StatusUnauthorized, http.StatusForbidden:
		return ExitAuth
	case http.StatusNotFound:
		return ExitNotFound
	case http.StatusConflict, http.StatusPreconditionFailed:
		return ExitConflict
	case http.StatusUnprocessableEntity:
		return ExitVerify
	}
	return ExitError
}

// flags is a command's flag set with the common flags.
type flags struct {
	*flag.FlagSet
	e     *env
	usage string
}

// newFlags makes a command's flags; usage is its help text (the flags are
// printed after it).
func newFlags(e *env, name, usage string) *flags {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	f := &flags{FlagSet: fs, e: e, usage: usage}
	fs.StringVar(&e.output, "output", "table", "output format: table (plain lines for push and pull) or json")
	fs.StringVar(&e.server, "server", "", "server URL (default: $MODELKEEP_URL, else the login config)")
	fs.StringVar(&e.token, "token", "", "bearer token (default: $MODELKEEP_TOKEN, else the login config)")
	return f
}

// parse parses flags given before, between and after the positional
// arguments and checks their count.
func (f *flags) parse(args []string, minArgs, maxArgs int) ([]string, error) {
	var pos []string
	for {
		if err := f.FlagSet.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				f.printHelp()
				return nil, errHelp
			}
			return nil, usagef("%v", err)
		}
		args = f.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if f.e.output != "table" && f.e.output != "json" {
		return nil, usagef("--output %q: want table or json", f.e.output)
	}
	if len(pos) < minArgs || (maxArgs >= 0 && len(pos) > maxArgs) {
		return nil, usagef("wrong number of arguments")
	}
	return pos, nil
}

func (f *flags) printHelp() {
	w := f.e.Stdout
	fmt.Fprint(w, f.usage)
	fmt.Fprint(w, "\nFlags:\n")
	f.SetOutput(w)
	f.PrintDefaults()
	f.SetOutput(io.Discard)
	fmt.Fprint(w, "\nExit codes: 0 ok, 1 error, 2 usage, 3 auth, 4 not found, 5 conflict, 6 verification failed, 130 interrupted.\n")
}

// kvFlag collects repeatable k=v flags.
type kvFlag map[string]string

func (m kvFlag) String() string { return "" }
func (m kvFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q: want key=value", v)
	}
	m[k] = val
	return nil
}

// listFlag collects a repeatable flag.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

type flagT = flag.Flag
