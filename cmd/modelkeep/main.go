// Command modelkeep is the Modelkeep server, its administration tool, and
// the command line client of a server (login, push, pull, ...).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/modelkeep/modelkeep/cli"
	"github.com/modelkeep/modelkeep/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var code int
	args := os.Args[1:]
	if cli.Handles(args) {
		code = cli.Main(ctx, args, cli.Env{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	} else {
		code = server.Main(ctx, args, os.Getenv, os.Stdout, os.Stderr)
	}
	// The help lists the server's commands, then the client's.
	if len(args) == 0 {
		os.Stderr.WriteString("\n" + cli.UsageText)
	} else if args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		os.Stdout.WriteString("\n" + cli.UsageText)
	}
	stop()
	os.Exit(code)
}
