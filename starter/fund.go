package starter

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/bank/fund"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// FundFlows starts and talks to the fund orders' flows (the Starter).
type FundFlows interface {
	StartFundOrder(ctx context.Context, in models.FundOrderInput) error
	SignalFundOrder(ctx context.Context, workflowID string) error
	Awaiter
}

// FundCompany is what the API asks the fund company directly: its products with
// their latest NAV, and its trading calendar (package fund's Client).
type FundCompany interface {
	Products(ctx context.Context) ([]fund.Product, error)
	Calendar(ctx context.Context, from, to string) (fund.Calendar, error)
}

// FundConfig is the fund marketplace's configuration.
type FundConfig struct {
	// Poll is how long an order's flow waits for the fund company's callback before
	// it asks (PAYFLOW_FUND_POLL).
	Poll time.Duration
	// ProductsTTL is how long the API keeps the products and the calendar it read.
	ProductsTTL time.Duration
}

// Fund is the fund marketplace: products, wallets' risk profiles, subscriptions,
// redemptions and positions.
type Fund struct {
	Deps
	Flows   FundFlows
	Company FundCompany
	Cfg     FundConfig

	mu       sync.Mutex
	products []models.Product
	cal      models.TradingCalendar
	readAt   time.Time
}

// Errors of the fund marketplace.
var (
	// ErrUnknownProduct: the fund company has no such product.
	ErrUnknownProduct = errors.New("no such product")
	// ErrRiskMismatch: the product is riskier than the wallet's assessed level (or
	// the wallet has no assessment).
	ErrRiskMismatch = errors.New("the product is riskier than the wallet's risk profile")
	// ErrNoRiskProfile: the wallet was never assessed (also ErrRiskMismatch).
	ErrNoRiskProfile = fmt.Errorf("%w: the wallet has no risk profile", ErrRiskMismatch)
	// ErrBelowMinimum: a subscription under the product's minimum.
	ErrBelowMinimum = errors.New("amount under the product's minimum")
	// ErrInsufficientFunds: the wallet's available money does not cover it.
	ErrInsufficientFunds = errors.New("insufficient available funds")
	// ErrInsufficientShares: more shares than the wallet's free shares.
	ErrInsufficientShares = errors.New("more shares than the wallet holds free")
	// ErrFundUnavailable: the fund company did not answer; nothing was stored.
	ErrFundUnavailable = errors.New("the fund company is unavailable")
)

// fundKind is how an order kind goes through createAndStart.
func fundKind(kind models.FundOrderKind, insert func(*gorm.DB, models.FundOrder) error) moneyKind[models.FundOrder] {
	flow := kind.Flow()
	return moneyKind[models.FundOrder]{
		name: string(kind), flow: flow, channel: func(models.FundOrder) string { return "fund" },
		workflowID: func(merchantID, id string) string { return workflows.FlowWorkflowID(flow, merchantID, id) },
		insert:     insert,
		load: func(st *store.Store, ctx context.Context, merchantID, id string) (models.FundOrder, error) {
			return st.FundOrder(ctx, merchantID, kind, id)
		},
		final: func(o models.FundOrder) bool {
			return o.Status == models.FundOrderFailed || o.Status == models.FundOrderPaid ||
				o.Status == models.FundOrderConfirmed && kind == models.FundSubscription
		},
	}
}

func (s *Fund) ttl() time.Duration {
	if s.Cfg.ProductsTTL > 0 {
		return s.Cfg.ProductsTTL
	}
	return 30 * time.Second
}

// refresh reads the products and the calendar (from yesterday to 60 days ahead)
// when the copy in hand is older than the TTL.
func (s *Fund) refresh(ctx context.Context) ([]models.Product, models.TradingCalendar, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.products != nil && now.Sub(s.readAt) < s.ttl() {
		return s.products, s.cal, nil
	}
	ps, err := s.Company.Products(ctx)
	if err != nil {
		return nil, models.TradingCalendar{}, fmt.Errorf("%w: %w", ErrFundUnavailable, err)
	}
	local := now.In(models.Shanghai)
	from, to := local.AddDate(0, 0, -1).Format(models.DayLayout), local.AddDate(0, 0, 60).Format(models.DayLayout)
	c, err := s.Company.Calendar(ctx, from, to)
	if err != nil {
		return nil, models.TradingCalendar{}, fmt.Errorf("%w: %w", ErrFundUnavailable, err)
	}
	out := make([]models.Product, len(ps))
	for i, p := range ps {
		out[i] = models.Product{ID: p.ID, Object: "product", Name: p.Name, Kind: p.Kind, RiskLevel: p.RiskLevel,
			Currency: models.Currency(p.Currency), MinAmount: p.MinAmount, Cutoff: p.Cutoff, ConfirmDays: p.ConfirmDays,
			SettleDays: p.SettleDays, SubscriptionFeeBps: p.SubscriptionFeeBps, RedemptionFeeBps: p.RedemptionFeeBps,
			NAV: p.NAV, NAVDate: p.NAVDate}
	}
	s.products, s.cal, s.readAt = out, models.TradingCalendar{From: c.From, To: c.To, Days: c.TradingDays}, now
	return s.products, s.cal, nil
}

