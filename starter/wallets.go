package starter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/workflows"
)

// Account is a ledger account (a customer wallet) as the services answer it.
type Account = ledger.Account

// StatementLine is one line of a wallet's statement.
type StatementLine = ledger.StatementLine

// WalletFlows starts the flows of top-ups and withdrawals and waits for them (the
// Starter).
type WalletFlows interface {
	StartTopup(ctx context.Context, in models.TopupInput) error
	StartWithdrawal(ctx context.Context, in models.WithdrawalInput) error
	Awaiter
}

// Wallets is the wallets service: customer wallets, their statements, and the
// top-ups and withdrawals that move money into and out of them.
type Wallets struct {
	Deps
	Flows WalletFlows
}

// NewAccount is a wallet request that passed the API's checks.
type NewAccount struct {
	Idempotent
	Currency  models.Currency
	Reference string
}

// CreateAccount opens a customer wallet under the request's Idempotency-Key (a
// replay gets the first wallet, as it is now).
func (s *Wallets) CreateAccount(ctx context.Context, req NewAccount) (Created[Account], error) {
	w := ledger.NewWallet(models.NewID(models.PrefixAccount), req.MerchantID, req.Currency, req.Reference)
	id, created, err := s.Store.CreateOnce(ctx, store.IdempotentRequest{
		MerchantID: req.MerchantID, Key: req.Key, Fingerprint: req.Fingerprint, ObjectID: w.ID,
	}, func(tx *gorm.DB) error { return ledger.InsertWallet(tx, w) })
	if err != nil {
		return Created[Account]{}, err
	}
	a, err := s.Ledger.Account(ctx, req.MerchantID, id)
	if err != nil {
		return Created[Account]{}, fmt.Errorf("load account %s: %w", id, err)
	}
	return Created[Account]{Object: a, Replayed: !created, Final: true}, nil
}

// Account returns one of the merchant's wallets, with what top-ups credited to it
// within the merchant's withdrawal delay (Recent); ErrNotFound (also for an account
// that is not a customer wallet).
func (s *Wallets) Account(ctx context.Context, merchantID, id string) (Account, error) {
	a, err := s.Ledger.Account(ctx, merchantID, id)
	switch {
	case errors.Is(err, ledger.ErrAccountNotFound) || errors.Is(err, store.ErrNotFound) || err == nil && a.Kind != ledger.KindCustomerWallet:
		return Account{}, ErrNotFound
	case err != nil:
		return Account{}, fmt.Errorf("get account %s: %w", id, err)
	}
	m, err := s.Store.Merchant(ctx, merchantID)
	if err != nil {
		return Account{}, fmt.Errorf("load merchant: %w", err)
	}
	if m.WithdrawalDelaySeconds > 0 {
		since := s.now().Add(-time.Duration(m.WithdrawalDelaySeconds) * time.Second)
		if a.Recent, err = s.Ledger.RecentTopups(ctx, a.ID, since); err != nil {
			return Account{}, err
		}
	}
	return a, nil
}

// CreatePaymentCode draws a payment code for one of the merchant's wallets, live
// for models.PaymentCodeTTL and good for one payment; the wallet's earlier code
// not used yet is voided. ErrNotFound for anything but the merchant's wallet;
// ErrMerchantDisabled.
func (s *Wallets) CreatePaymentCode(ctx context.Context, merchantID, accountID string) (models.PaymentCode, error) {
	a, err := s.Ledger.Account(ctx, merchantID, accountID)
	switch {
	case errors.Is(err, ledger.ErrAccountNotFound) || errors.Is(err, store.ErrNotFound) || err == nil && a.Kind != ledger.KindCustomerWallet:
		return models.PaymentCode{}, ErrNotFound
	case err != nil:
		return models.PaymentCode{}, fmt.Errorf("get account %s: %w", accountID, err)
	}
	if _, err := activeMerchant(ctx, s.Store, merchantID); err != nil {
		return models.PaymentCode{}, err
	}
	code, err := models.NewWalletCode()
	if err != nil {
		return models.PaymentCode{}, fmt.Errorf("draw payment code: %w", err)
	}
	now := s.now()
	expires := now.Add(models.PaymentCodeTTL)
	if err := s.Store.CreatePaymentCode(ctx, merchantID, a.ID, code, expires, now); err != nil {
		return models.PaymentCode{}, err
	}
	return models.PaymentCode{Object: "payment_code", Code: code, AccountID: a.ID, ExpiresAt: expires}, nil
}

