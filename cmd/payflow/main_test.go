package main

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/config"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// Every subcommand: -h exits 0 and lists the command's flags and the variables it
// reads; an unknown flag and a bad flag value are reported once, with exit code 2,
// and nothing runs.
func TestSubcommandHelpAndFlagErrors(t *testing.T) {
	tests := map[string]struct {
		flags    []string // flags -h must list (besides what the flag set defines)
		env      []string // variables -h must list besides internal/config's
		config   bool     // lists every variable of internal/config
		badValue []string // a command line with a bad flag value
		badText  string   // how the bad value is reported
	}{
		"dev":     {flags: []string{"-verbose", "-bin", "-temporal-port", "-ui-port"}, env: []string{"PAYFLOW_DEV_VERBOSE", "PAYFLOW_BIN_DIR"}, config: true, badValue: []string{"--temporal-port", "x"}, badText: `invalid value "x" for flag -temporal-port`},
		"cluster": {flags: []string{"-verbose", "-bin", "-data", "-temporal-port"}, env: []string{"PAYFLOW_BIN_DIR", "PAYFLOW_CLUSTER_TEMPORAL_PORT", "PAYFLOW_CLUSTER_PG_ADDR", "MYSQL_ADDR"}, badValue: []string{"--temporal-port=seven"}, badText: `invalid value "seven" for flag -temporal-port`},
		"api":     {config: true, badValue: []string{"extra"}, badText: `unexpected argument "extra"`},
		"worker":  {config: true, badValue: []string{"extra"}, badText: `unexpected argument "extra"`},
		"banksim": {config: true, badValue: []string{"extra"}, badText: `unexpected argument "extra"`},
		"migrate": {flags: []string{"-seed-demo"}, config: true, badValue: []string{"--seed-demo=maybe"}, badText: `invalid boolean value "maybe" for -seed-demo`},
		"pay":     {flags: []string{"-amount", "-currency", "-token", "-account", "-channel", "-notify-url", "-idempotency-key", "-wait", "-api"}, env: []string{"PAYFLOW_API_URL", "PAYFLOW_MERCHANT_ID", "PAYFLOW_MERCHANT_SECRET"}, badValue: []string{"--amount", "ten"}, badText: `invalid value "ten" for flag -amount`},
		"call":    {flags: []string{"-idempotency-key", "-api"}, env: []string{"PAYFLOW_API_URL", "PAYFLOW_MERCHANT_ID", "PAYFLOW_MERCHANT_SECRET"}, badValue: []string{"--idempotency-key"}, badText: "flag needs an argument: -idempotency-key"},
	}
	require.Len(t, tests, len(commands), "a case for every subcommand")
	for _, cmd := range commands {
		tc, ok := tests[cmd.name]
		require.True(t, ok, "no case for %s", cmd.name)
		t.Run(cmd.name, func(t *testing.T) {
			for _, h := range []string{"-h", "--help"} {
				code, out, errOut := runCLI(cmd.name, h)
				require.Equal(t, 0, code, errOut)
				require.Empty(t, errOut)
				require.True(t, strings.HasPrefix(out, "usage: payflow "+cmd.name+" "), out)
				// Every flag the command defines, and the ones the case names.
				var help helpRequest
				require.True(t, errors.As(cmd.run([]string{"-h"}), &help))
				listsFlag := func(name string) bool {
					return strings.Contains(out, "\n  -"+name+" ") || strings.Contains(out, "\n  -"+name+"\n")
				}
				help.fs.VisitAll(func(f *flag.Flag) { require.True(t, listsFlag(f.Name), "flag -%s not listed:\n%s", f.Name, out) })
				for _, f := range tc.flags {
					require.True(t, listsFlag(strings.TrimPrefix(f, "-")), "flag %s not listed:\n%s", f, out)
				}
				for _, v := range tc.env {
					require.Contains(t, out, "  "+v+" ")
				}
				for _, v := range config.Variables {
					if tc.config {
						require.Contains(t, out, "  "+v.Name+" ")
					} else {
						require.NotContains(t, out, v.Name+" ", "%s does not read internal/config", cmd.name)
					}
				}
			}

			code, out, errOut := runCLI(cmd.name, "--no-such-flag")
			require.Equal(t, 2, code)
			require.Empty(t, out)
			require.Equal(t, 1, strings.Count(errOut, "flag provided but not defined: -no-such-flag"), errOut)
			require.Contains(t, errOut, "Run 'payflow "+cmd.name+" -h'")

			code, out, errOut = runCLI(append([]string{cmd.name}, tc.badValue...)...)
			require.Equal(t, 2, code, errOut)
			require.Empty(t, out)
			require.Equal(t, 1, strings.Count(errOut, tc.badText), errOut)
			require.Equal(t, 1, strings.Count(errOut, "payflow "+cmd.name+":"), "reported once: %s", errOut)
		})
	}
}

// A URL without its scheme is refused with a message that says so, whether it comes
// from --api or PAYFLOW_API_URL, before any request is sent.
func TestClientURLWithoutScheme(t *testing.T) {
	tests := []struct {
		name string
		env  string
		args []string
		want string
	}{
		{"pay --api", "", []string{"pay", "--api", "localhost:8080", "--amount", "1050"}, `--api "localhost:8080" has no scheme: write http://localhost:8080`},
		{"call --api", "", []string{"call", "--api", "127.0.0.1:8080", "GET", "/v1/payments"}, `--api "127.0.0.1:8080" has no scheme: write http://127.0.0.1:8080`},
		{"pay PAYFLOW_API_URL", "localhost:8080", []string{"pay", "--amount", "1050"}, `PAYFLOW_API_URL "localhost:8080" has no scheme`},
		{"call PAYFLOW_API_URL", "api.example.com", []string{"call", "GET", "/v1/payments"}, `PAYFLOW_API_URL "api.example.com" has no scheme`},
		{"pay --notify-url", "", []string{"pay", "--amount", "1050", "--notify-url", "hooks.example.com/payflow"}, `--notify-url "hooks.example.com/payflow" has no scheme`},
		{"another scheme", "", []string{"pay", "--api", "ftp://localhost:8080", "--amount", "1050"}, `--api "ftp://localhost:8080" is not an http:// or https:// URL`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PAYFLOW_API_URL", tc.env)
			code, out, errOut := runCLI(tc.args...)
			require.Equal(t, 2, code, errOut)
			require.Empty(t, out)
			require.Equal(t, 1, strings.Count(errOut, tc.want), errOut)
		})
	}
}

func TestTopLevelUsage(t *testing.T) {
	code, out, _ := runCLI("-h")
	require.Equal(t, 0, code)
	for _, cmd := range commands {
		require.Contains(t, out, "\n  "+cmd.name+" ")
	}
	code, _, errOut := runCLI()
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "usage: payflow <command>")
	code, _, errOut = runCLI("nope")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, `unknown command "nope"`)
}

// The try-it lines of make run name the binary that runs, relative to the working
// directory, and go run when it was built elsewhere.
func TestSelfCommand(t *testing.T) {
	wd, err := os.Getwd()
	require.NoError(t, err)
	require.Equal(t, "./bin/payflow", selfCommand(filepath.Join(wd, "bin", "payflow")))
	require.Equal(t, "go run ./cmd/payflow", selfCommand(filepath.Join(filepath.Dir(wd), "elsewhere", "payflow")))
}
