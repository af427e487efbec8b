package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/models"
)

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// defaultAPIURL is make run's API.
const defaultAPIURL = "http://127.0.0.1:8080"

// apiFlag is the --api flag of the client commands, PAYFLOW_API_URL by default.
func apiFlag(fs *flag.FlagSet) *string {
	return fs.String("api", envOr("PAYFLOW_API_URL", defaultAPIURL), "the API's URL, with its scheme (http://host:port)")
}

// newClient signs as PAYFLOW_MERCHANT_ID with PAYFLOW_MERCHANT_SECRET (the demo
// merchant by default) against the --api URL, which must have its scheme.
func newClient(fs *flag.FlagSet, api string) (*client.Client, error) {
	what := "--api"
	if !flagSet(fs, "api") {
		what = "PAYFLOW_API_URL"
	}
	base, err := checkURL(what, api)
	if err != nil {
		return nil, err
	}
	return client.New(base, envOr("PAYFLOW_MERCHANT_ID", "mch_demo"), envOr("PAYFLOW_MERCHANT_SECRET", "demo_secret_change_me")), nil
}

func printResponse(r *client.Response) {
	var out bytes.Buffer
	if json.Indent(&out, r.Body, "", "  ") != nil {
		out.Write(r.Body)
	}
	fmt.Printf("HTTP %d\n%s\n", r.Status, out.String())
}

