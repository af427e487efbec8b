package config

import "encoding/hex"

// OtherVariablesHeading is the heading of docs/configuration.md under which the
// variables that Load does not read (the CLI's, make run's, the harness's) are listed.
const OtherVariablesHeading = "## Variables of the CLI, make run and the tests"

// Variable is one PAYFLOW_* variable that Load reads: its name, the value Load uses
// when it is unset (written as the variable would be set; "" for empty or off), and
// what it means. docs/configuration.md lists the same variables, and `payflow <role>
// -h` prints them; a test checks the list against Load and the page.
type Variable struct {
	Name    string
	Default string
	Meaning string
}

// The public local keys (make run only), as the variables would carry them.
var (
	localSecretsKey  = hex.EncodeToString([]byte("payflow-local-dev-secrets-key-32"))
	localPayloadKeys = "local-1:" + hex.EncodeToString([]byte("payflow-local-payload-key-32byte"))
)

// Variables are every variable Load reads, in the order of docs/configuration.md.
var Variables = []Variable{
	// Mode.
	{"PAYFLOW_ENV", "local", "local or production: production refuses to start while a public default is in use (the ops token, the secrets and payload keys, channel secrets, the demo seed, private webhooks, banksim or a wallet provider without PAYFLOW_BANKSIM_URL) and turns the demo seed and private webhooks off"},
	// Database and local state.
	{"PAYFLOW_DATA_DIR", ".payflow", "directory of the local embedded databases and logs"},
	{"PAYFLOW_DB_DSN", "sqlite://.payflow/payflow.db", "payflow's database: sqlite://<path> or mysql://user:pass@tcp(host:port)/db (or mysql://user:pass@host:port/db)"},
	{"PAYFLOW_DB_MAX_OPEN_CONNS", "0", "connection pool size; 0 picks 4 on SQLite, 32 on MySQL"},
	{"PAYFLOW_LEDGER_GROUP", "64", "group commit of the ledger: how many concurrent ledger transactions (a flow step's postings, holds and status change) one database transaction takes at most, their journals and entries written in one multi-row insert each; a failed group runs each alone, so that the answers are those of one at a time (0: every one commits alone)"},
	{"PAYFLOW_LEDGER_GROUP_SLOTS", "1", "how many group transactions of the ledger one process runs at once (1 to 64); with one, a group gathers while the one before commits, and no two groups of the process contend for an account; more let a group whose step waits on a lock not hold up the others"},
	{"PAYFLOW_REDIS_URL", "", "the cache's Redis: redis://[user:password@]host:port/db (rediss:// for TLS); empty: an in-process cache per process. A cache only: nothing is lost when it is flushed or down (lookups miss)"},
	// Temporal.
	{"PAYFLOW_TEMPORAL_ADDRESS", "127.0.0.1:7233", "Temporal frontend (host:port)"},
	{"PAYFLOW_TEMPORAL_NAMESPACE", "default", "Temporal namespace"},
	{"PAYFLOW_TASK_QUEUE", "payflow", "task queue of the worker and of every flow"},
	{"PAYFLOW_TEMPORAL_TLS_CERT", "", "PEM client certificate for TLS to Temporal (with _KEY: mutual TLS)"},
	{"PAYFLOW_TEMPORAL_TLS_KEY", "", "PEM key of the client certificate"},
	{"PAYFLOW_TEMPORAL_TLS_CA", "", "PEM CA that verifies Temporal's certificate (default: the system's roots)"},
	{"PAYFLOW_TEMPORAL_TLS_SERVER_NAME", "", "name checked in Temporal's certificate; any PAYFLOW_TEMPORAL_TLS_* set turns TLS on"},
	// API.
	{"PAYFLOW_API_ADDR", "127.0.0.1:8080", "where the API listens"},
	{"PAYFLOW_PUBLIC_URL", "http://127.0.0.1:8080", "where banks and Temporal Web reach the API (callbacks, and /codec while PAYFLOW_OPS_ADDR is the API's own); default http:// + PAYFLOW_API_ADDR"},
	{"PAYFLOW_OPS_TOKENS", "ops-demo-token", "bearer tokens of the ops API, comma-separated; any one is accepted"},
	{"PAYFLOW_OPS_ADDR", "127.0.0.1:8080", "where the ops API, /codec and /metrics are served; default PAYFLOW_API_ADDR (one listener); another address serves them there only, and the merchant listener answers 404 for them"},
	{"PAYFLOW_OPS_AUTH_FAILURES", "10", "ops-token attempts (of the ops API and /codec) that may fail per client address in PAYFLOW_OPS_AUTH_WINDOW, shared by every API replica; past them the address is answered 429, its token not compared (0: no limit)"},
	{"PAYFLOW_OPS_AUTH_WINDOW", "15m", "the window of PAYFLOW_OPS_AUTH_FAILURES: the budget refills over it (1s to 24h)"},
	{"PAYFLOW_TRUSTED_PROXIES", "", "proxies (addresses or CIDRs, comma-separated) whose X-Forwarded-For names the client; none: the client is the connection's peer"},
	{"PAYFLOW_SECRETS_KEY", localSecretsKey, "32-byte key (64 hex digits or base64) that encrypts merchant secrets at rest; the default is public (make run only)"},
	{"PAYFLOW_SIGNATURE_TOLERANCE", "300s", "how far a signed request's timestamp may be from server time"},
	{"PAYFLOW_RATE_LIMIT_RPS", "200", "each merchant's request budget refill per second, shared by every API replica (0 with _BURST 0: no limit)"},
	{"PAYFLOW_RATE_LIMIT_BURST", "400", "each merchant's token bucket size"},
	{"PAYFLOW_DEMO_MERCHANT_ID", "mch_demo", "the demo merchant seeded by make run and payflow migrate --seed-demo"},
	{"PAYFLOW_DEMO_MERCHANT_SECRET", "demo_secret_change_me", "the demo merchant's signing secret"},
	{"PAYFLOW_DEMO_WEBHOOK_SECRET", "whsec_demo_change_me", "the demo merchant's webhook signing secret (its receivers verify webhooks with it)"},
	{"PAYFLOW_DEMO_SEED", "true", "whether payflow dev seeds the demo merchant (default false in production)"},
	// Bank channels.
	{"PAYFLOW_CHANNELS", "banksim,stripe,alipaysim,wxpaysim", "bank channels in use (only these are offered, registered and given a callback route; auto routes over them); naming banksim requires PAYFLOW_BANKSIM_CALLBACK_SECRET, naming a wallet provider (alipaysim, wxpaysim) its PAYFLOW_<PROVIDER>_NOTIFY_SECRET"},
	{"PAYFLOW_DEFAULT_CHANNEL", "banksim", "channel of a payment that names none (one of PAYFLOW_CHANNELS, or auto)"},
	{"PAYFLOW_AUTO_ROUTES", `[{"channels":["banksim","stripe"]}]`, "the auto channel's routes as JSON, first match wins; default: every configured card channel in order, wallet providers left out (docs/channels.md)"},
	{"PAYFLOW_BANK_TIMEOUT", "10s", "one HTTP call to a bank; a slower call has an unknown outcome"},
	{"PAYFLOW_BANK_POLL", "60s", "first wait for a processing transfer's callback before a query"},
	{"PAYFLOW_BANK_DEADLINE", "24h", "when a flow whose bank has not decided asks it to cancel (it ends only on the bank's answer)"},
	{"PAYFLOW_BANK_DEADLINES", DefaultBankDeadlines, "deadlines per channel.kind (charge, refund, payout) that differ from PAYFLOW_BANK_DEADLINE"},
	{"PAYFLOW_APPROVAL_TIMEOUT", "72h", "how long a withdrawal over the review threshold waits for an operator before it expires"},
	{"PAYFLOW_VERIFICATION_CACHE_TTL", "24h", "how long a bank's verification answer for the same elements is answered from the cache (billed at the merchant's verification_cached_fee)"},
	{"PAYFLOW_CREDIT_REUSE_DAYS", "30", "days a ready credit report answers the same merchant's new request for the same subject (unless refresh); a duration like 90s is taken too"},
	{"PAYFLOW_CREDIT_RETENTION_DAYS", "90", "days a credit report's content is kept after the bureau answered; then the purge schedule deletes it and GET says purged (a duration like 90s is taken too)"},
	{"PAYFLOW_BUREAU_POLL", "10s", "how long a credit report waits for the bureau's callback before it asks (then doubling, up to an hour)"},
	{"PAYFLOW_FUND_POLL", "1m", "how long a subscription or redemption waits for the fund company's callback before it asks (then doubling, up to an hour); the callback wakes it at once"},
	{"PAYFLOW_BUREAU_DEADLINE", "1h", "when a credit report gives up on a bureau that never answers: failed bureau_unavailable, nothing billed"},
	{"PAYFLOW_CODE_CONFIRM_TIMEOUT", "30s", "how long a payment waits for its customer's confirmation (a wallet code payment over the merchant's no_password_limit) before it fails customer_not_confirmed"},
	{"PAYFLOW_BANKSIM_ADDR", "127.0.0.1:8090", "where the bank simulator listens"},
	{"PAYFLOW_BANKSIM_URL", "http://127.0.0.1:8090", "where payflow reaches the bank simulator; default http:// + PAYFLOW_BANKSIM_ADDR"},
	{"PAYFLOW_BANKSIM_PUBLIC_URL", "http://127.0.0.1:8090", "the bank simulator as a customer's browser reaches it, the base of its wallet providers' checkout pages; default PAYFLOW_BANKSIM_URL"},
	{"PAYFLOW_BANKSIM_DB", ".payflow/banksim.db", "the bank simulator's SQLite file"},
	{"PAYFLOW_BANKSIM_CALLBACK_SECRET", "banksim_callback_secret", "signs and verifies banksim callbacks; the default is public (local runs only)"},
	{"PAYFLOW_ALIPAYSIM_NOTIFY_SECRET", "alipaysim_notify_secret", "signs (in the simulator) and verifies the alipaysim wallet provider's notifications; the default is public (local runs only)"},
	{"PAYFLOW_WXPAYSIM_NOTIFY_SECRET", "wxpaysim_notify_secret", "signs (in the simulator) and verifies the wxpaysim wallet provider's notifications; the default is public (local runs only)"},
	{"PAYFLOW_STRIPE_MOCK_ADDR", "127.0.0.1:12111", "where make run starts stripe-mock"},
	{"PAYFLOW_STRIPE_URL", "http://127.0.0.1:12111", "Stripe's API (https://api.stripe.com in production); default http:// + PAYFLOW_STRIPE_MOCK_ADDR"},
	{"PAYFLOW_STRIPE_API_KEY", "sk_test_123", "Stripe secret key (the default is the one stripe-mock accepts)"},
	{"PAYFLOW_STRIPE_WEBHOOK_SECRET", "", "signing secret (whsec_...) of the Stripe webhook endpoint; unset: no /v1/callbacks/stripe route, stripe flows learn outcomes by querying"},
	// Webhooks.
	{"PAYFLOW_WEBHOOK_ALLOW_PRIVATE", "true", "let deliveries reach loopback and private addresses; MUST be false in production (SSRF)"},
	{"PAYFLOW_WEBHOOK_TIMEOUT", "10s", "one delivery attempt's HTTP exchange (at most 45s)"},
	// Payloads and Temporal Web.
	{"PAYFLOW_PAYLOAD_KEYS", localPayloadKeys, "id:key,... (32 bytes, hex or base64) encrypting every payload in Temporal; the first seals, every one opens (docs/payloads.md); the default is public"},
	{"PAYFLOW_CODEC_ALLOWED_ORIGINS", "http://127.0.0.1:8233,http://localhost:8233", "Temporal Web origins the codec endpoint answers CORS for"},
	{"PAYFLOW_CODEC_TRUST_LOCAL_UI", "false", "let a loopback request from an allowed origin decode without the ops token (payflow dev sets true)"},
	// Processes.
	{"PAYFLOW_LOG_LEVEL", "info", "logrus level"},
	{"PAYFLOW_LOG_FORMAT", "text", "text or json (json in production)"},
	{"PAYFLOW_WORKER_METRICS_ADDR", "127.0.0.1:9091", "where a worker serves /metrics (off: none)"},
	{"PAYFLOW_PPROF_ADDR", "", "where the worker and the API serve Go's /debug/pprof/ (empty or off: none)"},
	{"PAYFLOW_LEDGER_CHECK_INTERVAL", "5m", "how often the worker's `ledger-check` schedule runs for the payflow_ledger_check_ok gauge (0: the schedule is deleted)"},
	// Background schedules on the worker.
	{"PAYFLOW_SWEEP_EVERY", "1m", "how often the flow-sweeper schedule fires (at least 1s)"},
	{"PAYFLOW_SWEEP_GRACE", "1m", "how old an object still processing must be before a sweep starts its flow"},
	// Retention.
	{"PAYFLOW_RETENTION_EVENTS", "2160h", "webhook events (with their attempts) this long after their last delivery attempt; one still retrying or never attempted is kept (at least 168h; 0: forever)"},
	{"PAYFLOW_RETENTION_WEBHOOK_ATTEMPTS", "720h", "failed webhook attempts that decide nothing (an event keeps its latest, 2xx and given-up ones) (at least 168h; 0: until their event goes)"},
	{"PAYFLOW_RETENTION_AUDIT", "0", "the audit log of operators' acts (0: forever; else at least 8760h)"},
	{"PAYFLOW_RETENTION_NONCES", "11m", "request nonces; default 2 x PAYFLOW_SIGNATURE_TOLERANCE + 1m, at least 2 x the tolerance"},
	{"PAYFLOW_RETENTION_IDEMPOTENCY_KEYS", "24h", "idempotency keys (at least 24h)"},
	{"PAYFLOW_RETENTION_RATE_LIMITS", "1h", "a merchant's rate-limit bucket untouched this long (at least its refill time, _BURST / _RPS)"},
	{"PAYFLOW_RETENTION_PAYMENT_CODES", "24h", "wallets' payment codes (kept by their hash), after they expired (at least 1h; 0: forever)"},
	{"PAYFLOW_RETENTION_BANK_CALLBACKS", "168h", "ids of bank callback events already delivered, to recognise a bank's resend (at least 72h; 0: forever)"},
	// Reconciliation.
	{"PAYFLOW_RECON_AT", "02:00", "when (HH:MM UTC) each channel's daily reconciliation schedule fires"},
	{"PAYFLOW_RECON_CHANNELS", "banksim,alipaysim,wxpaysim", "channels reconciled every day (`fund`: the fund company's files); default those of banksim, alipaysim and wxpaysim that are configured"},
	{"PAYFLOW_RECON_TMPDIR", "", "where a reconciliation sorts the statement and spools our records (empty: the system's)"},
	{"PAYFLOW_RECON_CHUNK_LINES", "0", "statement lines sorted in memory at once (0: 50000)"},
	{"PAYFLOW_RECON_PAGE_SIZE", "0", "our records read per page (0: 10000)"},
	{"PAYFLOW_RECON_HEARTBEAT", "2s", "how often a reconciliation checkpoints and heartbeats"},
	{"PAYFLOW_RECON_MAX_REFS_PER_S", "0", "optional pace of the matching (0: unpaced)"},
	{"PAYFLOW_YIELD_AT", "01:00", "when (HH:MM UTC) the balance yield schedule (yield/prd_mmf) fires; it credits the previous day (Asia/Shanghai)"},
	{"PAYFLOW_RECON_CARRY_DAYS", "2", "days an item unmatched only because it crossed midnight is carried as in_transit before it is reported (0 or less: the default 2)"},
}
