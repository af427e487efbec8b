package banksim

import (
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
	// Logger receives structured logs; nil means logrus' standard logger.
	Logger *logrus.Entry
}

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
	if c.Logger == nil {
		c.Logger = logrus.NewEntry(logrus.StandardLogger())
	}
	c.Logger = c.Logger.WithField("component", "banksim")
	return c
}
