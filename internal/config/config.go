// Package config reads payflow's configuration from the environment (PAYFLOW_*), with
// the local defaults of docs/configuration.md, so that `make run` needs no setting at all and
// production sets each value explicitly.
package config

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/payflow/payflow/models"
)

// Config is the whole configuration of every payflow process. Each process reads the
// part it needs; cmd/payflow supplies it once to fx.
type Config struct {
	// Env is PAYFLOW_ENV: local (the default) or production, which refuses public
	// defaults (CheckProduction) and turns the demo seed and private webhooks off.
	Env string

	// DBDSN selects the database: sqlite://<path> (the embedded default) or
	// mysql://user:pass@tcp(host:port)/db?params (or mysql://user:pass@host:port/db).
	DBDSN string
	// DBMaxOpenConns bounds the pool; 0 picks a default per driver.
	DBMaxOpenConns int
	// LedgerGroup is how many concurrent ledger transactions one group commit takes
	// at most (0: each commits alone); LedgerGroupSlots how many groups run at once.
	LedgerGroup      int
	LedgerGroupSlots int

	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string
	// TemporalTLS is TLS to Temporal (PAYFLOW_TEMPORAL_TLS_*); all empty is plain
	// gRPC, as the local dev server speaks.
	TemporalTLS TemporalTLS

	APIAddr string
	// PublicURL is where banks and the codec client reach the API (callbacks).
	PublicURL string
	// OpsTokens are the bearer tokens of the ops API; any one of them is accepted.
	OpsTokens []string
	// OpsAddr is where the ops API, /codec and /metrics are served; APIAddr (the
	// default) serves them with the merchant API on one listener.
	OpsAddr string
	// OpsAuthFailures ops-token attempts may fail per client address in
	// OpsAuthWindow (a bucket of that many refilled over the window, shared by every
	// API replica); 0 is no limit.
	OpsAuthFailures int
	OpsAuthWindow   time.Duration
	// TrustedProxies are the proxies (addresses or CIDRs) whose X-Forwarded-For
	// names the client; none: the client is the connection's peer.
	TrustedProxies []string

	// SecretsKey encrypts merchant secrets at rest (AES-256-GCM, 32 bytes).
	SecretsKey []byte

	// RedisURL is the cache's Redis (redis://[user:password@]host:port/db); empty:
	// an in-process cache (internal/cache). Redis is a cache, never storage.
	RedisURL string

	// Channels are the bank channels this deployment uses (PAYFLOW_CHANNELS, a
	// subset of KnownChannels; the auto router is always added over them). Only
	// these are registered, offered to merchants and given a callback route.
	Channels []string

	BanksimAddr string
	BanksimURL  string
	// BanksimPublicURL is the simulator as a customer's browser reaches it: the
	// base of its wallet providers' checkout pages (default BanksimURL).
	BanksimPublicURL string
	BanksimDBPath    string
	// BanksimCallbackSecret verifies the banksim channel's callbacks (and signs them
	// in the simulator). Its local default is public; a deployment that names its
	// channels (PAYFLOW_CHANNELS) with banksim among them must set it. Never logged.
	BanksimCallbackSecret string
	// WalletNotifySecrets verify the wallet providers' notifications by channel
	// (alipaysim, wxpaysim; PAYFLOW_ALIPAYSIM_NOTIFY_SECRET,
	// PAYFLOW_WXPAYSIM_NOTIFY_SECRET), and sign them in the simulator. Their local
	// defaults are the simulator's public ones; a deployment that names its channels
	// with a provider among them must set that provider's. Never logged.
	WalletNotifySecrets map[string]string
	// BankTimeout bounds one HTTP call to a bank; a call that takes longer has an
	// unknown outcome.
	BankTimeout time.Duration
	// BankPoll is the first wait for a processing transfer's callback before a query;
	// BankDeadline is when a flow asks a bank that has not decided to cancel (and ends
	// only on its answer); BankDeadlines overrides it per channel and kind of transfer
	// (PAYFLOW_BANK_DEADLINES, keys like "stripe.payout").
	BankPoll      time.Duration
	BankDeadline  time.Duration
	BankDeadlines map[string]time.Duration
	// DefaultChannel is the channel of a payment that names none.
	DefaultChannel string
	// ApprovalTimeout is how long a withdrawal over the review threshold waits for an
	// operator before it is canceled (expired) and its hold released.
	ApprovalTimeout time.Duration
	// CodeConfirmTimeout is how long a payment waits for its customer's
	// confirmation (a wallet code payment over the merchant's no_password_limit).
	CodeConfirmTimeout time.Duration

	// The identity services. VerificationCacheTTL is how long a bank's answer for
	// the same elements answers again from the cache; CreditReuse how long a ready
	// report answers the same merchant's new request for the same subject;
	// CreditRetention how long a report's content is kept after the bureau
	// answered; BureauPoll and BureauDeadline how a report flow waits for the bureau.
	VerificationCacheTTL time.Duration
	CreditReuse          time.Duration
	CreditRetention      time.Duration
	BureauPoll           time.Duration
	// FundPoll is how long a fund order's flow waits for the fund company's callback
	// before it asks (then doubling, up to an hour).
	FundPoll       time.Duration
	BureauDeadline time.Duration

	// Demo seeding (make run): a merchant with a known secret and webhook secret.
	DemoMerchantID     string
	DemoMerchantSecret string
	DemoWebhookSecret  string
	DemoSeed           bool

	// SignatureTolerance is how far a request's timestamp may be from server time.
	SignatureTolerance time.Duration

	// RateLimitRPS and RateLimitBurst are each merchant's request budget: a token
	// bucket of RateLimitBurst requests refilled at RateLimitRPS per second, shared
	// by every API replica (in the database). 0 turns the limit off.
	RateLimitRPS   int
	RateLimitBurst int

	LogLevel  string
	LogFormat string

	// DataDir holds the embedded databases and logs of local runs.
	DataDir string

	// Bank channels beyond the simulator.

	// StripeURL is Stripe's API (https://api.stripe.com in production); locally,
	// stripe-mock's.
	StripeURL string
	// StripeAPIKey is the Stripe secret key. Never logged.
	StripeAPIKey string
	// StripeWebhookSecret is the signing secret of the Stripe webhook endpoint
	// (whsec_...) that verifies Stripe's events (PAYFLOW_STRIPE_WEBHOOK_SECRET). No
	// default: without it the stripe channel has no callback route and its flows
	// learn outcomes by querying. Never logged.
	StripeWebhookSecret string
	// StripeMockAddr is where make run starts stripe-mock (HTTP).
	StripeMockAddr string
	// AutoRoutes are the auto channel's routing rules as JSON: a list of
	// {currency?, min_amount?, max_amount?, merchant?, channels}, first match wins.
	AutoRoutes string
	// Webhooks: how the worker delivers events to merchants' notify_urls.
	//
	// WebhookAllowPrivate lets deliveries connect to loopback, private (RFC 1918,
	// RFC 4193), link-local, CGNAT and unspecified addresses
	// (PAYFLOW_WEBHOOK_ALLOW_PRIVATE). It is true by default locally so that local runs
	// and tests can deliver to a receiver on 127.0.0.1; false by default in production,
	// which refuses it true:
	// a merchant chooses the notify_url and its DNS, and with it true a webhook could
	// reach internal services and cloud metadata endpoints (SSRF).
	WebhookAllowPrivate bool
	// WebhookTimeout bounds one delivery attempt's HTTP exchange
	// (PAYFLOW_WEBHOOK_TIMEOUT); an endpoint slower than that fails the attempt,
	// which is retried.
	WebhookTimeout time.Duration

	// Payloads in Temporal and Temporal Web.

	// PayloadKeys encrypt every payload payflow writes to Temporal. The first is the
	// newest: it seals new payloads; every key opens what it sealed (rotation).
	PayloadKeys []PayloadKey
	// CodecAllowedOrigins are the Web UI origins the codec endpoint answers CORS
	// for (http://127.0.0.1:8233 locally).
	CodecAllowedOrigins []string
	// CodecTrustLocalUI lets the codec endpoint decode without the ops token for a
	// request from a loopback address whose Origin is an allowed origin: the local
	// Temporal Web (dev server) has no login and cannot send a token. payflow dev
	// sets it; production leaves it off.
	CodecTrustLocalUI bool

	// Metrics.

	// WorkerMetricsAddr is where a worker serves /metrics ("off" serves none). Two
	// workers on one machine need two addresses.
	WorkerMetricsAddr string
	// PprofAddr is where the worker and the API serve Go's pprof endpoints
	// (PAYFLOW_PPROF_ADDR); "" (the default) or "off" serves none. make bench sets it
	// to capture CPU profiles under load; it is never on the API's own listener.
	PprofAddr string
	// LedgerCheckInterval is how often the worker's ledger-check schedule runs the
	// ledger check for the payflow_ledger_check_ok gauge; 0 never runs it in the
	// background.
	LedgerCheckInterval time.Duration

	// ReconAt is when, after midnight UTC, each channel's daily reconciliation
	// schedule fires (PAYFLOW_RECON_AT, HH:MM); ReconChannels are the channels
	// reconciled every day.
	ReconAt       time.Duration
	ReconChannels []string
	// YieldAt is when, after midnight UTC, the balance yield schedule fires
	// (PAYFLOW_YIELD_AT, HH:MM); it credits the previous Asia/Shanghai day.
	YieldAt time.Duration
	// ReconTempDir holds the sorted chunks of statements ("" is the system's);
	// ReconChunkLines and ReconPageSize bound a pass's memory (0: the defaults);
	// ReconHeartbeat is how often a pass heartbeats its checkpoint;
	// ReconMaxRefsPerSecond paces the matching (0: unpaced).
	ReconTempDir          string
	ReconChunkLines       int
	ReconPageSize         int
	ReconHeartbeat        time.Duration
	ReconMaxRefsPerSecond int
	// ReconCarryDays is how many days a reconciliation carries an item in transit
	// before it reports it as a difference.
	ReconCarryDays int

	// SweepEvery is how often the flow sweeper's schedule fires (PAYFLOW_SWEEP_EVERY),
	// SweepGrace how old an object must be before a sweep starts its flow
	// (PAYFLOW_SWEEP_GRACE): its API request has had that long to start the flow
	// itself, and the grace must exceed the API's longest create transaction and the
	// clock skew between API and worker hosts.
	SweepEvery time.Duration
	SweepGrace time.Duration

	// Retention is how long each kind of record is kept before the worker's purge
	// schedule deletes it (PAYFLOW_RETENTION_*).
	Retention Retention

	// banksimURLSet is whether PAYFLOW_BANKSIM_URL was set explicitly: production
	// never reaches the simulator through the local default address.
	banksimURLSet bool
}

