package temporalx

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/config"
)

// Module provides the payload codec (from PAYFLOW_PAYLOAD_KEYS) and a connected
// Temporal client that seals every payload with it and reports the SDK's metrics
// to the process's MetricsHandler, if one is provided; the client is closed on stop.
var Module = fx.Module("temporal",
	fx.Provide(
		func(cfg config.Config) (*Codec, error) { return NewCodec(cfg.PayloadKeys) },
		newClient,
	),
)

type clientParams struct {
	fx.In
	Lifecycle fx.Lifecycle
	Config    config.Config
	Log       *logrus.Entry
	Codec     *Codec
	Metrics   client.MetricsHandler `optional:"true"`
}

func newClient(p clientParams) (client.Client, error) {
	c, err := Dial(context.Background(), ClientConfig{
		Address: p.Config.TemporalAddress, Namespace: p.Config.TemporalNamespace, TLS: p.Config.TemporalTLS,
		Logger: p.Log, Codec: p.Codec, Metrics: p.Metrics,
	}, 60*time.Second)
	if err != nil {
		return nil, err
	}
	p.Lifecycle.Append(fx.StopHook(c.Close))
	return c, nil
}
