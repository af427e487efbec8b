// Package config reads payflow's configuration from the environment (PAYFLOW_*), with
// the local defaults of PRODUCT.md, so that `make run` needs no setting at all and
// production sets each value explicitly.
package config

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration of every payflow process. Each process reads the
// part it needs; cmd/payflow supplies it once to fx.
type Config struct {
	// DBDSN selects the database: sqlite://<path> (the embedded default) or
	// mysql://user:pass@tcp(host:port)/db?params (or mysql://user:pass@host:port/db).
	DBDSN string
	// DBMaxOpenConns bounds the pool; 0 picks a default per driver.
	DBMaxOpenConns int

	TemporalAddress   string
	TemporalNamespace string
	TaskQueue         string

	APIAddr string
	// PublicURL is where banks and the codec client reach the API (callbacks).
	PublicURL string
	// OpsTokens are the bearer tokens of the ops API; any one of them is accepted.
	OpsTokens []string

	// SecretsKey encrypts merchant secrets at rest (AES-256-GCM, 32 bytes).
	SecretsKey []byte

	BanksimAddr           string
	BanksimURL            string
	BanksimDBPath         string
	BanksimCallbackSecret string
	// BankTimeout bounds one HTTP call to a bank; a call that takes longer has an
	// unknown outcome.
	BankTimeout time.Duration
	// BankPoll is the first wait for a processing transfer's callback before a query;
	// BankDeadline is when an undecided charge ends expired.
	BankPoll     time.Duration
	BankDeadline time.Duration
	// DefaultChannel is the channel of a payment that names none.
	DefaultChannel string

	// Demo seeding (make run): a merchant with a known secret.
	DemoMerchantID     string
	DemoMerchantSecret string
	DemoSeed           bool

	// SignatureTolerance is how far a request's timestamp may be from server time.
	SignatureTolerance time.Duration

	LogLevel  string
	LogFormat string

	// DataDir holds the embedded databases and logs of local runs.
	DataDir string

	// ReconAt is when, after midnight UTC, each channel's daily reconciliation
	// schedule fires (PAYFLOW_RECON_AT, HH:MM); ReconChannels are the channels
	// reconciled every day.
	ReconAt       time.Duration
	ReconChannels []string
	// ReconTempDir holds the sorted chunks of statements ("" is the system's);
	// ReconChunkLines and ReconPageSize bound a pass's memory (0: the defaults);
	// ReconHeartbeat is how often a pass heartbeats its checkpoint;
	// ReconMaxRefsPerSecond paces the matching (0: unpaced).
	ReconTempDir          string
	ReconChunkLines       int
	ReconPageSize         int
	ReconHeartbeat        time.Duration
	ReconMaxRefsPerSecond int
}

// Load reads the configuration from the environment.
func Load() (Config, error) {
	return load(os.Getenv)
}

func load(getenv func(string) string) (Config, error) {
	e := envReader{get: getenv}
	dataDir := e.str("PAYFLOW_DATA_DIR", ".payflow")
	c := Config{
		DBDSN:                 e.str("PAYFLOW_DB_DSN", "sqlite://"+dataDir+"/payflow.db"),
		DBMaxOpenConns:        e.int("PAYFLOW_DB_MAX_OPEN_CONNS", 0),
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
		DefaultChannel:        e.str("PAYFLOW_DEFAULT_CHANNEL", "banksim"),
		DemoMerchantID:        e.str("PAYFLOW_DEMO_MERCHANT_ID", "mch_demo"),
		DemoMerchantSecret:    e.str("PAYFLOW_DEMO_MERCHANT_SECRET", "demo_secret_change_me"),
		DemoSeed:              e.bool("PAYFLOW_DEMO_SEED", true),
		SignatureTolerance:    e.duration("PAYFLOW_SIGNATURE_TOLERANCE", 300*time.Second),
		LogLevel:              e.str("PAYFLOW_LOG_LEVEL", "info"),
		LogFormat:             e.str("PAYFLOW_LOG_FORMAT", "text"),
		DataDir:               dataDir,
		ReconAt:               e.clock("PAYFLOW_RECON_AT", 2*time.Hour),
		ReconChannels:         e.list("PAYFLOW_RECON_CHANNELS", "banksim"),
		ReconTempDir:          e.str("PAYFLOW_RECON_TMPDIR", ""),
		ReconChunkLines:       e.int("PAYFLOW_RECON_CHUNK_LINES", 0),
		ReconPageSize:         e.int("PAYFLOW_RECON_PAGE_SIZE", 0),
		ReconHeartbeat:        e.duration("PAYFLOW_RECON_HEARTBEAT", 2*time.Second),
		ReconMaxRefsPerSecond: e.int("PAYFLOW_RECON_MAX_REFS_PER_S", 0),
	}
	c.BanksimURL = e.str("PAYFLOW_BANKSIM_URL", "http://"+c.BanksimAddr)
	c.PublicURL = e.str("PAYFLOW_PUBLIC_URL", "http://"+c.APIAddr)
	// The local default key is public (it is in this file): fine for make run, and
	// production sets PAYFLOW_SECRETS_KEY from a secret store.
	c.SecretsKey = e.key("PAYFLOW_SECRETS_KEY", "payflow-local-dev-secrets-key-32")
	if e.err != nil {
		return Config{}, e.err
	}
	if len(c.OpsTokens) == 0 {
		return Config{}, fmt.Errorf("PAYFLOW_OPS_TOKENS: at least one token is required")
	}
	if c.BankPoll <= 0 || c.BankDeadline <= 0 || c.BankTimeout <= 0 {
		return Config{}, fmt.Errorf("PAYFLOW_BANK_POLL, PAYFLOW_BANK_DEADLINE and PAYFLOW_BANK_TIMEOUT must be positive")
	}
	return c, nil
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
	v := e.get(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s: %q is not an integer", key, v)
	}
	return n
}

func (e *envReader) bool(key string, def bool) bool {
	v := e.get(key)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s: %q is not a boolean", key, v)
	}
	return b
}

func (e *envReader) duration(key string, def time.Duration) time.Duration {
	v := e.get(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("%s: %q is not a duration (like 30s or 5m)", key, v)
	}
	return d
}

// clock reads a time of day, HH:MM (UTC), as the duration since midnight.
func (e *envReader) clock(key string, def time.Duration) time.Duration {
	v := strings.TrimSpace(e.get(key))
	if v == "" {
		return def
	}
	t, err := time.Parse("15:04", v)
	if err != nil {
		if e.err == nil {
			e.err = fmt.Errorf("%s: %q is not a time of day HH:MM (UTC)", key, v)
		}
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
	if e.err == nil {
		e.err = fmt.Errorf("%s must be 32 bytes as 64 hex digits or base64", key)
	}
	return nil
}
