// Package cli is the hallmark command line.
//
// [Main] runs one command and returns the exit status for the process. The
// admin API commands (whoami, tenant, token, device, ca, audit) are built in:
// they speak HTTPS and JSON to a running server and import none of its
// packages. Commands that run the server itself, such as serve and init, are
// written elsewhere and added with [Register] before Main runs.
//
// # Errors
//
// A failed command prints "hallmark: error: ..." on standard error, then
// "hallmark: hint: ..." when the error carries a likely fix (see [Error]).
// A [*UsageError] exits with status 2, [flag.ErrHelp] with 0, any other
// error with 1.
//
// # Flags
//
// Flags may follow positional arguments, as in "device claim ID --tenant T"
// (see [ParseFlags]). Every admin API command takes the connection flags
// --server, --token, --ca-file, --data-dir and --output, each also read from
// the HALLMARK_* environment variable of the same name; a flag wins over its
// variable. The package reads no configuration file.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
)

// Main runs the command named by args, without the program name, and
// returns the process exit status: 0 on success, 2 for a usage error, 1 for
// any other failure. Errors go to stderr.
func Main(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	p := &process{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv}
	return p.main(ctx, args)
}

// process is what one run of the command line sees of its environment.
type process struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
}

func (p *process) main(ctx context.Context, args []string) int {
	return report(p.stderr, p.run(ctx, args))
}

func (p *process) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return &UsageError{Msg: "no command given", Hint: commandsHint()}
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		return p.help(ctx, rest)
	}
	if isGroup(name) {
		return p.runGroup(ctx, name, rest)
	}
	if c, ok := registeredCommand(name); ok {
		return c.Run(ctx, rest, p.stdin, p.stdout, p.stderr)
	}
	if strings.HasPrefix(name, "-") {
		return &UsageError{Msg: fmt.Sprintf("flag %s before the command", name),
			Hint: "flags follow the command, as in 'hallmark whoami --server URL'"}
	}
	return &UsageError{Msg: fmt.Sprintf("unknown command %q", name), Hint: commandsHint()}
}

// runGroup runs an admin API command: a group and its subcommand, such as
// "tenant create", or a command without subcommands, such as "whoami".
func (p *process) runGroup(ctx context.Context, group string, args []string) error {
	if l, ok := findLeaf(group, ""); ok {
		return newSession(p, l).run(ctx, args)
	}
	if len(args) == 0 {
		return &UsageError{Msg: "missing " + group + " command", Hint: subcommandsHint(group)}
	}
	switch args[0] {
	case "-h", "-help", "--help":
		printGroupUsage(p.stdout, group)
		return nil
	}
	l, ok := findLeaf(group, args[0])
	if !ok {
		if c, ok := extension(group, args[0]); ok {
			return c.Run(ctx, args, p.stdin, p.stdout, p.stderr)
		}
		return &UsageError{Msg: fmt.Sprintf("unknown %s command %q", group, args[0]),
			Hint: subcommandsHint(group)}
	}
	return newSession(p, l).run(ctx, args[1:])
}

// help prints the usage of the program, of a group, or of one command.
func (p *process) help(ctx context.Context, args []string) error {
	switch {
	case len(args) == 0:
		printUsage(p.stdout)
		return nil
	case isGroup(args[0]) && len(args) == 1:
		if _, ok := findLeaf(args[0], ""); !ok {
			printGroupUsage(p.stdout, args[0])
			return nil
		}
	case !isGroup(args[0]) && len(args) > 1:
		return &UsageError{Msg: "too many arguments to help", Hint: "run 'hallmark help'"}
	}
	return p.run(ctx, append(args, "-h"))
}

func commandsHint() string {
	return "commands: " + strings.Join(commandNames(), ", ") + "; run 'hallmark help'"
}

func subcommandsHint(group string) string {
	var names []string
	for _, l := range leaves {
		if l.group == group {
			names = append(names, l.name)
		}
	}
	return group + " commands: " + strings.Join(names, ", ")
}
