// Command modelkeep is the Modelkeep server and its administration tool.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/modelkeep/modelkeep/server"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := server.Main(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
