package cli

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
)

func init() {
	// A command that also serves subcommands of a built-in group, as the
	// device agent serves "hallmark device attest".
	Register(Command{
		Name: "test-agent", Summary: "a registered extension of the tests",
		Extends: "tenant", Subcommands: []string{"test-sub"},
		Run: func(_ context.Context, args []string, _ io.Reader, stdout, _ io.Writer) error {
			fmt.Fprintf(stdout, "args %q\n", args)
			return nil
		},
	})
}

func TestGroupExtension(t *testing.T) {
	var out, errw strings.Builder
	code := Main(context.Background(), []string{"tenant", "test-sub", "x"},
		strings.NewReader(""), &out, &errw)
	if code != 0 || out.String() != `args ["test-sub" "x"]`+"\n" {
		t.Fatalf("tenant test-sub x: exit %d, stdout %q, stderr %q", code, out.String(),
			errw.String())
	}
	out.Reset()
	Main(context.Background(), []string{"tenant", "-h"}, strings.NewReader(""), &out, &errw)
	if !strings.Contains(out.String(), "test-sub") {
		t.Errorf("group help does not list the extension:\n%s", out.String())
	}
	code = Main(context.Background(), []string{"tenant", "other"}, strings.NewReader(""),
		&out, &errw)
	if code != 2 {
		t.Errorf("an unknown subcommand exits %d, want 2", code)
	}
}
