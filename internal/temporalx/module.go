package temporalx

import (
	"context"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/config"
)

// Module provides a connected Temporal client, closed on stop.
var Module = fx.Module("temporal",
	fx.Provide(func(lc fx.Lifecycle, cfg config.Config, log *logrus.Entry) (client.Client, error) {
		c, err := Dial(context.Background(), ClientConfig{
			Address: cfg.TemporalAddress, Namespace: cfg.TemporalNamespace, TLS: cfg.TemporalTLS, Logger: log,
		}, 60*time.Second)
		if err != nil {
			return nil, err
		}
		lc.Append(fx.StopHook(c.Close))
		return c, nil
	}),
)
