// Command payflow is payflow's one binary. Its roles are subcommands:
//
//	payflow dev        run everything locally (make run): Temporal dev server, bank
//	                   simulator, worker and API, on SQLite, until Ctrl-C
//	payflow cluster    run the production shape locally (make cluster): Temporal's
//	                   services as separate processes on PostgreSQL, two workers and
//	                   two API replicas on MariaDB, until Ctrl-C
//	payflow api        the HTTP API
//	payflow worker     the Temporal worker
//	payflow banksim    the bank simulator
//	payflow migrate    apply database migrations (and seed the demo merchant)
//	payflow pay        sign and send a card payment as a merchant
//	payflow call       sign and send any request as a merchant
//
// Configuration comes from PAYFLOW_* environment variables (docs/configuration.md);
// `payflow <command> -h` lists a command's flags and the variables it reads.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
)

const usage = `usage: payflow <command> [flags]

Processes:
  dev       run the whole local stack in the foreground (what make run does)
  cluster   run the production shape in the foreground (what make cluster does):
            a real Temporal cluster on PostgreSQL, 2 workers, 2 API replicas on MariaDB
  api       run the HTTP API
  worker    run the Temporal worker
  banksim   run the bank simulator
  migrate   apply database migrations; --seed-demo also seeds the demo merchant

Client (signs requests as a merchant; PAYFLOW_API_URL, PAYFLOW_MERCHANT_ID,
PAYFLOW_MERCHANT_SECRET default to the local demo merchant):
  pay       create a card payment: payflow pay --amount 1050 --currency CNY --token tok_success
  call      send any signed request: payflow call GET /v1/payments?limit=2

Run 'payflow <command> -h' for a command's flags and the variables it reads.
`

// command is one subcommand: what -h says of it, and its function.
type command struct {
	name string
	// args are the positional arguments after the flags, for the usage line.
	args    string
	summary string
	// config: the command reads every variable of internal/config.
	config bool
	// env are the other variables it reads, with their defaults.
	env []envVar
	run func(args []string) error
}

type envVar struct{ name, def string }

var (
	clientEnv = []envVar{
		{"PAYFLOW_API_URL", defaultAPIURL},
		{"PAYFLOW_MERCHANT_ID", "mch_demo"},
		{"PAYFLOW_MERCHANT_SECRET", "demo_secret_change_me"},
	}
	stackEnv = []envVar{
		{"PAYFLOW_DEV_VERBOSE", "(empty: logs to files)"},
		{"PAYFLOW_BIN_DIR", "bin"},
	}
)

var commands = []command{
	{name: "dev", summary: "Runs the whole local stack in the foreground until Ctrl-C (what make run does): the Temporal\ndev server and Temporal Web, stripe-mock, the bank simulator, a worker and the API, on SQLite.",
		config: true, env: stackEnv, run: runDev},
	{name: "cluster", summary: "Runs the production shape in the foreground until Ctrl-C (what make cluster does): Temporal's\nservices as separate processes on PostgreSQL, the bank simulator, 2 workers and 2 API\nreplicas on MariaDB.",
		env: append(append([]envVar{}, stackEnv...),
			envVar{"PAYFLOW_CLUSTER_TEMPORAL_PORT", "7233"},
			envVar{"PAYFLOW_CLUSTER_PG_ADDR", "127.0.0.1:5432"}, envVar{"PAYFLOW_CLUSTER_PG_USER", "root"}, envVar{"PAYFLOW_CLUSTER_PG_PASSWORD", "(empty)"},
			envVar{"MYSQL_ADDR", "127.0.0.1:3306"}, envVar{"MYSQL_USER", "root"}, envVar{"MYSQL_PASSWORD", "(empty)"}),
		run: runCluster},
	{name: "api", summary: "Runs the HTTP API until SIGINT or SIGTERM.", config: true, run: runAPI},
	{name: "worker", summary: "Runs the Temporal worker (every workflow and activity, and the background schedules) until\nSIGINT or SIGTERM.", config: true, run: runWorker},
	{name: "banksim", summary: "Runs the bank simulator until SIGINT or SIGTERM.", config: true, run: runBanksim},
	{name: "migrate", summary: "Applies the database migrations of PAYFLOW_DB_DSN; --seed-demo also creates the demo merchant.", config: true, run: runMigrate},
	{name: "pay", summary: "Creates a card (or wallet) payment signed as the merchant, prints the answer and waits for\nthe payment's final status.", env: clientEnv, run: runPay},
	{name: "call", args: "METHOD PATH [JSON_BODY]", summary: "Sends any request signed as the merchant and prints the answer,\ne.g. payflow call POST /v1/accounts '{\"currency\":\"CNY\"}'.", env: clientEnv, run: runCall},
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the command line args and returns the exit code: 0, 1 when the command
// failed, 2 for a usage error (an unknown command or flag, a bad flag value).
func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	name := args[0]
	switch name {
	case "-h", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	var cmd *command
	for i := range commands {
		if commands[i].name == name {
			cmd = &commands[i]
		}
	}
	if cmd == nil {
		fmt.Fprintf(stderr, "payflow: unknown command %q\n\n%s", name, usage)
		return 2
	}
	err := cmd.run(args[1:])
	var help helpRequest
	var bad usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &help):
		printHelp(stdout, cmd, help.fs)
		return 0
	case errors.As(err, &bad):
		fmt.Fprintf(stderr, "payflow %s: %v\nRun 'payflow %s -h' for its flags.\n", name, bad.err, name)
		return 2
	default:
		fmt.Fprintf(stderr, "payflow %s: %v\n", name, err)
		return 1
	}
}