// Products lists the fund company's products with their latest NAV.
func (s *Fund) Products(ctx context.Context) ([]models.Product, error) {
	ps, _, err := s.refresh(ctx)
	return ps, err
}

func (s *Fund) product(ctx context.Context, id string) (models.Product, models.TradingCalendar, error) {
	ps, cal, err := s.refresh(ctx)
	if err != nil {
		return models.Product{}, cal, err
	}
	for _, p := range ps {
		if p.ID == id {
			return p, cal, nil
		}
	}
	return models.Product{}, cal, ErrUnknownProduct
}

// wallet is one of the merchant's wallets (ErrNotFound otherwise).
func (s *Fund) wallet(ctx context.Context, merchantID, accountID string) (ledger.Account, error) {
	a, err := s.Ledger.Account(ctx, merchantID, accountID)
	switch {
	case errors.Is(err, ledger.ErrAccountNotFound) || errors.Is(err, store.ErrNotFound) || err == nil && a.Kind != ledger.KindCustomerWallet:
		return ledger.Account{}, ErrNotFound
	case err != nil:
		return ledger.Account{}, fmt.Errorf("get account %s: %w", accountID, err)
	}
	return a, nil
}

// SetRiskProfile records the level a wallet's owner was assessed at (1-5).
func (s *Fund) SetRiskProfile(ctx context.Context, merchantID, accountID string, level int) (models.RiskProfile, error) {
	if _, err := s.wallet(ctx, merchantID, accountID); err != nil {
		return models.RiskProfile{}, err
	}
	p := models.RiskProfile{AccountID: accountID, Level: level, AssessedAt: s.now()}
	if err := s.Store.SetRiskProfile(ctx, merchantID, p); err != nil {
		return models.RiskProfile{}, err
	}
	return p, nil
}

// NewFundOrder is a subscription (Amount) or a redemption (Shares) that passed the
// API's checks.
type NewFundOrder struct {
	Idempotent
	Kind      models.FundOrderKind
	AccountID string
	ProductID string
	Amount    int64
	Shares    int64
	NotifyURL string
}

