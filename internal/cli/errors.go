package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// Error is a failure to show the user, with a hint where a likely fix
// exists. [Main] prints it as "hallmark: error: ..." and "hallmark: hint:
// ..." and exits 1.
type Error struct {
	Msg  string // what failed, lowercase
	Hint string // what to try, or ""
	Err  error  // the cause, or nil; its text follows Msg
}

func (e *Error) Error() string {
	switch {
	case e.Err == nil:
		return e.Msg
	case e.Msg == "":
		return e.Err.Error()
	}
	return e.Msg + ": " + e.Err.Error()
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) hint() string { return e.Hint }

// UsageError reports a command line that cannot run: an unknown command or
// flag, a missing or extra argument, a bad flag value. [Main] exits 2.
type UsageError struct {
	Msg  string
	Hint string
}

func (e *UsageError) Error() string { return e.Msg }

func (e *UsageError) hint() string { return e.Hint }

// report prints err, if any, and returns the exit status it calls for.
func report(w io.Writer, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return 0
	}
	fmt.Fprintf(w, "hallmark: error: %v\n", err)
	var api *apiError
	if errors.As(err, &api) {
		for _, l := range api.Lines {
			fmt.Fprintf(w, "  line %d: %s: %s\n", l.Line, l.Code, l.Message)
		}
		if api.MoreLines > 0 {
			fmt.Fprintf(w, "  and %d more invalid lines\n", api.MoreLines)
		}
	}
	if h := hintOf(err); h != "" {
		fmt.Fprintf(w, "hallmark: hint: %s\n", h)
	}
	var usage *UsageError
	if errors.As(err, &usage) {
		return 2
	}
	return 1
}

// hintOf returns the first hint along the chain of err.
func hintOf(err error) string {
	for ; err != nil; err = errors.Unwrap(err) {
		if h, ok := err.(interface{ hint() string }); ok && h.hint() != "" {
			return h.hint()
		}
	}
	return ""
}
