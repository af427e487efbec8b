package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/payflow/payflow/internal/config"
)

// helpRequest is a command's -h: run prints the command's help and exits 0.
type helpRequest struct{ fs *flag.FlagSet }

func (helpRequest) Error() string { return "help requested" }

// usageError is a command line the command cannot run (a flag it does not know, a
// bad flag value, a missing argument): run prints it once and exits 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }

// parseFlags parses a command's flags without the flag package's own printing (which
// would report a bad value a second time, and print the usage to stderr): -h is a
// helpRequest, any other failure a usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return helpRequest{fs}
		}
		return usageError{err}
	}
	return nil
}

// printHelp is a command's -h: its usage line, what it does, its flags and the
// variables it reads.
func printHelp(w io.Writer, cmd *command, fs *flag.FlagSet) {
	line := "usage: payflow " + cmd.name + " [flags]"
	if cmd.args != "" {
		line += " " + cmd.args
	}
	fmt.Fprintf(w, "%s\n\n%s\n", line, cmd.summary)
	hasFlags := false
	fs.VisitAll(func(*flag.Flag) { hasFlags = true })
	if hasFlags {
		fmt.Fprintln(w, "\nFlags:")
		fs.SetOutput(w)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	} else {
		fmt.Fprintln(w, "\nFlags: none.")
	}
	if len(cmd.env) > 0 {
		fmt.Fprintln(w, "\nEnvironment (variable, default):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, e := range cmd.env {
			fmt.Fprintf(tw, "  %s\t%s\n", e.name, e.def)
		}
		tw.Flush()
	}
	if cmd.config {
		fmt.Fprintln(w, "\nConfiguration (variable, default; docs/configuration.md says what each means):")
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, v := range config.Variables {
			def := v.Default
			if def == "" {
				def = "(empty)"
			}
			fmt.Fprintf(tw, "  %s\t%s\n", v.Name, def)
		}
		tw.Flush()
	}
}

// checkURL refuses what is not an http(s) URL with a host, and says what is missing:
// "localhost:8080" parses as a URL of scheme "localhost", so it is checked here rather
// than found out as a confusing error of the HTTP client. what names where the value
// came from (a flag or a variable).
func checkURL(what, raw string) (string, error) {
	u, err := url.Parse(raw)
	if err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" {
		return strings.TrimRight(raw, "/"), nil
	}
	if !strings.Contains(raw, "://") {
		return "", usageError{fmt.Errorf("%s %q has no scheme: write http://%s (or https://)", what, raw, raw)}
	}
	return "", usageError{fmt.Errorf("%s %q is not an http:// or https:// URL with a host", what, raw)}
}

// flagSet reports whether the flag name was given on the command line.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