// CreateFundOrder checks an order against the product (its minimum, its risk level
// against the wallet's profile, its currency), dates it (the trade date by the
// cut-off and the trading calendar, the expected confirmation and settlement), and
// stores it and starts its flow, which holds the money or shares. A wallet whose
// available money or free shares do not cover it is refused, nothing stored.
func (s *Fund) CreateFundOrder(ctx context.Context, req NewFundOrder) (Created[models.FundOrder], error) {
	var none Created[models.FundOrder]
	w, err := s.wallet(ctx, req.MerchantID, req.AccountID)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return none, ErrInvalidAccount
		}
		return none, err
	}
	if _, err := activeMerchant(ctx, s.Store, req.MerchantID); err != nil {
		return none, err
	}
	p, cal, err := s.product(ctx, req.ProductID)
	if err != nil {
		return none, err
	}
	if w.Currency != p.Currency {
		return none, &WalletCurrencyError{Wallet: w}
	}
	if req.Kind == models.FundSubscription {
		if req.Amount < p.MinAmount {
			return none, fmt.Errorf("%w: %d < %d", ErrBelowMinimum, req.Amount, p.MinAmount)
		}
		profile, err := s.Store.RiskProfile(ctx, req.AccountID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return none, ErrNoRiskProfile
		case err != nil:
			return none, err
		case profile.Level < p.RiskLevel:
			return none, fmt.Errorf("%w: product %d, wallet %d", ErrRiskMismatch, p.RiskLevel, profile.Level)
		}
	}
	now := s.now()
	trade, err := cal.TradeDate(now, p.Cutoff)
	if err != nil {
		return none, fmt.Errorf("%w: %w", ErrFundUnavailable, err)
	}
	confirm, err := cal.After(trade, p.ConfirmDays)
	if err != nil {
		return none, fmt.Errorf("%w: %w", ErrFundUnavailable, err)
	}
	prefix := models.PrefixSubscription
	o := models.FundOrder{Object: string(req.Kind), AccountID: req.AccountID, ProductID: p.ID, Status: models.FundOrderProcessing,
		Currency: p.Currency, TradeDate: trade, ExpectedConfirmDate: confirm, CreatedAt: now}
	if req.Kind == models.FundRedemption {
		prefix = models.PrefixRedemption
		if o.ExpectedSettleDate, err = cal.After(trade, p.SettleDays); err != nil {
			return none, fmt.Errorf("%w: %w", ErrFundUnavailable, err)
		}
		o.Shares = req.Shares
	} else {
		o.Amount = req.Amount
	}
	o.ID = models.NewID(prefix)
	insert := func(tx *gorm.DB, o models.FundOrder) error {
		// Checked inside the idempotency transaction: a replay of the request (after
		// the order spent the money or the shares) never meets the check.
		if req.Kind == models.FundRedemption {
			free, _, err := ledger.AvailableIn(tx, ledger.PositionSpec(req.AccountID, p.ID))
			if err != nil {
				return err
			}
			if free < req.Shares {
				return fmt.Errorf("%w: %d free, %d asked", ErrInsufficientShares, free, req.Shares)
			}
		} else {
			free, err := ledger.WalletAvailableIn(tx, req.AccountID)
			if err != nil {
				return err
			}
			if free < req.Amount {
				return fmt.Errorf("%w: %d available, %d asked", ErrInsufficientFunds, free, req.Amount)
			}
		}
		return store.InsertFundOrder(tx, req.MerchantID, req.NotifyURL, o)
	}
	poll := s.Cfg.Poll
	if poll <= 0 {
		poll = DefaultFundPoll
	}
	return createAndStart(ctx, s.Deps, s.Flows, req.Idempotent, fundKind(req.Kind, insert), o.ID, o, func(ctx context.Context, o models.FundOrder) error {
		return s.Flows.StartFundOrder(ctx, models.FundOrderInput{
			OrderID: o.ID, Kind: req.Kind, MerchantID: req.MerchantID, AccountID: o.AccountID, ProductID: o.ProductID,
			Currency: o.Currency, Amount: o.Amount, Shares: o.Shares, TradeDate: o.TradeDate, NotifyURL: req.NotifyURL, Poll: poll,
		})
	})
}

// DefaultFundPoll is how long an order's flow waits for a callback before it asks
// the fund company (PAYFLOW_FUND_POLL).
const DefaultFundPoll = time.Minute

// Subscription returns one of the merchant's subscriptions.
func (s *Fund) Subscription(ctx context.Context, merchantID, id string) (models.FundOrder, error) {
	return s.Store.FundOrder(ctx, merchantID, models.FundSubscription, id)
}

// Redemption returns one of the merchant's redemptions.
func (s *Fund) Redemption(ctx context.Context, merchantID, id string) (models.FundOrder, error) {
	return s.Store.FundOrder(ctx, merchantID, models.FundRedemption, id)
}

// Positions lists a wallet's holdings with their market value at each product's
// latest NAV.
func (s *Fund) Positions(ctx context.Context, merchantID, accountID string) ([]models.Position, error) {
	w, err := s.wallet(ctx, merchantID, accountID)
	if err != nil {
		return nil, err
	}
	accts, err := s.Ledger.Positions(ctx, accountID)
	if err != nil {
		return nil, err
	}
	out := make([]models.Position, 0, len(accts))
	if len(accts) == 0 {
		return out, nil
	}
	ps, err := s.Products(ctx)
	if err != nil {
		return nil, err
	}
	for _, a := range accts {
		id, _ := a.Currency.ShareProduct()
		pos := models.Position{ProductID: id, Shares: a.Balance, HeldShares: a.Held, Currency: w.Currency}
		for _, p := range ps {
			if p.ID == id {
				pos.NAV, pos.NAVDate, pos.Currency = p.NAV, p.NAVDate, p.Currency
			}
		}
		if pos.MarketValue, err = models.MarketValue(pos.Shares, pos.NAV); err != nil {
			return nil, fmt.Errorf("market value of %s: %w", a.ID, err)
		}
		out = append(out, pos)
	}
	return out, nil
}

// SignalFundCallback wakes the flow of the order a fund company's callback names
// (a hint: the flow asks the fund company). An order payflow does not have is
// ErrNotFound.
func (s *Fund) SignalFundCallback(ctx context.Context, orderID string) error {
	merchantID, kind, err := s.Store.FundOrderOwner(ctx, orderID)
	if err != nil {
		return err
	}
	return s.Flows.SignalFundOrder(ctx, workflows.FlowWorkflowID(kind.Flow(), merchantID, orderID))
}
