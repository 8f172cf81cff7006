package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// ParseFlags parses args with fs and, unlike fs.Parse, allows flags after
// positional arguments: "ID --tenant T" parses as "--tenant T ID". An
// argument "--" ends the flags; "-" alone is positional. Afterwards fs.Args
// holds the positional arguments.
//
// ParseFlags prints nothing. It returns [flag.ErrHelp] for -h or --help and
// a [*UsageError] for a bad flag, whose hint names "hallmark <fs.Name()> -h";
// so fs.Name() should be the command as typed, such as "device claim".
func ParseFlags(fs *flag.FlagSet, args []string) error {
	out := fs.Output()
	fs.SetOutput(io.Discard)
	defer fs.SetOutput(out)

	reordered, err := interspersed(fs, args)
	if err == nil {
		err = fs.Parse(reordered)
	}
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return err
	}
	return &UsageError{Msg: err.Error(),
		Hint: fmt.Sprintf("run 'hallmark %s -h' for its flags", fs.Name())}
}

// interspersed reorders args so that the flags of fs come first, then "--",
// then the positional arguments. A last flag that lacks its value is an
// error: after reordering it would take "--" as its value.
func interspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			pos = append(pos, args[i+1:]...)
			i = len(args)
		case len(a) < 2 || a[0] != '-':
			pos = append(pos, a)
		default:
			flags = append(flags, a)
			name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
			if strings.Contains(name, "=") || !takesValue(fs, name) {
				continue
			}
			if i+1 == len(args) {
				return nil, fmt.Errorf("flag needs an argument: %s", a)
			}
			i++
			flags = append(flags, args[i])
		}
	}
	return append(append(flags, "--"), pos...), nil
}

// takesValue reports whether the flag name is defined in fs and needs a
// value in the next argument.
func takesValue(fs *flag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	if f == nil {
		return false
	}
	b, ok := f.Value.(interface{ IsBoolFlag() bool })
	return !ok || !b.IsBoolFlag()
}

// printFlags prints the flags of fs for which keep is true, one paragraph
// each, in the style of flag.PrintDefaults but with double dashes.
func printFlags(w io.Writer, fs *flag.FlagSet, keep func(name string) bool) {
	fs.VisitAll(func(f *flag.Flag) {
		if !keep(f.Name) {
			return
		}
		arg, usage := flag.UnquoteUsage(f)
		fmt.Fprintf(w, "  --%s", joinNonEmpty(f.Name, arg))
		fmt.Fprintf(w, "\n    \t%s", strings.ReplaceAll(usage, "\n", "\n    \t"))
		switch f.DefValue {
		case "", "0", "false":
		default:
			fmt.Fprintf(w, " (default %s)", f.DefValue)
		}
		fmt.Fprintln(w)
	})
}
