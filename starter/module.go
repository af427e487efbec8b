package starter

import (
	"go.temporal.io/sdk/client"
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/config"
)

// Module provides the Starter.
var Module = fx.Module("starter",
	fx.Provide(func(c client.Client, cfg config.Config) *Starter {
		return New(c, Config{TaskQueue: cfg.TaskQueue, BankPoll: cfg.BankPoll, BankDeadline: cfg.BankDeadline, BankDeadlines: cfg.BankDeadlines, ApprovalTimeout: cfg.ApprovalTimeout})
	}),
)
