// Command hallmark is Hallmark's one binary: the servers and the admin
// command line. See package internal/cli for its commands.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/hallmark-project/hallmark/internal/cli"
	"github.com/hallmark-project/hallmark/internal/cli/devicecmd"
	"github.com/hallmark-project/hallmark/internal/loadgen"
	"github.com/hallmark-project/hallmark/internal/server"
)

func main() {
	cli.Register(cli.Command{Name: "serve", Summary: "run every service (SQLite by default)",
		Run: func(ctx context.Context, args []string, _ io.Reader, out, errw io.Writer) error {
			return server.Serve(ctx, args, out, errw)
		}})
	cli.Register(cli.Command{Name: "init",
		Summary: "create the data directory, the CA hierarchy and an operator token",
		Run: func(ctx context.Context, args []string, _ io.Reader, out, errw io.Writer) error {
			return server.Init(ctx, args, out, errw)
		}})

	cli.Register(cli.Command{Name: "demo",
		Summary: "run the whole flow on SQLite with simulated devices and print it",
		Run: func(ctx context.Context, args []string, _ io.Reader, out, errw io.Writer) error {
			return server.Demo(ctx, args, out, errw)
		}})

	devicecmd.Register()
	cli.Register(loadgen.Command())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
