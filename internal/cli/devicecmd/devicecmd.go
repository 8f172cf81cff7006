// Package devicecmd adds the device side to the hallmark command line: the
// agent command, which runs the device agent of package agent with a key
// file as the device's root of trust, and the cert command, which shows a
// device certificate and the attestation result it carries.
//
//	hallmark agent keygen --key FILE
//	hallmark agent id --key FILE
//	hallmark agent attest --key FILE --manifest FILE --out DIR
//	hallmark agent run --key FILE --manifest FILE --out DIR
//	hallmark cert inspect FILE
//
// [Register] adds both commands; package main calls it before cli.Main. The
// agent commands speak to the DAA listener (--server, HALLMARK_DAA_SERVER),
// not to the admin API, and need no token.
package devicecmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/hallmark-project/hallmark/internal/cli"
)

// Register adds the agent and cert commands to the command line.
func Register() {
	cli.Register(cli.Command{Name: "agent",
		Summary: "run the device agent: make a device key, attest, renew",
		// The device side also answers as "hallmark device keygen" and so on.
		Extends: "device", Subcommands: []string{"keygen", "id", "attest", "run"},
		Run: func(ctx context.Context, args []string, stdin io.Reader,
			stdout, stderr io.Writer) error {
			return newEnv(stdin, stdout, stderr).dispatch(ctx, "agent", agentCommands, args)
		}})
	cli.Register(cli.Command{Name: "cert",
		Summary: "inspect a device certificate and its attestation result",
		Run: func(ctx context.Context, args []string, stdin io.Reader,
			stdout, stderr io.Writer) error {
			return newEnv(stdin, stdout, stderr).dispatch(ctx, "cert", certCommands, args)
		}})
}

// env is what one run of a command sees of its process.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

func newEnv(stdin io.Reader, stdout, stderr io.Writer) *env {
	return &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
}

// subcommand is one command of a group, such as "agent attest".
type subcommand struct {
	name    string
	args    string // positional arguments in usage, such as "FILE"
	summary string
	// about is printed below the flags by -h; "" for nothing.
	about string
	run   func(e *env, ctx context.Context, c *call) error
}

var agentCommands = []subcommand{
	{"keygen", "", "create a device identity key file and print the device ID", "",
		(*env).keygen},
	{"id", "", "print the device ID of a key file", "", (*env).id},
	{"attest", "", "attest once and write the device's credentials", manifestHelp,
		(*env).attest},
	{"run", "", "attest, write the credentials and renew them until stopped",
		manifestHelp, (*env).run},
}

var certCommands = []subcommand{
	{"inspect", "FILE|-", "show a certificate (PEM or DER) and its attestation result", "",
		(*env).inspect},
}

// dispatch runs the subcommand of group that args name.
func (e *env) dispatch(ctx context.Context, group string, cmds []subcommand,
	args []string) error {
	var names []string
	for _, c := range cmds {
		names = append(names, c.name)
	}
	hint := group + " commands: " + strings.Join(names, ", ") +
		"; run 'hallmark " + group + " -h'"
	if len(args) == 0 {
		return &cli.UsageError{Msg: "missing " + group + " command", Hint: hint}
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		e.groupUsage(group, cmds)
		return flag.ErrHelp
	}
	for _, c := range cmds {
		if c.name == args[0] {
			return c.run(e, ctx, &call{env: e, group: group, cmd: c, args: args[1:]})
		}
	}
	return &cli.UsageError{Msg: fmt.Sprintf("unknown %s command %q", group, args[0]),
		Hint: hint}
}

func (e *env) groupUsage(group string, cmds []subcommand) {
	fmt.Fprintf(e.stdout, "usage: hallmark %s <command> [arguments] [flags]\n\ncommands:\n",
		group)
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	for _, c := range cmds {
		fmt.Fprintf(tw, "  %s\t%s\n", strings.TrimSpace(c.name+" "+c.args), c.summary)
	}
	_ = tw.Flush() // errors writing the usage have nowhere to go
	fmt.Fprintf(e.stdout, "\nRun 'hallmark %s <command> -h' for the flags of a command.\n",
		group)
}

// call is one run of a subcommand: its flags and arguments.
type call struct {
	env   *env
	group string
	cmd   subcommand
	args  []string
	fs    *flag.FlagSet
}

// flags returns the subcommand's flag set, for it to define its flags on.
func (c *call) flags() *flag.FlagSet {
	if c.fs == nil {
		c.fs = flag.NewFlagSet(c.group+" "+c.cmd.name, flag.ContinueOnError)
	}
	return c.fs
}

// parse parses the command line, which must have n positional arguments,
// and returns them. It prints the usage for -h.
func (c *call) parse(n int) ([]string, error) {
	fs := c.flags()
	if err := cli.ParseFlags(fs, c.args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			c.usage(c.env.stdout)
		}
		return nil, err
	}
	pos := fs.Args()
	switch {
	case len(pos) < n:
		return nil, &cli.UsageError{Msg: "missing " + c.cmd.args, Hint: c.usageLine()}
	case len(pos) > n:
		return nil, &cli.UsageError{Msg: fmt.Sprintf("unexpected argument %q", pos[n]),
			Hint: c.usageLine()}
	}
	return pos, nil
}

// require returns a usage error if the flag name was given no value.
func (c *call) require(name, value string) error {
	if value != "" {
		return nil
	}
	return &cli.UsageError{Msg: "missing --" + name, Hint: c.usageLine()}
}

func (c *call) usageLine() string {
	return "usage: hallmark " + strings.TrimSpace(c.fs.Name()+" "+c.cmd.args) + " [flags]"
}

func (c *call) usage(w io.Writer) {
	fmt.Fprintf(w, "%s\n\n%s\n", c.usageLine(), c.cmd.summary)
	fmt.Fprint(w, "\nflags:\n")
	c.fs.VisitAll(func(f *flag.Flag) {
		arg, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", strings.TrimSpace(f.Name+" "+arg))
		fmt.Fprintf(w, "\n    \t%s\n", strings.ReplaceAll(usage, "\n", "\n    \t"))
	})
	if c.cmd.about != "" {
		fmt.Fprintf(w, "\n%s", c.cmd.about)
	}
}

// pick returns value, else the environment variable env, else def.
func (e *env) pick(value, env, def string) string {
	if value == "" {
		value = e.getenv(env)
	}
	if value == "" {
		value = def
	}
	return value
}
