package temporalx

import (
	"context"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"

	"github.com/payflow/payflow/internal/config"
	"go.temporal.io/sdk/converter"
)

// ClientConfig says how to reach Temporal.
type ClientConfig struct {
	Address   string
	Namespace string
	// TLS is TLS (or mutual TLS) to Temporal; zero is plain gRPC.
	TLS    config.TemporalTLS
	Logger *logrus.Entry
	// Codec seals every payload and failure message the client (and a worker built
	// on it) writes, and opens what it reads; nil writes them in clear.
	Codec converter.PayloadCodec
	// Metrics receives the SDK's metrics (requests, polls, task latencies); nil
	// drops them.
	Metrics client.MetricsHandler
}

// Options are the SDK client options of cfg.
func (cfg ClientConfig) Options() client.Options {
	o := client.Options{
		HostPort:       cfg.Address,
		Namespace:      cfg.Namespace,
		MetricsHandler: cfg.Metrics,
	}
	if cfg.Logger != nil {
		o.Logger = NewLogger(cfg.Logger.WithField("component", "temporal-sdk"))
	}
	if cfg.Codec != nil {
		o.DataConverter = NewDataConverter(cfg.Codec)
		o.FailureConverter = NewFailureConverter(o.DataConverter)
	}
	return o
}

// Dial connects to Temporal, retrying for up to wait so that processes started
// together with the server (make run) do not fail on its first seconds.
func Dial(ctx context.Context, cfg ClientConfig, wait time.Duration) (client.Client, error) {
	// A bad certificate path is a configuration error: fail at once, not after wait.
	tlsCfg, err := TLSConfig(cfg.TLS)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(wait)
	for {
		o := cfg.Options()
		o.ConnectionOptions = client.ConnectionOptions{TLS: tlsCfg}
		c, err := client.DialContext(ctx, o)
		if err == nil {
			return c, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, fmt.Errorf("connect to Temporal at %s: %w", cfg.Address, err)
		}
		cfg.Logger.WithError(err).Warn("Temporal not reachable yet, retrying")
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