// Statement pages through a wallet's lines, newest first; ErrUnknownCursor when
// startingAfter is not an entry of this wallet (another merchant's, another wallet's,
// or none).
func (s *Wallets) Statement(ctx context.Context, accountID string, limit int, startingAfter string) ([]StatementLine, bool, error) {
	if startingAfter != "" {
		ok, err := s.Ledger.HasEntry(ctx, accountID, startingAfter)
		if err != nil {
			return nil, false, fmt.Errorf("check starting_after: %w", err)
		}
		if !ok {
			return nil, false, ErrUnknownCursor
		}
	}
	return s.Ledger.Statement(ctx, accountID, limit, startingAfter)
}

// NewTopup is a top-up request that passed the API's checks of its fields.
type NewTopup struct {
	Idempotent
	AccountID string
	Amount    int64
	Currency  models.Currency
	// Token is the card charged, through Channel; CardID, instead, a card bound
	// to the wallet.
	Token     string
	CardID    string
	Channel   string
	NotifyURL string
}

// CreateTopup stores the top-up under the request's Idempotency-Key and starts its
// flow; ErrInvalidAccount, *WalletCurrencyError, ErrMerchantDisabled.
func (s *Wallets) CreateTopup(ctx context.Context, req NewTopup) (Created[models.Topup], error) {
	acct, m, err := s.walletFlow(ctx, req.MerchantID, req.AccountID, req.Currency)
	if err != nil {
		return Created[models.Topup]{}, err
	}
	src := models.PaymentSource{Type: models.SourceCard, Token: req.Token}
	var agreement string
	if req.CardID != "" {
		if agreement, err = s.cardAgreement(ctx, req.MerchantID, acct.ID, req.CardID); err != nil {
			return Created[models.Topup]{}, err
		}
		src, req.Channel = models.PaymentSource{Type: models.SourceBoundCard, CardID: req.CardID}, models.BoundCardChannel
	}
	now := s.now()
	t := models.Topup{
		ID: models.NewID(models.PrefixTopup), Object: "topup", MerchantID: req.MerchantID, AccountID: acct.ID,
		Amount: req.Amount, Currency: req.Currency, Source: src,
		Channel: req.Channel, Status: models.TopupProcessing, NotifyURL: cmp.Or(req.NotifyURL, m.NotifyURL), CreatedAt: now, UpdatedAt: now,
	}
	t.WorkflowID = workflows.TopupWorkflowID(req.MerchantID, t.ID)
	return createAndStart(ctx, s.Deps, s.Flows, req.Idempotent, topupKind, t.ID, t, func(ctx context.Context, t models.Topup) error {
		in := t.FlowInput()
		if agreement != "" {
			in.Token = agreement
		}
		return s.Flows.StartTopup(ctx, in)
	})
}

// cardAgreement answers the agreement of a card bound to the wallet, active;
// ErrCardNotActive otherwise.
func (s *Wallets) cardAgreement(ctx context.Context, merchantID, accountID, cardID string) (string, error) {
	agreement, err := s.Store.CardAgreement(ctx, merchantID, accountID, cardID)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrCardNotActive
	}
	return agreement, err
}

// Topup returns one of the merchant's top-ups; ErrNotFound.
func (s *Wallets) Topup(ctx context.Context, merchantID, id string) (models.Topup, error) {
	return s.Store.Topup(ctx, merchantID, id)
}

// NewWithdrawal is a withdrawal request that passed the API's checks of its fields.
type NewWithdrawal struct {
	Idempotent
	AccountID   string
	Amount      int64
	Currency    models.Currency
	BankAccount string
	// BoundCard, instead of BankAccount, is a card bound to the wallet.
	BoundCard string
	Channel   string
	NotifyURL string
}

