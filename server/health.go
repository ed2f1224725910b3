package server

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

const healthUsage = `Usage: modelkeep health [flags]

Exits 0 when the server at --addr is ready (or alive, with --live), 1 when
not, printing the path asked, the status and the answer (which, from
/readyz, says what is not ready).
`

// healthCommand is `modelkeep health`: it asks a running server's /readyz
// (or /healthz with --live) and exits 0 when it answers 200, 1 otherwise
// (bad flags included: Docker reserves exit status 2 of a health check).
// The container image has no shell and no HTTP client, so this is what its
// HEALTHCHECK and compose.yaml run.
func healthCommand(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	fs := newFlagSet("health")
	listen := getenv("MODELKEEP_LISTEN")
	if listen == "" {
		listen = settingDefault("listen")
	}
	addr := fs.String("addr", listen, "the server's address [$MODELKEEP_LISTEN]")
	live := fs.Bool("live", false, "ask /healthz (the process answers) instead of /readyz (database and blob store reachable)")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stdout, fs, healthUsage, nil)
			return 0
		}
		usageError(stderr, "health", err)
		return 1
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		fmt.Fprintf(stderr, "modelkeep health: address %q: %v\n", *addr, err)
		return 1
	}
	if ip := net.ParseIP(host); host == "" || ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // listening on every interface: ask over loopback
	}
	path := "/readyz"
	if *live {
		path = "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "modelkeep health: %v\n", err)
		return 1
	}
	// Straight to the server: never through an HTTP_PROXY of the
	// environment.
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	resp, err := client.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "modelkeep health: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	fmt.Fprintf(stdout, "%s %d %s\n", path, resp.StatusCode, body)
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