// KnownChannels are the bank channels payflow has adapters for (the names of
// internal/bank/sim, internal/bank/stripe and the wallet providers of
// internal/bank/wallet); auto is the router over them, not a channel of its own.
var KnownChannels = []string{"banksim", "stripe", "alipaysim", "wxpaysim"}

// WalletChannels are the wallet providers among KnownChannels: served by the bank
// simulator (PAYFLOW_BANKSIM_URL), paid by payment codes and QR codes, never by a
// card. The auto router's default routes leave them out.
var WalletChannels = models.QRProviderChannels()

// IsWalletChannel reports whether name is one of WalletChannels.
func IsWalletChannel(name string) bool { return models.IsQRProvider(name) }

// walletNotifySecretVars are the variables of the wallet providers' notification
// secrets, PAYFLOW_<PROVIDER>_NOTIFY_SECRET, by channel.
var walletNotifySecretVars = map[string]string{
	"alipaysim": "PAYFLOW_ALIPAYSIM_NOTIFY_SECRET",
	"wxpaysim":  "PAYFLOW_WXPAYSIM_NOTIFY_SECRET",
}

// WalletNotifySecretVar is the variable of a wallet provider's notification
// secret.
func WalletNotifySecretVar(provider string) string { return walletNotifySecretVars[provider] }

