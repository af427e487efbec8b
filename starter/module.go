package starter

import (
	"net/http"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/sdk/client"
	"go.uber.org/fx"

	"github.com/payflow/payflow/internal/bank/fund"
	"github.com/payflow/payflow/internal/config"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/metrics"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

// depsParams are the services' dependencies; the flows started are counted in the
// process's metrics when it has them.
type depsParams struct {
	fx.In
	Store   *store.Store
	Ledger  *ledger.Ledger
	Log     *logrus.Entry
	Metrics *metrics.Metrics `optional:"true"`
}

// Module provides the Starter and, for the processes that ask for them, the
// services.
var Module = fx.Module("starter",
	fx.Provide(func(c client.Client, cfg config.Config) *Starter {
		return New(c, Config{TaskQueue: cfg.TaskQueue, Bank: models.BankTiming{BankPoll: cfg.BankPoll, BankDeadline: cfg.BankDeadline, BankDeadlines: cfg.BankDeadlines}, ApprovalTimeout: cfg.ApprovalTimeout, CodeConfirmTimeout: cfg.CodeConfirmTimeout})
	}),
	fx.Provide(
		func(p depsParams) Deps {
			d := Deps{Store: p.Store, Ledger: p.Ledger, Log: p.Log.WithField("component", "services")}
			if p.Metrics != nil {
				d.Started = p.Metrics
			}
			return d
		},
		func(d Deps, s *Starter, cfg config.Config) *Payments {
			return &Payments{Deps: d, Flows: s, PublicURL: cfg.PublicURL}
		},
		func(d Deps, s *Starter) *Refunds { return &Refunds{Deps: d, Flows: s} },
		func(d Deps, s *Starter) *Wallets { return &Wallets{Deps: d, Flows: s} },
		func(d Deps, s *Starter) *Events { return &Events{Deps: d, Flows: s} },
		func(d Deps, s *Starter) *Reconciliations { return &Reconciliations{Deps: d, Flows: s} },
		func(d Deps, s *Starter) *Merchants { return &Merchants{Deps: d, Flows: s} },
		func(d Deps, s *Starter) *Yield { return &Yield{Deps: d, Flows: s} },
		func(d Deps, s *Starter, cfg config.Config) *Identity {
			return &Identity{Deps: d, Flows: s, Cfg: IdentityConfig{
				HMACKey: IdentityHMACKey(cfg.SecretsKey), CacheTTL: cfg.VerificationCacheTTL, CreditReuse: cfg.CreditReuse,
				CreditRetain: cfg.CreditRetention, BureauPoll: cfg.BureauPoll, BureauDeadline: cfg.BureauDeadline,
			}}
		},
		func(d Deps, s *Starter, cfg config.Config) *Fund {
			return &Fund{Deps: d, Flows: s, Company: fund.New(cfg.BanksimURL, &http.Client{Timeout: 5 * time.Second}),
				Cfg: FundConfig{Poll: cfg.FundPoll}}
		},
	),
)