// CreateWithdrawal stores the withdrawal under the request's Idempotency-Key and
// starts its flow, which holds the amount and, above the merchant's review threshold,
// waits for an operator; ErrInvalidAccount, *WalletCurrencyError, ErrMerchantDisabled,
// *LimitExceededError.
// A withdrawal is answered as soon as its flow has started (no wait).
func (s *Wallets) CreateWithdrawal(ctx context.Context, req NewWithdrawal) (Created[models.Withdrawal], error) {
	acct, m, err := s.walletFlow(ctx, req.MerchantID, req.AccountID, req.Currency)
	if err != nil {
		return Created[models.Withdrawal]{}, err
	}
	dest := models.Destination{BankAccount: req.BankAccount}
	var agreement string
	if req.BoundCard != "" {
		if agreement, err = s.cardAgreement(ctx, req.MerchantID, acct.ID, req.BoundCard); err != nil {
			return Created[models.Withdrawal]{}, err
		}
		dest, req.Channel = models.Destination{BoundCard: req.BoundCard}, models.BoundCardChannel
	}
	now := s.now()
	w := models.Withdrawal{
		ID: models.NewID(models.PrefixWithdrawal), Object: "withdrawal", MerchantID: req.MerchantID, AccountID: acct.ID,
		Amount: req.Amount, Currency: req.Currency, Destination: dest,
		Channel: req.Channel, Status: models.WithdrawalProcessing, NotifyURL: cmp.Or(req.NotifyURL, m.NotifyURL), CreatedAt: now, UpdatedAt: now,
	}
	w.WorkflowID = workflows.WithdrawalWorkflowID(req.MerchantID, w.ID)
	if err := checkLimit(LimitPerTransaction, m.WithdrawalLimitPerTransaction, 0, w.Amount); err != nil {
		return Created[models.Withdrawal]{}, err
	}
	k := withdrawalKind
	if m.WithdrawalLimitDaily != nil {
		// The day's sum is read and the withdrawal stored in one transaction, with the
		// wallet locked, so that concurrent withdrawals cannot both pass.
		k.insert = func(tx *gorm.DB, w models.Withdrawal) error {
			done, err := store.LockWalletWithdrawnSince(tx, w.AccountID, utcDay(now))
			if err != nil {
				return err
			}
			if err := checkLimit(LimitDaily, m.WithdrawalLimitDaily, done, w.Amount); err != nil {
				return err
			}
			return store.InsertWithdrawal(tx, w)
		}
	}
	req.Wait = 0
	return createAndStart(ctx, s.Deps, s.Flows, req.Idempotent, k, w.ID, w, func(ctx context.Context, w models.Withdrawal) error {
		in := w.FlowInput(m.ReviewThreshold)
		if agreement != "" {
			in.BankAccount = agreement
		}
		return s.Flows.StartWithdrawal(ctx, in)
	})
}

// The withdrawal limits a merchant may set, by their field names.
const (
	LimitPerTransaction = "withdrawal_limit_per_transaction"
	LimitDaily          = "withdrawal_limit_daily"
)

// LimitExceededError refuses a withdrawal over one of the merchant's limits; nothing
// is stored.
type LimitExceededError struct {
	// Limit is the field name of the limit, Max its amount and Remaining what is left
	// of it (the limit itself for the per-transaction one).
	Limit          string
	Max, Remaining int64
}

func (e *LimitExceededError) Error() string {
	return fmt.Sprintf("over the %s of %d (%d remaining)", e.Limit, e.Max, e.Remaining)
}

// checkLimit refuses amount if used+amount exceeds the limit (nil: no limit).
func checkLimit(name string, limit *int64, used, amount int64) error {
	if limit == nil || used+amount <= *limit {
		return nil
	}
	return &LimitExceededError{Limit: name, Max: *limit, Remaining: max(*limit-used, 0)}
}

// utcDay is the start of t's UTC day.
func utcDay(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// Withdrawal returns one of the merchant's withdrawals; ErrNotFound.
func (s *Wallets) Withdrawal(ctx context.Context, merchantID, id string) (models.Withdrawal, error) {
	return s.Store.Withdrawal(ctx, merchantID, id)
}

// walletFlow checks what a flow moving money into or out of a wallet needs besides
// its amount: the wallet (the merchant's own, in the currency) and an active
// merchant, in this order.
func (s *Wallets) walletFlow(ctx context.Context, merchantID, accountID string, cur models.Currency) (Account, models.Merchant, error) {
	acct, err := s.Ledger.Account(ctx, merchantID, accountID)
	if err != nil && !errors.Is(err, ledger.ErrAccountNotFound) && !errors.Is(err, store.ErrNotFound) {
		return Account{}, models.Merchant{}, fmt.Errorf("look up account: %w", err)
	}
	if err != nil || acct.Kind != ledger.KindCustomerWallet {
		return Account{}, models.Merchant{}, ErrInvalidAccount
	}
	if acct.Currency != cur {
		return Account{}, models.Merchant{}, &WalletCurrencyError{Wallet: acct}
	}
	m, err := activeMerchant(ctx, s.Store, merchantID)
	if err != nil {
		return Account{}, models.Merchant{}, err
	}
	return acct, m, nil
}
