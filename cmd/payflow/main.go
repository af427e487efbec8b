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
// Configuration comes from PAYFLOW_* environment variables (see README).
package main

import (
	"fmt"
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
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "dev":
		err = runDev(args)
	case "cluster":
		err = runCluster(args)
	case "api":
		err = runAPI(args)
	case "worker":
		err = runWorker(args)
	case "banksim":
		err = runBanksim(args)
	case "migrate":
		err = runMigrate(args)
	case "pay":
		err = runPay(args)
	case "call":
		err = runCall(args)
	case "-h", "--help", "help":
		fmt.Print(usage)
		return
	default:
		fmt.Fprintf(os.Stderr, "payflow: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "payflow %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}
