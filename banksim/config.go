package banksim

import (
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Defaults applied by New to a zero Config field.
const (
	DefaultAddr           = "127.0.0.1:8090"
	DefaultCallbackSecret = "banksim_callback_secret"
	DefaultChannel        = "banksim"
)

// Config configures a Server. Zero fields take the defaults above.
type Config struct {
	// Addr is where ListenAndServe listens; default DefaultAddr.
	Addr string
	// DBPath is the SQLite file holding the simulator's state, for example
	// ".payflow/banksim.db". Its directory is created when missing.
	DBPath string
	// CallbackSecret is the HMAC secret shared with the callback receiver;
	// default DefaultCallbackSecret.
	CallbackSecret string
	// DefaultCallbackURL receives callbacks of transfers whose request carried
	// no callback_url. Empty means such transfers are not called back.
	DefaultCallbackURL string
	// Channel names the channel in statement file names
	// ("{channel}-{YYYY-MM-DD}.csv"); default DefaultChannel.
	Channel string
	// Wallets configures the wallet providers by name (ProviderAlipay,
	// ProviderWxpay); a provider missing here, or a zero field, takes the
	// defaults (DefaultWalletNotifySecret, no default notify URL).
	Wallets map[string]WalletConfig
	// ConfirmDelay is how long after a payment code ending in 1 the customer
	// confirms in the app; default DefaultConfirmDelay.
	ConfirmDelay time.Duration
	// PublicURL is the simulator's base URL as the customer's browser reaches
	// it, for checkout URLs; empty means the scheme and Host of the request.
	PublicURL string
	// Logger receives structured logs; nil means logrus' standard logger.
	Logger *logrus.Entry
}

// WalletConfig configures one wallet provider.
type WalletConfig struct {
	// NotifySecret signs the provider's notifications (the channel secret
	// shared with payflow); default DefaultWalletNotifySecret(provider).
	NotifySecret string
	// DefaultNotifyURL receives the notifications of trades created without
	// a notify_url. Empty means such trades are not notified.
	DefaultNotifyURL string
}

// DefaultConfirmDelay is when a customer confirms a USERPAYING code (ending in 1).
const DefaultConfirmDelay = 5 * time.Second

// DefaultWalletNotifySecret is a provider's notification secret by default:
// "<provider>_notify_secret".
func DefaultWalletNotifySecret(provider string) string { return provider + "_notify_secret" }

// Timing defaults of processing transfers and callback delivery.
const (
	defaultProcessing = 2 * time.Second
	callbackRetryBase = 500 * time.Millisecond
	callbackRetryMax  = 30 * time.Second
	callbackGiveUp    = time.Hour
	callbackTimeout   = 10 * time.Second
	// hangLimit bounds how long a *_timeout_success request is held.
	hangLimit = 120 * time.Second
)

func (c Config) withDefaults() Config {
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.CallbackSecret == "" {
		c.CallbackSecret = DefaultCallbackSecret
	}
	if c.Channel == "" {
		c.Channel = DefaultChannel
	}
	if c.ConfirmDelay <= 0 {
		c.ConfirmDelay = DefaultConfirmDelay
	}
	wallets := make(map[string]WalletConfig, len(walletProviders))
	for _, p := range walletProviders {
		w := c.Wallets[p.name]
		if w.NotifySecret == "" {
			w.NotifySecret = DefaultWalletNotifySecret(p.name)
		}
		wallets[p.name] = w
	}
	c.Wallets = wallets
	c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	if c.Logger == nil {
		c.Logger = logrus.NewEntry(logrus.StandardLogger())
	}
	c.Logger = c.Logger.WithField("component", "banksim")
	return c
}