func runPay(args []string) error {
	fs := flag.NewFlagSet("pay", flag.ContinueOnError)
	amount := fs.Int64("amount", 0, "amount in minor units (1050 = 10.50 CNY)")
	currency := fs.String("currency", "CNY", "ISO 4217 currency code")
	token := fs.String("token", "tok_success", "card token (tok_success, tok_decline, tok_processing, ...)")
	account := fs.String("account", "", "pay from this wallet (acct_...) instead of a card")
	code := fs.String("code", "", "pay with the payment code a customer's app shows (18 digits: 99... a payflow wallet's, 25-30... alipaysim, 10-15... wxpaysim)")
	qr := fs.Bool("qr", false, "show a QR code for the customer's wallet app to scan (printed here), and wait until it is paid or expires")
	expiresIn := fs.Duration("expires-in", 0, "with --qr: how long the code is offered (60s-900s; default the server's 120s)")
	channel := fs.String("channel", "", "bank channel (default: the server's)")
	notify := fs.String("notify-url", "", "webhook URL for the payment's outcome")
	key := fs.String("idempotency-key", "", "Idempotency-Key (default: a new one)")
	wait := fs.Duration("wait", 30*time.Second, "wait this long for a final status (0: do not wait)")
	api := apiFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *amount <= 0 {
		return usageError{fmt.Errorf("--amount is required: a positive number of minor units, like 1050")}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q (flags only)", fs.Arg(0))}
	}
	if *notify != "" {
		if _, err := checkURL("--notify-url", *notify); err != nil {
			return err
		}
	}
	sources := 0
	for _, set := range []bool{*account != "", *code != "", *qr} {
		if set {
			sources++
		}
	}
	if sources > 1 {
		return usageError{fmt.Errorf("give at most one of --account, --code and --qr")}
	}
	if *expiresIn != 0 && (!*qr || *expiresIn < models.MinQRExpiresIn || *expiresIn > models.MaxQRExpiresIn) {
		return usageError{fmt.Errorf("--expires-in goes with --qr and is from 60s to 900s")}
	}
	c, err := newClient(fs, *api)
	if err != nil {
		return err
	}
	body := map[string]any{"amount": *amount, "currency": *currency}
	switch {
	case *account != "":
		body["source"] = map[string]any{"type": "account", "account_id": *account}
	case *code != "":
		body["source"] = map[string]any{"type": "payment_code", "code": *code}
	case *qr:
		src := map[string]any{"type": "qr"}
		if *expiresIn > 0 {
			src["expires_in"] = int64(*expiresIn / time.Second)
		}
		body["source"] = src
		if *wait == 30*time.Second {
			// A QR code waits for its customer: until it expires.
			*wait = models.MaxQRExpiresIn + 30*time.Second
		}
	default:
		body["source"] = map[string]any{"type": "card", "token": *token}
	}
	if *channel != "" {
		body["channel"] = *channel
	}
	if *notify != "" {
		body["notify_url"] = *notify
	}
	if *key == "" {
		*key = "cli-" + client.NewNonce()
	}
	ctx := context.Background()
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	// Prefer: wait=10 asks the API to answer with the outcome (200) when the payment
	// ends within 10 seconds; otherwise it answers 202 processing and the payment is
	// polled below.
	prefer := "wait=10"
	if *qr {
		// The answer carries the code to show; the customer takes longer than 10 s.
		prefer = ""
	}
	resp, err := c.Do(ctx, client.Request{Method: "POST", Target: "/v1/payments", Body: b, IdempotencyKey: *key, Prefer: prefer})
	if err != nil {
		return fmt.Errorf("POST /v1/payments: %w (is `make run` running?)", err)
	}
	printResponse(resp)
	if *qr && resp.Status == 202 {
		var p struct {
			NextAction *models.NextAction `json:"next_action"`
		}
		if err := resp.JSON(&p); err != nil || p.NextAction == nil {
			return fmt.Errorf("the answer has no QR code to show: %s", resp.Body)
		}
		q, err := qrcode.New(p.NextAction.QRURL, qrcode.Low)
		if err != nil {
			return err
		}
		fmt.Print(q.ToSmallString(false))
		fmt.Printf("scan with a wallet app (or open %s with its User-Agent) before %s\n", p.NextAction.QRURL, p.NextAction.ExpiresAt.Format(time.RFC3339))
	}
	if resp.Status == 200 {
		var p client.Object
		if err := resp.JSON(&p); err != nil {
			return err
		}
		fmt.Printf("%s ended %s %s\n", p.ID, p.Status, p.FailureCode)
		return nil
	}
	if resp.Status != 202 || *wait <= 0 {
		if resp.Status >= 400 {
			os.Exit(1)
		}
		return nil
	}
	var p client.Object
	if err := resp.JSON(&p); err != nil {
		return err
	}
	wctx, cancel := context.WithTimeout(ctx, *wait)
	defer cancel()
	fmt.Printf("waiting for %s to finish (workflow payment/%s/%s)...\n", p.ID, c.MerchantID, p.ID)
	_, last, err := c.WaitStatus(wctx, "/v1/payments/"+p.ID, 300*time.Millisecond, "processing")
	if last != nil {
		printResponse(last)
	}
	return err
}

func runCall(args []string) error {
	fs := flag.NewFlagSet("call", flag.ContinueOnError)
	key := fs.String("idempotency-key", "", "Idempotency-Key for a POST (default: a new one)")
	api := apiFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() < 2 || fs.NArg() > 3 {
		return usageError{fmt.Errorf("expected METHOD PATH [JSON_BODY], got %d arguments", fs.NArg())}
	}
	c, err := newClient(fs, *api)
	if err != nil {
		return err
	}
	r := client.Request{Method: strings.ToUpper(fs.Arg(0)), Target: fs.Arg(1)}
	if fs.NArg() == 3 {
		r.Body = []byte(fs.Arg(2))
	}
	if r.Method == "POST" {
		r.IdempotencyKey = *key
		if r.IdempotencyKey == "" {
			r.IdempotencyKey = "cli-" + client.NewNonce()
		}
	}
	resp, err := c.Do(context.Background(), r)
	if err != nil {
		return fmt.Errorf("%s %s: %w (is `make run` running?)", r.Method, r.Target, err)
	}
	printResponse(resp)
	if resp.Status >= 400 {
		os.Exit(1)
	}
	return nil
}
