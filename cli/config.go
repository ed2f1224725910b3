package cli

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/term"

	"github.com/modelkeep/modelkeep/client"
)

// Config is the per-user file 'modelkeep login' writes.
type Config struct {
	Server string `json:"server"`
	Token  string `json:"token"`
}

var errNotLoggedIn = errors.New("no token: run 'modelkeep login URL', or set MODELKEEP_TOKEN")

// configPath is $MODELKEEP_CONFIG, else $XDG_CONFIG_HOME/modelkeep/config.json,
// else ~/.config/modelkeep/config.json.
func configPath(getenv func(string) string) (string, error) {
	if p := getenv("MODELKEEP_CONFIG"); p != "" {
		return p, nil
	}
	if d := getenv("XDG_CONFIG_HOME"); d != "" {
		return filepath.Join(d, "modelkeep", "config.json"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("neither XDG_CONFIG_HOME nor HOME is set: set MODELKEEP_CONFIG")
	}
	return filepath.Join(home, ".config", "modelkeep", "config.json"), nil
}

// cacheDir is where push keeps its resume state: $XDG_CACHE_HOME/modelkeep,
// else ~/.cache/modelkeep.
func cacheDir(getenv func(string) string) (string, error) {
	if d := getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(d, "modelkeep"), nil
	}
	home := getenv("HOME")
	if home == "" {
		return "", errors.New("neither XDG_CACHE_HOME nor HOME is set")
	}
	return filepath.Join(home, ".cache", "modelkeep"), nil
}

func loadConfig(getenv func(string) string) (Config, error) {
	var c Config
	p, err := configPath(getenv)
	if err != nil {
		return c, nil // no file to read: the environment must say it all
	}
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", p, err)
	}
	return c, nil
}

// writePrivate writes a file readable by its owner only, atomically (a
// temp file in the same directory, renamed), in a 0700 directory.
func writePrivate(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".config-*.json")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// client builds the API client: the server and token from the flags, else
// the environment, else the config file.
func (e *env) client() (*client.Client, error) {
	cfg, err := loadConfig(e.Getenv)
	if err != nil {
		return nil, err
	}
	server := firstOf(e.server, e.Getenv("MODELKEEP_URL"), cfg.Server, "http://127.0.0.1:8080")
	token := firstOf(e.token, e.Getenv("MODELKEEP_TOKEN"), cfg.Token)
	if token == "" {
		return nil, errNotLoggedIn
	}
	if err := checkServerURL(server); err != nil {
		return nil, err
	}
	return client.New(server, token, e.HTTP), nil
}

func firstOf(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

func checkServerURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("server URL %q: want http(s)://host[:port]", s)
	}
	return nil
}

// readToken reads the token from standard input: without echo when it is
// a terminal, else its first line (a pipe: echo "$TOKEN" | modelkeep login).
func readToken(e *env) (string, error) {
	if f, ok := e.Stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(e.Stderr, "Token: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.Stderr)
		if err != nil {
			return "", fmt.Errorf("read the token: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	line, err := bufio.NewReader(e.Stdin).ReadString('\n')
	if err != nil && line == "" {
		return "", usagef("no token on standard input (or give --token)")
	}
	return strings.TrimSpace(line), nil
}

const loginUsage = `Usage: modelkeep login URL [--token TOKEN] [--no-verify]

Stores the server's URL and a bearer token in your config file
($MODELKEEP_CONFIG, else $XDG_CONFIG_HOME/modelkeep/config.json, else
~/.config/modelkeep/config.json), readable by you only (mode 0600). The token
is read from standard input (one line) unless --token gives it; it is checked
against the server first unless --no-verify. MODELKEEP_URL and MODELKEEP_TOKEN
override the file; --server and --token override both.

Get a token from an admin (POST /api/v1/tokens) or on the server's machine
with 'modelkeep token create'.

  echo "$TOKEN" | modelkeep login https://models.example.com
`

func runLogin(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "login", loginUsage)
	noVerify := f.Bool("no-verify", false, "store without checking the token against the server")
	pos, err := f.parse(args, 1, 1)
	if err != nil {
		return err
	}
	server := strings.TrimRight(pos[0], "/")
	if err := checkServerURL(server); err != nil {
		return err
	}
	token := e.token
	if token == "" {
		t, err := readToken(e)
		if err != nil {
			return err
		}
		token = t
	}
	if token == "" {
		return usagef("the token is empty")
	}
	if !*noVerify {
		if err := client.New(server, token, e.HTTP).Ping(ctx); err != nil {
			return fmt.Errorf("check the token: %w", err)
		}
	}
	p, err := configPath(e.Getenv)
	if err != nil {
		return err
	}
	data, _ := json.MarshalIndent(Config{Server: server, Token: token}, "", "  ")
	if err := writePrivate(p, append(data, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", p, err)
	}
	if e.output == "json" {
		return printJSON(e.Stdout, map[string]string{"server": server, "config": p})
	}
	fmt.Fprintf(e.Stdout, "logged in to %s (token stored in %s)\n", server, p)
	return nil
}
