package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
)

// leaf is one admin API command, such as "tenant create".
type leaf struct {
	group   string // "tenant"
	name    string // "create"; "" for a command without subcommands
	args    string // the positional arguments in usage, such as "NAME"
	summary string
	run     func(ctx context.Context, s *session) error
}

// path is the command as typed after "hallmark".
func (l leaf) path() string {
	if l.name == "" {
		return l.group
	}
	return l.group + " " + l.name
}

// leaves lists the admin API commands in the order help shows them.
var leaves = []leaf{
	{"whoami", "", "", "show the role and tenant of the token", runWhoami},

	{"tenant", "create", "NAME", "create a tenant and its CA", runTenantCreate},
	{"tenant", "list", "", "list the tenants", runTenantList},
	{"tenant", "show", "[ID]", "show a tenant; default: the token's own", runTenantShow},

	{"token", "create", "", "create a token and print its secret once", runTokenCreate},
	{"token", "list", "", "list tokens", runTokenList},
	{"token", "revoke", "ID", "revoke a token", runTokenRevoke},

	{"device", "register", "FILE|-", "register a batch of device IDs (CSV or JSON lines)",
		runDeviceRegister},
	{"device", "list", "", "list devices", runDeviceList},
	{"device", "show", "ID", "show a device", runDeviceShow},
	{"device", "block", "ID", "block a device", runDeviceBlock},
	{"device", "unblock", "ID", "unblock a device", runDeviceUnblock},
	{"device", "claim", "ID", "claim a registered device for a tenant", runDeviceClaim},

	{"ca", "list", "", "list the tenant's CA certificates", runCAList},
	{"ca", "download", "", "download a tenant CA certificate", runCADownload},
	{"ca", "download-chain", "", "download a tenant CA's chain", runCADownloadChain},
	{"ca", "download-proof", "", "get a proof-of-possession certificate for a verification code",
		runCADownloadProof},

	{"catalogue", "publish", "FILE|-", "publish the trusted software catalogue (JSON)",
		runCataloguePublish},
	{"catalogue", "show", "", "show the current trusted software catalogue", runCatalogueShow},

	{"issuance", "list", "", "list the tenant's issued device certificates, newest first",
		runIssuanceList},

	{"audit", "list", "", "list audit log entries, newest first", runAuditList},
}

func isGroup(name string) bool {
	return slices.ContainsFunc(leaves, func(l leaf) bool { return l.group == name })
}

func findLeaf(group, name string) (leaf, bool) {
	for _, l := range leaves {
		if l.group == group && l.name == name {
			return l, true
		}
	}
	return leaf{}, false
}

// commandNames lists every top-level command, registered ones first.
func commandNames() []string {
	var names []string
	for _, c := range registeredCommands() {
		names = append(names, c.Name)
	}
	for _, l := range leaves {
		if !slices.Contains(names, l.group) {
			names = append(names, l.group)
		}
	}
	return append(names, "help")
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "usage: hallmark <command> [arguments] [flags]\n\n"+
		"Hallmark is a device identity and attestation platform.\n")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if cs := registeredCommands(); len(cs) > 0 {
		fmt.Fprint(tw, "\nserver commands:\n")
		for _, c := range cs {
			fmt.Fprintf(tw, "  %s\t%s\n", c.Name, c.Summary)
		}
	}
	fmt.Fprint(tw, "\nadmin API commands:\n")
	for _, l := range leaves {
		fmt.Fprintf(tw, "  %s\t%s\n", joinNonEmpty(l.path(), l.args), l.summary)
	}
	_ = tw.Flush() // errors writing the usage have nowhere to go
	fmt.Fprint(w, "\nRun 'hallmark <command> -h' for the flags of a command.\n"+
		"Admin API commands connect with --server, --token, --ca-file and --data-dir,\n"+
		"or HALLMARK_SERVER, HALLMARK_TOKEN, HALLMARK_CA_FILE and HALLMARK_DATA_DIR;\n"+
		"--output json (HALLMARK_OUTPUT) prints the API's JSON answers.\n")
}

func printGroupUsage(w io.Writer, group string) {
	fmt.Fprintf(w, "usage: hallmark %s <command> [arguments] [flags]\n\ncommands:\n", group)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, l := range leaves {
		if l.group == group {
			fmt.Fprintf(tw, "  %s\t%s\n", joinNonEmpty(l.name, l.args), l.summary)
		}
	}
	for _, c := range extensions(group) {
		for _, sub := range c.Subcommands {
			fmt.Fprintf(tw, "  %s\tdevice side: the same as 'hallmark %s %s'\n", sub,
				c.Name, sub)
		}
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\nRun 'hallmark %s <command> -h' for the flags of a command.\n", group)
}

func joinNonEmpty(a, b string) string {
	if b == "" {
		return a
	}
	return a + " " + b
}