// localWalletNotifySecret is a provider's public local notification secret, the
// simulator's default (banksim.DefaultWalletNotifySecret).
func localWalletNotifySecret(provider string) string { return provider + "_notify_secret" }

// ChannelEnabled reports whether the named channel is one of c.Channels.
func (c Config) ChannelEnabled(name string) bool {
	for _, ch := range c.Channels {
		if ch == name {
			return true
		}
	}
	return false
}

// PayloadKey is one AES-256 key of the payload codec, known by its id (which rides
// in every payload it sealed).
type PayloadKey struct {
	ID  string
	Key []byte
}

// Load reads the configuration from the environment.
func Load() (Config, error) {
	return load(os.Getenv)
}

func load(getenv func(string) string) (Config, error) {
	e := envReader{get: getenv}
	env := e.str("PAYFLOW_ENV", EnvLocal)
	if env != EnvLocal && env != EnvProduction {
		return Config{}, fmt.Errorf("PAYFLOW_ENV: %q is neither %s nor %s", env, EnvLocal, EnvProduction)
	}
	// What is only safe on a laptop is off by default in production.
	local := env == EnvLocal
	dataDir := e.str("PAYFLOW_DATA_DIR", ".payflow")
	c := Config{
		Env:                   env,
		DBDSN:                 e.str("PAYFLOW_DB_DSN", "sqlite://"+dataDir+"/payflow.db"),
		DBMaxOpenConns:        e.int("PAYFLOW_DB_MAX_OPEN_CONNS", 0),
		LedgerGroup:           e.int("PAYFLOW_LEDGER_GROUP", 64),
		LedgerGroupSlots:      e.int("PAYFLOW_LEDGER_GROUP_SLOTS", 1),
		RedisURL:              e.str("PAYFLOW_REDIS_URL", ""),
		TemporalAddress:       e.str("PAYFLOW_TEMPORAL_ADDRESS", "127.0.0.1:7233"),
		TemporalNamespace:     e.str("PAYFLOW_TEMPORAL_NAMESPACE", "default"),
		TaskQueue:             e.str("PAYFLOW_TASK_QUEUE", "payflow"),
		APIAddr:               e.str("PAYFLOW_API_ADDR", "127.0.0.1:8080"),
		OpsTokens:             e.list("PAYFLOW_OPS_TOKENS", "ops-demo-token"),
		BanksimAddr:           e.str("PAYFLOW_BANKSIM_ADDR", "127.0.0.1:8090"),
		BanksimDBPath:         e.str("PAYFLOW_BANKSIM_DB", dataDir+"/banksim.db"),
		BanksimCallbackSecret: e.str("PAYFLOW_BANKSIM_CALLBACK_SECRET", "banksim_callback_secret"),
		BankTimeout:           e.duration("PAYFLOW_BANK_TIMEOUT", 10*time.Second),
		BankPoll:              e.duration("PAYFLOW_BANK_POLL", 60*time.Second),
		BankDeadline:          e.duration("PAYFLOW_BANK_DEADLINE", 24*time.Hour),
		BankDeadlines:         e.deadlines("PAYFLOW_BANK_DEADLINES", DefaultBankDeadlines),
		DefaultChannel:        e.str("PAYFLOW_DEFAULT_CHANNEL", "banksim"),
		ApprovalTimeout:       e.duration("PAYFLOW_APPROVAL_TIMEOUT", 72*time.Hour),
		CodeConfirmTimeout:    e.duration("PAYFLOW_CODE_CONFIRM_TIMEOUT", 30*time.Second),
		VerificationCacheTTL:  e.duration("PAYFLOW_VERIFICATION_CACHE_TTL", 24*time.Hour),
		CreditReuse:           e.days("PAYFLOW_CREDIT_REUSE_DAYS", 30),
		CreditRetention:       e.days("PAYFLOW_CREDIT_RETENTION_DAYS", 90),
		BureauPoll:            e.duration("PAYFLOW_BUREAU_POLL", 10*time.Second),
		FundPoll:              e.duration("PAYFLOW_FUND_POLL", time.Minute),
		BureauDeadline:        e.duration("PAYFLOW_BUREAU_DEADLINE", time.Hour),
		DemoMerchantID:        e.str("PAYFLOW_DEMO_MERCHANT_ID", "mch_demo"),
		DemoMerchantSecret:    e.str("PAYFLOW_DEMO_MERCHANT_SECRET", "demo_secret_change_me"),
		DemoWebhookSecret:     e.str("PAYFLOW_DEMO_WEBHOOK_SECRET", "whsec_demo_change_me"),
		DemoSeed:              e.bool("PAYFLOW_DEMO_SEED", local),
		SignatureTolerance:    e.duration("PAYFLOW_SIGNATURE_TOLERANCE", 300*time.Second),
		RateLimitRPS:          e.int("PAYFLOW_RATE_LIMIT_RPS", 200),
		RateLimitBurst:        e.int("PAYFLOW_RATE_LIMIT_BURST", 400),
		LogLevel:              e.str("PAYFLOW_LOG_LEVEL", "info"),
		LogFormat:             e.str("PAYFLOW_LOG_FORMAT", "text"),
		DataDir:               dataDir,
		ReconAt:               e.clock("PAYFLOW_RECON_AT", 2*time.Hour),
		YieldAt:               e.clock("PAYFLOW_YIELD_AT", time.Hour),
		ReconTempDir:          e.str("PAYFLOW_RECON_TMPDIR", ""),
		ReconChunkLines:       e.int("PAYFLOW_RECON_CHUNK_LINES", 0),
		ReconPageSize:         e.int("PAYFLOW_RECON_PAGE_SIZE", 0),
		ReconHeartbeat:        e.duration("PAYFLOW_RECON_HEARTBEAT", 2*time.Second),
		ReconMaxRefsPerSecond: e.int("PAYFLOW_RECON_MAX_REFS_PER_S", 0),
		ReconCarryDays:        e.int("PAYFLOW_RECON_CARRY_DAYS", 2),
		SweepEvery:            e.duration("PAYFLOW_SWEEP_EVERY", time.Minute),
		SweepGrace:            e.duration("PAYFLOW_SWEEP_GRACE", time.Minute),
	}
	c.BanksimURL = e.str("PAYFLOW_BANKSIM_URL", "http://"+c.BanksimAddr)
	c.banksimURLSet = strings.TrimSpace(getenv("PAYFLOW_BANKSIM_URL")) != ""
	c.BanksimPublicURL = e.str("PAYFLOW_BANKSIM_PUBLIC_URL", c.BanksimURL)
	// Local runs use every channel. A deployment names its own, and then every secret
	// that verifies a named channel's callbacks is its own too: the local default
	// callback secret is public, and with it anyone could sign a banksim callback.
	c.Channels = e.list("PAYFLOW_CHANNELS", strings.Join(KnownChannels, ","))
	channelsNamed := strings.TrimSpace(getenv("PAYFLOW_CHANNELS")) != ""
	// The daily reconciliation covers banksim and the wallet providers that are
	// configured (each serves its day's statement), unless PAYFLOW_RECON_CHANNELS
	// says otherwise.
	var reconDefault []string
	for _, ch := range append([]string{"banksim"}, WalletChannels...) {
		if c.ChannelEnabled(ch) {
			reconDefault = append(reconDefault, ch)
		}
	}
	c.ReconChannels = e.list("PAYFLOW_RECON_CHANNELS", strings.Join(reconDefault, ","))
	c.WalletNotifySecrets = map[string]string{}
	for _, p := range WalletChannels {
		c.WalletNotifySecrets[p] = e.str(WalletNotifySecretVar(p), localWalletNotifySecret(p))
	}
	c.PublicURL = e.str("PAYFLOW_PUBLIC_URL", "http://"+c.APIAddr)
	c.OpsAddr = e.str("PAYFLOW_OPS_ADDR", c.APIAddr)
	c.OpsAuthFailures = e.int("PAYFLOW_OPS_AUTH_FAILURES", 10)
	c.OpsAuthWindow = e.duration("PAYFLOW_OPS_AUTH_WINDOW", 15*time.Minute)
	c.TrustedProxies = e.list("PAYFLOW_TRUSTED_PROXIES", "")
	c.TemporalTLS = TemporalTLS{
		CertFile:   e.str("PAYFLOW_TEMPORAL_TLS_CERT", ""),
		KeyFile:    e.str("PAYFLOW_TEMPORAL_TLS_KEY", ""),
		CAFile:     e.str("PAYFLOW_TEMPORAL_TLS_CA", ""),
		ServerName: e.str("PAYFLOW_TEMPORAL_TLS_SERVER_NAME", ""),
	}
	// The local default key is public (it is in this file): fine for make run, and
	// production sets PAYFLOW_SECRETS_KEY from a secret store.
	c.SecretsKey = e.key("PAYFLOW_SECRETS_KEY", "payflow-local-dev-secrets-key-32")

	// Bank channels beyond the simulator. The local defaults are stripe-mock's
	// address and the test key it accepts.
	c.StripeMockAddr = e.str("PAYFLOW_STRIPE_MOCK_ADDR", "127.0.0.1:12111")
	c.StripeURL = e.str("PAYFLOW_STRIPE_URL", "http://"+c.StripeMockAddr)
	c.StripeAPIKey = e.str("PAYFLOW_STRIPE_API_KEY", "sk_test_123")
	c.StripeWebhookSecret = e.str("PAYFLOW_STRIPE_WEBHOOK_SECRET", "")
	// The auto router's default: every configured card channel, in order (a wallet
	// provider takes payment codes, never a card: it is left out unless it is all
	// there is).
	c.AutoRoutes = e.str("PAYFLOW_AUTO_ROUTES", `[{"channels":["`+strings.Join(autoDefault(c.Channels), `","`)+`"]}]`)
	// Webhooks. Private addresses are allowed by default for local runs and tests,
	// never by default in production (see Config).
	c.WebhookAllowPrivate = e.bool("PAYFLOW_WEBHOOK_ALLOW_PRIVATE", local)
	c.WebhookTimeout = e.duration("PAYFLOW_WEBHOOK_TIMEOUT", 10*time.Second)

	// The local payload key is public (it is in this file), like the secrets key:
	// production sets PAYFLOW_PAYLOAD_KEYS from a secret store.
	c.PayloadKeys = e.payloadKeys("PAYFLOW_PAYLOAD_KEYS", "local-1:"+hex.EncodeToString([]byte("payflow-local-payload-key-32byte")))
	c.CodecAllowedOrigins = e.list("PAYFLOW_CODEC_ALLOWED_ORIGINS", "http://127.0.0.1:8233,http://localhost:8233")
	c.CodecTrustLocalUI = e.bool("PAYFLOW_CODEC_TRUST_LOCAL_UI", false)
	c.WorkerMetricsAddr = e.str("PAYFLOW_WORKER_METRICS_ADDR", "127.0.0.1:9091")
	c.PprofAddr = e.str("PAYFLOW_PPROF_ADDR", "")
	c.LedgerCheckInterval = e.duration("PAYFLOW_LEDGER_CHECK_INTERVAL", 5*time.Minute)
	c.Retention = Retention{
		Events:          e.duration("PAYFLOW_RETENTION_EVENTS", DefaultRetention.Events),
		WebhookAttempts: e.duration("PAYFLOW_RETENTION_WEBHOOK_ATTEMPTS", DefaultRetention.WebhookAttempts),
		Audit:           e.duration("PAYFLOW_RETENTION_AUDIT", DefaultRetention.Audit),
		// A nonce must outlive every request that could replay it, with a minute
		// for the clocks of the API and worker hosts.
		Nonces:          e.duration("PAYFLOW_RETENTION_NONCES", 2*c.SignatureTolerance+time.Minute),
		IdempotencyKeys: e.duration("PAYFLOW_RETENTION_IDEMPOTENCY_KEYS", DefaultRetention.IdempotencyKeys),
		RateLimits:      e.duration("PAYFLOW_RETENTION_RATE_LIMITS", DefaultRetention.RateLimits),
		BankCallbacks:   e.duration("PAYFLOW_RETENTION_BANK_CALLBACKS", DefaultRetention.BankCallbacks),
		PaymentCodes:    e.duration("PAYFLOW_RETENTION_PAYMENT_CODES", DefaultRetention.PaymentCodes),
	}
	if e.err != nil {
		return Config{}, e.err
	}
	secretsSet := map[string]bool{"banksim": strings.TrimSpace(getenv("PAYFLOW_BANKSIM_CALLBACK_SECRET")) != ""}
	for _, p := range WalletChannels {
		secretsSet[p] = strings.TrimSpace(getenv(WalletNotifySecretVar(p))) != ""
	}
	if err := validateChannels(c, channelsNamed, secretsSet); err != nil {
		return Config{}, err
	}
	if len(c.OpsTokens) == 0 {
		return Config{}, fmt.Errorf("PAYFLOW_OPS_TOKENS: at least one token is required")
	}
	if (c.TemporalTLS.CertFile == "") != (c.TemporalTLS.KeyFile == "") {
		return Config{}, fmt.Errorf("PAYFLOW_TEMPORAL_TLS_CERT and PAYFLOW_TEMPORAL_TLS_KEY are set together (a client certificate needs its key)")
	}
	if c.LedgerCheckInterval < 0 {
		return Config{}, fmt.Errorf("PAYFLOW_LEDGER_CHECK_INTERVAL must not be negative (0 turns the background check off)")
	}
	if c.LedgerGroup < 0 || c.LedgerGroup > 1000 || c.LedgerGroupSlots < 1 || c.LedgerGroupSlots > 64 {
		return Config{}, fmt.Errorf("PAYFLOW_LEDGER_GROUP must be from 0 (off) to 1000 and PAYFLOW_LEDGER_GROUP_SLOTS from 1 to 64")
	}
	if c.RateLimitRPS < 0 || c.RateLimitBurst < 0 || (c.RateLimitRPS > 0) != (c.RateLimitBurst > 0) {
		return Config{}, fmt.Errorf("PAYFLOW_RATE_LIMIT_RPS and PAYFLOW_RATE_LIMIT_BURST must both be positive (or both 0: no limit)")
	}
	// The bounds of store.AttemptBudget's integer arithmetic.
	if c.OpsAuthFailures < 0 || c.OpsAuthFailures > 1000 || c.OpsAuthWindow < time.Second || c.OpsAuthWindow > 24*time.Hour {
		return Config{}, fmt.Errorf("PAYFLOW_OPS_AUTH_FAILURES must be from 0 (no limit) to 1000 and PAYFLOW_OPS_AUTH_WINDOW from 1s to 24h")
	}
	for _, p := range c.TrustedProxies {
		if _, err := netip.ParsePrefix(p); err != nil {
			if _, err := netip.ParseAddr(p); err != nil {
				return Config{}, fmt.Errorf("PAYFLOW_TRUSTED_PROXIES: %q is neither an address nor a CIDR", p)
			}
		}
	}
	if c.BankPoll <= 0 || c.BankDeadline <= 0 || c.BankTimeout <= 0 {
		return Config{}, fmt.Errorf("PAYFLOW_BANK_POLL, PAYFLOW_BANK_DEADLINE and PAYFLOW_BANK_TIMEOUT must be positive")
	}
	if c.SweepEvery < time.Second || c.SweepGrace <= 0 {
		// Temporal's schedules fire at most every second; a grace of 0 would race
		// every request's own start.
		return Config{}, fmt.Errorf("PAYFLOW_SWEEP_EVERY must be at least 1s and PAYFLOW_SWEEP_GRACE positive")
	}
	if c.WebhookTimeout <= 0 || c.WebhookTimeout > 45*time.Second {
		// An attempt must end well within the delivery activity's one-minute
		// StartToClose timeout, so that its outcome is recorded.
		return Config{}, fmt.Errorf("PAYFLOW_WEBHOOK_TIMEOUT must be positive and at most 45s")
	}
	if err := c.Retention.validate(c); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Retention is how long each kind of record is kept (PAYFLOW_RETENTION_*; the
// reasons for the defaults are in docs/configuration.md#retention). For events,
// webhook attempts, audit entries and bank callback ids 0 keeps them forever; nonces,
// idempotency keys and rate-limit buckets are always purged.
type Retention struct {
	// Events: a webhook event is deleted, with its attempts, this long after its
	// last delivery attempt; one still being delivered, or never attempted, is kept.
	Events time.Duration
	// WebhookAttempts: the failed attempts older than this that decide nothing are
	// deleted (an event keeps its latest, 2xx and given-up attempts).
	WebhookAttempts time.Duration
	// Audit: operators' acts in the audit log.
	Audit time.Duration
	// Nonces: at least twice PAYFLOW_SIGNATURE_TOLERANCE (a request signed at T is
	// accepted, and may come back, until T+tolerance; it may reach us at
	// T-tolerance).
	Nonces time.Duration
	// IdempotencyKeys: at least 24 hours, what docs/api.md promises merchants.
	IdempotencyKeys time.Duration
	// RateLimits: a merchant's token bucket untouched this long; at least the
	// time it takes to refill (PAYFLOW_RATE_LIMIT_BURST / _RPS seconds).
	RateLimits time.Duration
	// BankCallbacks: the ids of bank callback events already delivered to a flow
	// (a bank's redelivery within this time is recognised).
	BankCallbacks time.Duration
	// PaymentCodes: wallets' payment codes, this long after they expired (a used
	// code's payment keeps it masked).
	PaymentCodes time.Duration
}

// DefaultRetention is the retention of a deployment that sets none, but for the
// nonces', which follows PAYFLOW_SIGNATURE_TOLERANCE: twice it, plus a minute. The
// audit log is kept forever.
var DefaultRetention = Retention{
	Events:          90 * 24 * time.Hour,
	WebhookAttempts: 30 * 24 * time.Hour,
	IdempotencyKeys: 24 * time.Hour,
	RateLimits:      time.Hour,
	BankCallbacks:   7 * 24 * time.Hour,
	PaymentCodes:    24 * time.Hour,
}

// The shortest retention of the kinds with a floor.
const (
	// MinRetentionEvents: a delivery retries for a day, and a merchant whose
	// endpoint was down redelivers within days.
	MinRetentionEvents = 7 * 24 * time.Hour
	// MinRetentionAudit: PCI DSS v4.0 requirement 10.5.1 keeps audit logs at least
	// twelve months.
	MinRetentionAudit = 365 * 24 * time.Hour
	// MinRetentionIdempotencyKeys: docs/api.md promises merchants 24 hours.
	MinRetentionIdempotencyKeys = 24 * time.Hour
	// MinRetentionBankCallbacks: Stripe resends an event for up to three days.
	MinRetentionBankCallbacks = 72 * time.Hour
)

// validate refuses a retention that would purge what is still needed.
func (r Retention) validate(c Config) error {
	atLeast := func(name string, d, floor time.Duration, why string) error {
		if d < floor {
			return fmt.Errorf("%s is %s: it must be at least %s (%s)", name, d, floor, why)
		}
		return nil
	}
	orForever := func(name string, d, floor time.Duration, why string) error {
		if d == 0 {
			return nil
		}
		return atLeast(name, d, floor, why+"; 0 keeps them forever")
	}
	refill := time.Second
	if c.RateLimitRPS > 0 {
		refill = time.Duration((int64(c.RateLimitBurst)*int64(time.Second) + int64(c.RateLimitRPS) - 1) / int64(c.RateLimitRPS))
	}
	for _, err := range []error{
		orForever("PAYFLOW_RETENTION_EVENTS", r.Events, MinRetentionEvents, "a delivery retries for a day and merchants redeliver within days"),
		orForever("PAYFLOW_RETENTION_WEBHOOK_ATTEMPTS", r.WebhookAttempts, MinRetentionEvents, "a delivery retries for a day and merchants redeliver within days"),
		orForever("PAYFLOW_RETENTION_AUDIT", r.Audit, MinRetentionAudit, "PCI DSS keeps audit logs a year"),
		atLeast("PAYFLOW_RETENTION_NONCES", r.Nonces, 2*c.SignatureTolerance, "twice PAYFLOW_SIGNATURE_TOLERANCE, or a request could be replayed"),
		atLeast("PAYFLOW_RETENTION_IDEMPOTENCY_KEYS", r.IdempotencyKeys, MinRetentionIdempotencyKeys, "merchants are promised 24 hours"),
		atLeast("PAYFLOW_RETENTION_RATE_LIMITS", r.RateLimits, refill, "the time a bucket takes to refill, or a purge would refill it early"),
		orForever("PAYFLOW_RETENTION_BANK_CALLBACKS", r.BankCallbacks, MinRetentionBankCallbacks, "banks resend a callback for up to three days"),
		orForever("PAYFLOW_RETENTION_PAYMENT_CODES", r.PaymentCodes, time.Hour, "a code must outlive its minute and the payments racing for it"),
	} {
		if err != nil {
			return err
		}
	}
	return nil
}

// autoDefault is the auto router's default channels: the card channels of
// channels, or all of them when there is none.
func autoDefault(channels []string) []string {
	var out []string
	for _, ch := range channels {
		if !IsWalletChannel(ch) {
			out = append(out, ch)
		}
	}
	if len(out) == 0 {
		return channels
	}
	return out
}

// validateChannels refuses an unknown or repeated channel, a default channel that is
// not configured, and a named banksim channel or wallet provider without its own
// callback secret (secretSet, by channel).
func validateChannels(c Config, named bool, secretSet map[string]bool) error {
	if len(c.Channels) == 0 {
		return fmt.Errorf("PAYFLOW_CHANNELS: at least one channel is required (%s)", strings.Join(KnownChannels, ", "))
	}
	seen := map[string]bool{}
	for _, ch := range c.Channels {
		known := false
		for _, k := range KnownChannels {
			known = known || ch == k
		}
		if !known {
			return fmt.Errorf("PAYFLOW_CHANNELS: %q is not a channel (%s)", ch, strings.Join(KnownChannels, ", "))
		}
		if seen[ch] {
			return fmt.Errorf("PAYFLOW_CHANNELS: %q appears twice", ch)
		}
		seen[ch] = true
	}
	if c.DefaultChannel != "auto" && !seen[c.DefaultChannel] {
		return fmt.Errorf("PAYFLOW_DEFAULT_CHANNEL: %q is not one of PAYFLOW_CHANNELS (%s) or auto", c.DefaultChannel, strings.Join(c.Channels, ", "))
	}
	if named && seen["banksim"] && !secretSet["banksim"] {
		return fmt.Errorf("PAYFLOW_BANKSIM_CALLBACK_SECRET must be set when PAYFLOW_CHANNELS names banksim: the local default is public, and banksim callbacks signed with it would be accepted")
	}
	for _, p := range WalletChannels {
		if named && seen[p] && !secretSet[p] {
			return fmt.Errorf("%s must be set when PAYFLOW_CHANNELS names %s: the local default is public, and %s notifications signed with it would be accepted", WalletNotifySecretVar(p), p, p)
		}
	}
	return nil
}

// TemporalTLS says how to reach Temporal over TLS. Setting any field turns TLS on:
// CAFile alone verifies the server against that CA, CertFile with KeyFile adds a client
// certificate (mutual TLS), ServerName overrides the name checked in the server's
// certificate (when Temporal is reached through an address its certificate does not
// name). Without CAFile the system's roots verify the server.
type TemporalTLS struct {
	CertFile   string
	KeyFile    string
	CAFile     string
	ServerName string
}

// Enabled reports whether TLS to Temporal is configured at all.
func (t TemporalTLS) Enabled() bool {
	return t.CertFile != "" || t.KeyFile != "" || t.CAFile != "" || t.ServerName != ""
}

type envReader struct {
	get func(string) string
	err error
}

func (e *envReader) str(key, def string) string {
	if v := strings.TrimSpace(e.get(key)); v != "" {
		return v
	}
	return def
}

func (e *envReader) list(key, def string) []string {
	var out []string
	for _, p := range strings.Split(e.str(key, def), ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (e *envReader) int(key string, def int) int {
	return parsed(e, key, def, "an integer", strconv.Atoi)
}

func (e *envReader) bool(key string, def bool) bool {
	return parsed(e, key, def, "a boolean", strconv.ParseBool)
}

func (e *envReader) duration(key string, def time.Duration) time.Duration {
	return parsed(e, key, def, "a duration (like 30s or 5m)", time.ParseDuration)
}

// days reads a number of days ("30"), or a duration ("45s", for tests and drills).
func (e *envReader) days(key string, def int) time.Duration {
	return parsed(e, key, time.Duration(def)*24*time.Hour, "a number of days (or a duration like 90s)", func(v string) (time.Duration, error) {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			return time.Duration(n) * 24 * time.Hour, nil
		}
		d, err := time.ParseDuration(v)
		if err == nil && d <= 0 {
			err = fmt.Errorf("not positive")
		}
		return d, err
	})
}

// parsed reads key with parse: unset is def, and a value parse refuses is an error
// that says the value is not what (an integer, ...).
func parsed[T any](e *envReader, key string, def T, what string, parse func(string) (T, error)) T {
	v := e.get(key)
	if v == "" {
		return def
	}
	x, err := parse(v)
	if err != nil {
		e.fail(fmt.Errorf("%s: %q is not %s", key, v, what))
	}
	return x
}

// DefaultBankDeadlines are the deadlines that differ from PAYFLOW_BANK_DEADLINE when
// PAYFLOW_BANK_DEADLINES is not set: Stripe keeps payouts pending or in transit for
// days, and card refunds for days too.
const DefaultBankDeadlines = "stripe.payout=96h,stripe.refund=72h"

// deadlines reads "channel.kind=duration,..." (kind: charge, refund or payout).
func (e *envReader) deadlines(key, def string) map[string]time.Duration {
	v := strings.TrimSpace(e.get(key))
	if v == "" {
		v = def
	}
	out := map[string]time.Duration{}
	for _, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, dur, ok := strings.Cut(item, "=")
		channel, kind, dotted := strings.Cut(strings.TrimSpace(name), ".")
		d, err := time.ParseDuration(strings.TrimSpace(dur))
		switch {
		case !ok || !dotted || channel == "":
			e.fail(fmt.Errorf("%s: %q is not channel.kind=duration (like stripe.payout=96h)", key, item))
		case kind != "charge" && kind != "refund" && kind != "payout":
			e.fail(fmt.Errorf("%s: %q: the kind is charge, refund or payout", key, item))
		case err != nil || d <= 0:
			e.fail(fmt.Errorf("%s: %q: the deadline must be a positive duration", key, item))
		default:
			out[channel+"."+kind] = d
		}
	}
	return out
}

// fail keeps the first error.
func (e *envReader) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

// clock reads a time of day, HH:MM (UTC), as the duration since midnight.
func (e *envReader) clock(key string, def time.Duration) time.Duration {
	v := strings.TrimSpace(e.get(key))
	if v == "" {
		return def
	}
	t, err := time.Parse("15:04", v)
	if err != nil {
		e.fail(fmt.Errorf("%s: %q is not a time of day HH:MM (UTC)", key, v))
		return def
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
}

// key reads a 32-byte key given as 64 hex digits, base64, or (for the local default
// only) 32 raw characters.
func (e *envReader) key(key, def string) []byte {
	v := e.get(key)
	if v == "" {
		return []byte(def)
	}
	if b, err := hex.DecodeString(v); err == nil && len(b) == 32 {
		return b
	}
	if b, err := base64.StdEncoding.DecodeString(v); err == nil && len(b) == 32 {
		return b
	}
	e.fail(fmt.Errorf("%s must be 32 bytes as 64 hex digits or base64", key))
	return nil
}

// payloadKeys reads `id:key,id:key,...`, each key 32 bytes as 64 hex digits or
// base64. Ids are 1-64 characters of [A-Za-z0-9._-] and distinct. The error never
// repeats a key.
func (e *envReader) payloadKeys(name, def string) []PayloadKey {
	fail := func(format string, args ...any) []PayloadKey {
		e.fail(fmt.Errorf(name+": "+format, args...))
		return nil
	}
	var keys []PayloadKey
	seen := map[string]bool{}
	for i, item := range e.list(name, def) {
		id, enc, ok := strings.Cut(item, ":")
		id, enc = strings.TrimSpace(id), strings.TrimSpace(enc)
		if !ok || enc == "" {
			return fail("entry %d is not id:key", i+1)
		}
		if !validKeyID(id) {
			return fail("entry %d: the key id must be 1-64 characters of [A-Za-z0-9._-]", i+1)
		}
		if seen[id] {
			return fail("key id %q appears twice", id)
		}
		seen[id] = true
		key, err := decodeKey(enc)
		if err != nil {
			return fail("key %q must be 32 bytes as 64 hex digits or base64", id)
		}
		keys = append(keys, PayloadKey{ID: id, Key: key})
	}
	if len(keys) == 0 {
		return fail("at least one id:key is required")
	}
	return keys
}

func decodeKey(v string) ([]byte, error) {
	if b, err := hex.DecodeString(v); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(v); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, fmt.Errorf("not a 32-byte key")
}

func validKeyID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
