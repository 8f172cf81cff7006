package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
)

// Defaults of the connection flags.
const (
	defaultServer  = "https://localhost:8443"
	defaultDataDir = "hallmark-data"
)

// connFlags are the flags every admin API command takes.
type connFlags struct {
	server  string
	token   string
	caFile  string
	dataDir string
	output  string
}

var connFlagNames = []string{"server", "token", "ca-file", "data-dir", "output"}

func (c *connFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", "",
		"admin API `URL` (HALLMARK_SERVER; default "+defaultServer+")")
	fs.StringVar(&c.token, "token", "",
		"admin `TOKEN`; prefer HALLMARK_TOKEN, which keeps the secret out of\n"+
			"shell history and the process list")
	fs.StringVar(&c.caFile, "ca-file", "",
		"PEM `FILE` of the certificate to trust for the server's TLS certificate\n"+
			"(HALLMARK_CA_FILE; default DIR/tls/admin.crt of --data-dir if it\n"+
			"exists, else the system's roots)")
	fs.StringVar(&c.dataDir, "data-dir", "",
		"the server's data `DIR`, for the default --ca-file\n"+
			"(HALLMARK_DATA_DIR; default "+defaultDataDir+")")
	fs.StringVar(&c.output, "output", "",
		"output `FORMAT`: text or json, the API's own JSON (HALLMARK_OUTPUT;\n"+
			"default text)")
}

// resolve fills each flag not given from its environment variable, then
// from its default.
func (c *connFlags) resolve(getenv func(string) string) error {
	pick := func(v *string, env, def string) {
		if *v == "" {
			*v = getenv(env)
		}
		if *v == "" {
			*v = def
		}
	}
	pick(&c.server, "HALLMARK_SERVER", defaultServer)
	pick(&c.token, "HALLMARK_TOKEN", "")
	pick(&c.caFile, "HALLMARK_CA_FILE", "")
	pick(&c.dataDir, "HALLMARK_DATA_DIR", defaultDataDir)
	pick(&c.output, "HALLMARK_OUTPUT", "text")
	if c.output != "text" && c.output != "json" {
		return &UsageError{Msg: fmt.Sprintf("unknown output format %q", c.output),
			Hint: "use --output text or --output json (or HALLMARK_OUTPUT)"}
	}
	return nil
}

// session is one run of an admin API command: its flags, its output, and
// its client once the flags are parsed.
type session struct {
	*process
	leaf leaf
	fs   *flag.FlagSet
	conn connFlags
	args []string // the arguments after the command's name

	api *client
	who *whoamiJSON // the answer of whoami, once asked
}

func newSession(p *process, l leaf) *session {
	s := &session{process: p, leaf: l, fs: flag.NewFlagSet(l.path(), flag.ContinueOnError)}
	s.conn.define(s.fs)
	return s
}

// run runs the command. The command defines its own flags on s.fs, then
// calls s.parse.
func (s *session) run(ctx context.Context, args []string) error {
	s.args = args
	return s.leaf.run(ctx, s)
}

// parse parses the command line, which must have from least to most
// positional arguments, and connects the client. It prints the usage for -h.
func (s *session) parse(least, most int) ([]string, error) {
	if err := ParseFlags(s.fs, s.args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			s.usage(s.stdout)
		}
		return nil, err
	}
	pos := s.fs.Args()
	usage := "usage: hallmark " + joinNonEmpty(s.leaf.path(), s.leaf.args) + " [flags]"
	switch {
	case len(pos) < least:
		return nil, &UsageError{Msg: "missing " + s.leaf.args, Hint: usage}
	case len(pos) > most:
		return nil, &UsageError{Msg: fmt.Sprintf("unexpected argument %q", pos[most]),
			Hint: usage}
	}

	if err := s.conn.resolve(s.getenv); err != nil {
		return nil, err
	}
	api, err := newClient(s.conn)
	if err != nil {
		return nil, err
	}
	s.api = api
	return pos, nil
}

func (s *session) usage(w io.Writer) {
	fmt.Fprintf(w, "usage: hallmark %s [flags]\n\n%s\n",
		joinNonEmpty(s.leaf.path(), s.leaf.args), s.leaf.summary)
	own := func(name string) bool { return !slices.Contains(connFlagNames, name) }
	if hasFlag(s.fs, own) {
		fmt.Fprint(w, "\nflags:\n")
		printFlags(w, s.fs, own)
	}
	fmt.Fprint(w, "\nconnection flags:\n")
	printFlags(w, s.fs, func(name string) bool { return !own(name) })
}

func hasFlag(fs *flag.FlagSet, keep func(string) bool) bool {
	found := false
	fs.VisitAll(func(f *flag.Flag) { found = found || keep(f.Name) })
	return found
}

// jsonOutput reports whether the user asked for the API's JSON.
func (s *session) jsonOutput() bool { return s.conn.output == "json" }

// show prints raw, an API answer, as-is for --output json; otherwise it
// calls text to print it for people.
func (s *session) show(raw []byte, text func(w io.Writer) error) error {
	if s.jsonOutput() {
		return writeJSONOut(s.stdout, raw)
	}
	return text(s.stdout)
}

// whoami asks the server who the token is, and remembers the answer.
func (s *session) whoami(ctx context.Context) (*whoamiJSON, []byte, error) {
	var w whoamiJSON
	raw, err := s.api.call(ctx, "GET", "/api/v1/whoami", nil, nil, &w)
	if err != nil {
		return nil, nil, err
	}
	s.who = &w
	return &w, raw, nil
}

// tenant returns flagValue if set, else the tenant of the token. A token
// without a tenant is an error whose hint is to pass the tenant.
func (s *session) tenant(ctx context.Context, flagValue, hint string) (string, error) {
	if flagValue != "" {
		return flagValue, nil
	}
	t, err := s.tokenTenant(ctx)
	if err != nil {
		return "", err
	}
	if t == "" {
		return "", &Error{Msg: fmt.Sprintf("the %s token belongs to no tenant", s.who.Role),
			Hint: hint}
	}
	return t, nil
}

// tokenTenant returns the tenant of the token, or "" for a token without one.
func (s *session) tokenTenant(ctx context.Context) (string, error) {
	if s.who == nil {
		if _, _, err := s.whoami(ctx); err != nil {
			return "", err
		}
	}
	return s.who.TenantID, nil
}
