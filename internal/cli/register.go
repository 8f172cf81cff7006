package cli

import (
	"context"
	"io"
	"slices"
	"sync"
)

// Command is a top-level command added to the command line with [Register],
// such as "serve".
type Command struct {
	// Name is the word that selects the command: "hallmark <Name> ...".
	Name string
	// Summary is the line that "hallmark help" shows for it.
	Summary string
	// Extends, if set, names a built-in group, such as "device", whose
	// Subcommands this command also serves: "hallmark <Extends> <sub> ..."
	// runs Run with the arguments from <sub> on, as "hallmark <Name> <sub>
	// ..." does.
	Extends     string
	Subcommands []string
	// Run runs the command with the arguments that follow its name. It
	// prints its usage on stdout for -h and returns [flag.ErrHelp]; it
	// returns a [*UsageError] for a wrong command line and an [*Error] for a
	// failure with a hint. [ParseFlags] does most of that.
	Run func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error
}

var (
	registryMu sync.Mutex
	registered []Command // guarded by registryMu
)

// Register adds a command to those [Main] runs. Call it before Main, as
// from package main. It panics if c has no name or Run function, or if its
// name is taken: those are mistakes in the program, not in its input.
func Register(c Command) {
	if c.Name == "" || c.Run == nil {
		panic("cli: Register needs a command with a name and a Run function")
	}
	if isGroup(c.Name) || c.Name == "help" {
		panic("cli: Register: " + c.Name + " is a built-in command")
	}
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, r := range registered {
		if r.Name == c.Name {
			panic("cli: Register: command " + c.Name + " is registered twice")
		}
	}
	registered = append(registered, c)
}

// extension returns the registered command that serves "hallmark group
// sub", if any.
func extension(group, sub string) (Command, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, c := range registered {
		if c.Extends == group && slices.Contains(c.Subcommands, sub) {
			return c, true
		}
	}
	return Command{}, false
}

// extensions returns the registered commands that extend group.
func extensions(group string) []Command {
	registryMu.Lock()
	defer registryMu.Unlock()
	var out []Command
	for _, c := range registered {
		if c.Extends == group {
			out = append(out, c)
		}
	}
	return out
}

func registeredCommand(name string) (Command, bool) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, c := range registered {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

func registeredCommands() []Command {
	registryMu.Lock()
	defer registryMu.Unlock()
	return append([]Command(nil), registered...)
}
