package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/harness/devstack"
)

// runDev is make run: the whole local stack in the foreground until Ctrl-C. Each
// process logs to .payflow/logs/<name>.log (or to the terminal with --verbose).
func runDev(args []string) error {
	fs := flag.NewFlagSet("dev", flag.ContinueOnError)
	verbose, binDir := stackFlags(fs, "the temporal CLI and stripe-mock")
	temporalPort := fs.Int("temporal-port", 7233, "Temporal frontend port")
	uiPort := fs.Int("ui-port", 8233, "Temporal Web port")
	cfg, err := loadConfig(fs, args)
	if err != nil {
		return err
	}
	log := newLogger(cfg, "dev")
	ports := []string{
		fmt.Sprintf("127.0.0.1:%d", *temporalPort), fmt.Sprintf("127.0.0.1:%d", *uiPort),
		cfg.BanksimAddr, cfg.StripeMockAddr, cfg.APIAddr,
	}
	if cfg.WorkerMetricsAddr != "off" {
		ports = append(ports, cfg.WorkerMetricsAddr)
	}
	if err := devstack.CheckPortsFree(ports...); err != nil {
		return err
	}
	logDir := filepath.Join(cfg.DataDir, "logs")
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	var procs []*devstack.Proc
	stopAll := func() {
		for i := len(procs) - 1; i >= 0; i-- {
			if err := procs[i].Stop(15 * time.Second); err != nil {
				log.WithError(err).Warn("stop")
			}
		}
	}
	defer stopAll()
	out := func(name string) (io.Writer, error) {
		f, err := os.OpenFile(filepath.Join(logDir, name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			return nil, err
		}
		if *verbose {
			return io.MultiWriter(f, os.Stdout), nil
		}
		return f, nil
	}

	fmt.Println("payflow dev: starting the Temporal dev server (state in " + filepath.Join(cfg.DataDir, "temporal.db") + ")")
	w, err := out("temporal")
	if err != nil {
		return err
	}
	// Temporal Web decodes payloads through the API's codec endpoint, from the
	// operator's browser.
	tp, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{
		Bin: filepath.Join(*binDir, "temporal"), Port: *temporalPort, UIPort: *uiPort,
		DBFile: filepath.Join(cfg.DataDir, "temporal.db"), LogLevel: "warn",
		CodecEndpoint: codecEndpoint(cfg),
	}, w)
	if err != nil {
		return err
	}
	procs = append(procs, tp)

	fmt.Println("payflow dev: starting stripe-mock on " + cfg.StripeMockAddr)
	w, err = out("stripe-mock")
	if err != nil {
		return err
	}
	sm, err := devstack.StartStripeMock(ctx, filepath.Join(*binDir, "stripe-mock"), cfg.StripeMockAddr, w)
	if err != nil {
		return err
	}
	procs = append(procs, sm)

	fmt.Println("payflow dev: migrating " + cfg.DBDSN + " and seeding the demo merchant")
	if err := migrateAndSeed(ctx, cfg, log, cfg.DemoSeed); err != nil {
		return err
	}

	env := append([]string{"PAYFLOW_TEMPORAL_ADDRESS=" + fmt.Sprintf("127.0.0.1:%d", *temporalPort)}, localUIEnv(*uiPort)...)
	env = append(env, localRedisEnv()...)
	roles := map[string]*devstack.Proc{}
	for _, role := range []string{"banksim", "worker", "api"} {
		w, err := out(role)
		if err != nil {
			return err
		}
		p, err := devstack.Start(role, self, []string{role}, env, w)
		if err != nil {
			return err
		}
		procs = append(procs, p)
		roles[role] = p
	}
	if err := devstack.WaitHTTP(ctx, "http://"+cfg.BanksimAddr+"/healthz", roles["banksim"], 30*time.Second); err != nil {
		return fmt.Errorf("%w (see %s)", err, filepath.Join(logDir, "banksim.log"))
	}
	if err := devstack.WaitHTTP(ctx, "http://"+cfg.APIAddr+"/readyz", roles["api"], 60*time.Second); err != nil {
		return fmt.Errorf("%w (see %s)", err, filepath.Join(logDir, "api.log"))
	}
	printTryIt(cfg, *uiPort, logDir, selfCommand(self))

	// Run until Ctrl-C, or until a process dies (then stop the rest and say so).
	if p := awaitExit(ctx, procs); p != nil {
		return fmt.Errorf("%s exited (%v); stopping the rest (see %s)", p.Name, p.Err(), filepath.Join(logDir, p.Name+".log"))
	}
	fmt.Println("\npayflow dev: stopping every process...")
	return nil
}

// stackFlags defines the flags of make run and make cluster: --verbose and --bin,
// the directory holding the binaries named by holds.
func stackFlags(fs *flag.FlagSet, holds string) (verbose *bool, binDir *string) {
	verbose = fs.Bool("verbose", os.Getenv("PAYFLOW_DEV_VERBOSE") != "", "stream every process's log to the terminal")
	binDir = fs.String("bin", envOr("PAYFLOW_BIN_DIR", "bin"), "directory holding "+holds)
	return verbose, binDir
}

// awaitExit blocks until ctx ends (it returns nil) or one of procs exits (it
// returns that one).
func awaitExit(ctx context.Context, procs []*devstack.Proc) *devstack.Proc {
	died := make(chan *devstack.Proc, len(procs))
	for _, p := range procs {
		go func() {
			<-p.Done()
			died <- p
		}()
	}
	select {
	case <-ctx.Done():
		return nil
	case p := <-died:
		return p
	}
}

// codecEndpoint is where Temporal Web sends payloads to decode: the API's /codec, on
// the operators' listener when PAYFLOW_OPS_ADDR gives them their own.
func codecEndpoint(cfg config.Config) string {
	if cfg.OpsAddr != cfg.APIAddr {
		return "http://" + cfg.OpsAddr + "/codec"
	}
	return strings.TrimRight(cfg.PublicURL, "/") + "/codec"
}

// localRedisEnv points the processes at the Redis on 127.0.0.1:6379 as the cache
// when one answers there and PAYFLOW_REDIS_URL is not set; without it, each process
// keeps an in-process cache (the same interface; a cache is never storage).
func localRedisEnv() []string {
	if os.Getenv("PAYFLOW_REDIS_URL") != "" {
		return nil
	}
	c, err := net.DialTimeout("tcp", localRedisAddr, 300*time.Millisecond)
	if err != nil {
		fmt.Println("payflow dev: no Redis on " + localRedisAddr + ": the worker caches in process")
		return nil
	}
	_ = c.Close()
	fmt.Println("payflow dev: caching in the Redis on " + localRedisAddr)
	return []string{"PAYFLOW_REDIS_URL=redis://" + localRedisAddr + "/0"}
}

const localRedisAddr = "127.0.0.1:6379"

// localUIEnv lets the API's codec endpoint serve the local Temporal Web, which has
// no login and so sends no ops token: requests from loopback with the Web UI's
// origin (on the port it really runs on) are trusted. A setting in the environment
// wins.
func localUIEnv(uiPort int) []string {
	var env []string
	if os.Getenv("PAYFLOW_CODEC_TRUST_LOCAL_UI") == "" {
		env = append(env, "PAYFLOW_CODEC_TRUST_LOCAL_UI=true")
	}
	if os.Getenv("PAYFLOW_CODEC_ALLOWED_ORIGINS") == "" {
		env = append(env, fmt.Sprintf("PAYFLOW_CODEC_ALLOWED_ORIGINS=http://127.0.0.1:%[1]d,http://localhost:%[1]d", uiPort))
	}
	return env
}

// selfCommand is how the try-it lines run this binary: its path relative to the
// working directory (./bin/payflow under make run), or go run when it was built
// elsewhere (go run ./cmd/payflow dev).
func selfCommand(self string) string {
	wd, err := os.Getwd()
	if err != nil {
		return "go run ./cmd/payflow"
	}
	rel, err := filepath.Rel(wd, self)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) || filepath.IsAbs(rel) {
		return "go run ./cmd/payflow"
	}
	return "." + string(filepath.Separator) + rel
}

func printTryIt(cfg config.Config, uiPort int, logDir, payflow string) {
	fmt.Printf(`
payflow is running:
  API            http://%[1]s          (health: /healthz, readiness: /readyz)
  Temporal Web   http://127.0.0.1:%[2]d
  bank simulator http://%[3]s
  stripe-mock    http://%[9]s   (channel "stripe"; "auto" routes by PAYFLOW_AUTO_ROUTES)
  metrics        http://%[1]s/metrics, worker http://%[10]s/metrics
  logs           %[4]s/*.log
  demo merchant  %[5]s, secret %[6]s, webhook secret %[13]s; ops token %[7]s

Try it (in another terminal):
  %[12]s pay --amount 1050 --currency CNY --token tok_success
  %[12]s pay --amount 1050 --currency CNY --token tok_decline
  %[12]s pay --amount 1050 --currency CNY --token tok_visa --channel stripe
  %[12]s pay --amount 1050 --currency CNY --token tok_success --channel auto
  %[12]s pay --amount 1888 --qr                        (in store: open the URL it prints with curl -si -A AlipayClient)
  %[12]s pay --amount 1050 --code 281234567890123450   (a customer's payment code; each code pays once)
  %[12]s call GET '/v1/payments?limit=5'
  %[12]s call POST /v1/verifications '{"type":"bank_card","card_number":"6222021000000000017","name":"张三"}'
                                                       (a card verification, billed from the settlement balance the
                                                        first payment made; binding a card and credit reports: docs/identity.md)
  curl -s -H 'Authorization: Bearer %[7]s' http://%[1]s/v1/ops/ledger/check

Then open Temporal Web and search: PayflowMerchant="%[5]s" AND PayflowFlow="payment"
Payloads are encrypted in Temporal; Temporal Web shows them decrypted through
%[11]s. From the CLI:
  ./bin/temporal workflow show -w <workflow id> --codec-endpoint %[11]s --codec-auth 'Bearer %[7]s'
Ctrl-C stops everything; data stays in %[8]s for the next make run.
`, cfg.APIAddr, uiPort, cfg.BanksimAddr, logDir, cfg.DemoMerchantID, cfg.DemoMerchantSecret, cfg.OpsTokens[0], cfg.DataDir, cfg.StripeMockAddr,
		cfg.WorkerMetricsAddr, codecEndpoint(cfg), payflow, cfg.DemoWebhookSecret)
}
