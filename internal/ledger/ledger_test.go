package ledger_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/models"
)

type fixture struct {
	l          *ledger.Ledger
	db         *store.DB
	clearing   string
	settlement string
	fees       string
}

func newFixture(t *testing.T, b testenv.Backend) fixture {
	db := testenv.Open(t, b)
	l := ledger.New(db)
	ctx := context.Background()
	f := fixture{l: l, db: db}
	var err error
	f.clearing, err = l.EnsureAccount(ctx, ledger.ClearingSpec("banksim", "CNY"))
	require.NoError(t, err)
	f.settlement, err = l.EnsureAccount(ctx, ledger.SettlementSpec("mch_a", "CNY"))
	require.NoError(t, err)
	f.fees, err = l.EnsureAccount(ctx, ledger.FeesSpec("CNY"))
	require.NoError(t, err)
	return f
}

func (f fixture) wallet(t *testing.T, balance int64) string {
	t.Helper()
	id := models.NewID(models.PrefixAccount)
	require.NoError(t, f.db.Transaction(func(tx *gorm.DB) error {
		return ledger.InsertWallet(tx, ledger.NewWallet(id, "mch_a", "CNY", ""))
	}))
	if balance > 0 {
		f.topup(t, id, balance, "topup/"+id+"/credit")
	}
	return id
}

func (f fixture) topup(t *testing.T, wallet string, amount int64, key string) ledger.Journal {
	t.Helper()
	var j ledger.Journal
	require.NoError(t, f.l.Run(context.Background(), func(tx *ledger.Tx) error {
		var err error
		j, err = tx.Post(ledger.Posting{Key: key, Flow: models.FlowTopup, FlowID: wallet, Currency: "CNY",
			Legs: []ledger.Leg{{AccountID: f.clearing, Amount: -amount}, {AccountID: wallet, Amount: amount}}})
		return err
	}))
	return j
}

func (f fixture) pay(ctx context.Context, wallet string, amount int64, key string) error {
	return f.l.Run(ctx, func(tx *ledger.Tx) error {
		_, err := tx.Post(ledger.Posting{Key: key, Flow: models.FlowPayment, FlowID: key, Currency: "CNY",
			Legs: []ledger.Leg{{AccountID: wallet, Amount: -amount}, {AccountID: f.settlement, Amount: amount}}})
		return err
	})
}

func (f fixture) requireOK(t *testing.T) ledger.CheckReport {
	t.Helper()
	r, err := f.l.Check(context.Background())
	require.NoError(t, err)
	require.True(t, r.OK, "ledger check: %+v", r)
	return r
}

func forEachBackend(t *testing.T, fn func(t *testing.T, b testenv.Backend)) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) { fn(t, b) })
	}
}

func TestPostingRules(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		w := f.wallet(t, 1000)
		usd, err := f.l.EnsureAccount(context.Background(), ledger.FeesSpec("USD"))
		require.NoError(t, err)
		tests := []struct {
			name string
			p    ledger.Posting
			want error
		}{
			{"unbalanced", ledger.Posting{Key: "k1", Currency: "CNY", Legs: []ledger.Leg{{w, -10}, {f.settlement, 9}}}, ledger.ErrUnbalanced},
			{"one leg", ledger.Posting{Key: "k2", Currency: "CNY", Legs: []ledger.Leg{{w, 0}}}, ledger.ErrRejected},
			{"mixed currencies", ledger.Posting{Key: "k3", Currency: "CNY", Legs: []ledger.Leg{{w, -10}, {usd, 10}}}, ledger.ErrCurrencyMismatch},
			{"overdraw", ledger.Posting{Key: "k4", Currency: "CNY", Legs: []ledger.Leg{{w, -1001}, {f.settlement, 1001}}}, ledger.ErrInsufficientFunds},
			{"no key", ledger.Posting{Currency: "CNY", Legs: []ledger.Leg{{w, -1}, {f.settlement, 1}}}, ledger.ErrRejected},
			{"over max", ledger.Posting{Key: "k5", Currency: "CNY", Legs: []ledger.Leg{{f.clearing, -models.MaxAmount - 1}, {w, models.MaxAmount + 1}}}, models.ErrInvalidAmount},
		}
		for _, tc := range tests {
			err := f.l.Run(context.Background(), func(tx *ledger.Tx) error { _, err := tx.Post(tc.p); return err })
			require.ErrorIs(t, err, tc.want, tc.name)
			require.ErrorIs(t, err, ledger.ErrRejected, tc.name)
		}
		a, err := f.l.Account(context.Background(), "", w)
		require.NoError(t, err)
		require.Equal(t, int64(1000), a.Balance, "a refused posting moved money")
		f.requireOK(t)
	})
}

// Posting twice, or concurrently, under one key appends one journal.
func TestPostingIsIdempotent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		w := f.wallet(t, 0)
		first := f.topup(t, w, 500, "topup/top_1/credit")
		again := f.topup(t, w, 500, "topup/top_1/credit")
		require.Equal(t, first.ID, again.ID)
		require.True(t, again.Existing)

		var wg sync.WaitGroup
		ids := make([]string, 10)
		errs := make([]error, 10)
		for i := range ids {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs[i] = f.l.Run(context.Background(), func(tx *ledger.Tx) error {
					j, err := tx.Post(ledger.Posting{Key: "topup/top_2/credit", Flow: models.FlowTopup, Currency: "CNY",
						Legs: []ledger.Leg{{f.clearing, -300}, {w, 300}}})
					ids[i] = j.ID
					return err
				})
			}(i)
		}
		wg.Wait()
		for i := range ids {
			require.NoError(t, errs[i])
			require.Equal(t, ids[0], ids[i])
		}
		a, err := f.l.Account(context.Background(), "", w)
		require.NoError(t, err)
		require.Equal(t, int64(800), a.Balance)
		r := f.requireOK(t)
		require.Equal(t, int64(2), r.Journals, "one journal per key")
	})
}

// 20 concurrent wallet payments of 500 against 7000: exactly 14 succeed, 6 fail with
// insufficient funds, and the wallet ends at 0.
func TestConcurrentPaymentsNeverOverdraw(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		w := f.wallet(t, 7000)
		var wg sync.WaitGroup
		var mu sync.Mutex
		ok, nsf := 0, 0
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				err := f.pay(context.Background(), w, 500, fmt.Sprintf("payment/pay_%d/capture", i))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ledger.ErrInsufficientFunds):
					nsf++
				default:
					t.Errorf("payment %d: %v", i, err)
				}
			}(i)
		}
		wg.Wait()
		require.Equal(t, 14, ok)
		require.Equal(t, 6, nsf)
		a, err := f.l.Account(context.Background(), "", w)
		require.NoError(t, err)
		require.Equal(t, int64(0), a.Balance)
		f.requireOK(t)
	})
}

func TestHolds(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		w := f.wallet(t, 1000)
		hold := func(key string, amount int64) (ledger.Hold, error) {
			var h ledger.Hold
			err := f.l.Run(ctx, func(tx *ledger.Tx) error {
				var err error
				h, err = tx.PlaceHold(ledger.HoldRequest{Key: key, AccountID: w, Amount: amount, Currency: "CNY", Flow: models.FlowWithdrawal, FlowID: key})
				return err
			})
			return h, err
		}
		account := func() ledger.Account {
			a, err := f.l.Account(ctx, "", w)
			require.NoError(t, err)
			return a
		}
		h1, err := h1OrFail(hold("withdrawal/wd_1/hold", 600))
		require.NoError(t, err)
		again, err := hold("withdrawal/wd_1/hold", 600)
		require.NoError(t, err)
		require.Equal(t, h1.ID, again.ID, "placing a hold twice must find the first")
		require.Equal(t, ledger.Account{}.Available()+400, account().Available())
		require.Equal(t, int64(600), account().Held)

		_, err = hold("withdrawal/wd_2/hold", 401)
		require.ErrorIs(t, err, ledger.ErrInsufficientFunds)
		// Money held is not available to a payment either.
		require.ErrorIs(t, f.pay(ctx, w, 401, "payment/pay_x/capture"), ledger.ErrInsufficientFunds)

		h2, err := hold("withdrawal/wd_2/hold", 400)
		require.NoError(t, err)
		// Release h2: available back up, balance unchanged.
		require.NoError(t, f.l.Run(ctx, func(tx *ledger.Tx) error { _, err := tx.ReleaseHold(h2.ID); return err }))
		require.NoError(t, f.l.Run(ctx, func(tx *ledger.Tx) error { _, err := tx.ReleaseHold(h2.ID); return err }), "releasing twice is a no-op")
		require.Equal(t, int64(1000), account().Balance)
		require.Equal(t, int64(400), account().Available())

		// Settle h1: balance down by 600, nothing held.
		settle := func() error {
			return f.l.Run(ctx, func(tx *ledger.Tx) error {
				_, err := tx.SettleHold(h1.ID, ledger.Posting{Key: "withdrawal/wd_1/settle", Flow: models.FlowWithdrawal, Currency: "CNY",
					Legs: []ledger.Leg{{w, -600}, {f.clearing, 600}}})
				return err
			})
		}
		require.NoError(t, settle())
		require.NoError(t, settle(), "settling twice finds the first journal")
		a := account()
		require.Equal(t, int64(400), a.Balance)
		require.Equal(t, int64(0), a.Held)
		err = f.l.Run(ctx, func(tx *ledger.Tx) error { _, err := tx.ReleaseHold(h1.ID); return err })
		require.ErrorIs(t, err, ledger.ErrHoldClosed)
		f.requireOK(t)
	})
}

func h1OrFail(h ledger.Hold, err error) (ledger.Hold, error) { return h, err }

// TestLedgerProperty runs random concurrent sequences of top-ups, payments, holds,
// settles and releases, and checks after each run that every invariant holds and
// that each wallet's balance is what the successful operations say.
func TestLedgerProperty(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		for seed := int64(1); seed <= 3; seed++ {
			t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
				f := newFixture(t, b)
				ctx := context.Background()
				wallets := []string{f.wallet(t, 0), f.wallet(t, 0), f.wallet(t, 0)}
				expected := make([]int64, len(wallets))
				var mu sync.Mutex
				var wg sync.WaitGroup
				for g := 0; g < 6; g++ {
					wg.Add(1)
					go func(g int) {
						defer wg.Done()
						rng := rand.New(rand.NewSource(seed*100 + int64(g)))
						var holds []struct {
							id string
							w  int
							a  int64
						}
						for i := 0; i < 25; i++ {
							wi := rng.Intn(len(wallets))
							w := wallets[wi]
							amount := int64(rng.Intn(500) + 1)
							key := fmt.Sprintf("s%d/g%d/i%d", seed, g, i)
							switch op := rng.Intn(5); {
							case op == 0 || op == 1:
								err := f.l.Run(ctx, func(tx *ledger.Tx) error {
									_, err := tx.Post(ledger.Posting{Key: key, Flow: models.FlowTopup, Currency: "CNY",
										Legs: []ledger.Leg{{f.clearing, -amount}, {w, amount}}})
									return err
								})
								if err == nil {
									mu.Lock()
									expected[wi] += amount
									mu.Unlock()
								} else {
									t.Errorf("top-up: %v", err)
								}
							case op == 2:
								err := f.pay(ctx, w, amount, key)
								if err == nil {
									mu.Lock()
									expected[wi] -= amount
									mu.Unlock()
								} else if !errors.Is(err, ledger.ErrInsufficientFunds) {
									t.Errorf("pay: %v", err)
								}
							case op == 3:
								var h ledger.Hold
								err := f.l.Run(ctx, func(tx *ledger.Tx) error {
									var err error
									h, err = tx.PlaceHold(ledger.HoldRequest{Key: key, AccountID: w, Amount: amount, Currency: "CNY", Flow: models.FlowWithdrawal})
									return err
								})
								if err == nil {
									holds = append(holds, struct {
										id string
										w  int
										a  int64
									}{h.ID, wi, amount})
								} else if !errors.Is(err, ledger.ErrInsufficientFunds) {
									t.Errorf("hold: %v", err)
								}
							default:
								if len(holds) == 0 {
									continue
								}
								h := holds[0]
								holds = holds[1:]
								if rng.Intn(2) == 0 {
									require.NoError(t, f.l.Run(ctx, func(tx *ledger.Tx) error { _, err := tx.ReleaseHold(h.id); return err }))
								} else {
									err := f.l.Run(ctx, func(tx *ledger.Tx) error {
										_, err := tx.SettleHold(h.id, ledger.Posting{Key: key, Flow: models.FlowWithdrawal, Currency: "CNY",
											Legs: []ledger.Leg{{wallets[h.w], -h.a}, {f.clearing, h.a}}})
										return err
									})
									if err != nil {
										t.Errorf("settle: %v", err)
									} else {
										mu.Lock()
										expected[h.w] -= h.a
										mu.Unlock()
									}
								}
							}
						}
					}(g)
				}
				wg.Wait()
				f.requireOK(t)
				for i, w := range wallets {
					a, err := f.l.Account(ctx, "", w)
					require.NoError(t, err)
					require.Equal(t, expected[i], a.Balance, "wallet %d", i)
					require.GreaterOrEqual(t, a.Available(), int64(0))
				}
			})
		}
	})
}

// A clearing account is a real channel's: money booked to a router's name (auto) is
// money whose bank nobody can reconcile. The ledger refuses to open one, and the
// check reports one that exists (opened by an older release) as not ok.
func TestClearingAccountOfARouterIsRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		_, err := f.l.EnsureAccount(context.Background(), ledger.ClearingSpec("auto", "CNY"))
		require.ErrorIs(t, err, ledger.ErrRejected)
		_, err = f.l.EnsureAccount(context.Background(), ledger.ClearingSpec("", "CNY"))
		require.ErrorIs(t, err, ledger.ErrRejected)
		f.requireOK(t)

		// What older releases could leave behind.
		require.NoError(t, f.db.Transaction(func(tx *gorm.DB) error {
			return tx.Exec(`INSERT INTO accounts (id, system_key, merchant_id, kind, currency, channel, track_balance, balance, held, version, created_at)
				VALUES ('acct_legacyauto', 'bank_clearing/auto/CNY', '', 'bank_clearing', 'CNY', 'auto', 0, 0, 0, 0, ?)`, time.Now().UTC()).Error
		}))
		r, err := f.l.Check(context.Background())
		require.NoError(t, err)
		require.False(t, r.OK)
		require.Len(t, r.RouterClearing, 1)
		require.Equal(t, "acct_legacyauto", r.RouterClearing[0].AccountID)
	})
}

// TestRecentTopupsAreNotWithdrawable: a hold under a withdrawal delay takes only the
// money top-ups credited before the cut-off; recent top-ups stay counted even when the
// wallet spent since, money that is not a top-up (a refund, say) is not recent, and a
// hold without a cut-off takes all that is available.
func TestRecentTopupsAreNotWithdrawable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		w := f.wallet(t, 1000) // an old top-up, before the cut-off
		cutoff := time.Now()
		f.topup(t, w, 500, "topup/top_new/credit")
		// Another flow's credit (a refund of a wallet payment, out of the settlement
		// account a card payment funded) is not a top-up.
		require.NoError(t, f.l.Run(ctx, func(tx *ledger.Tx) error {
			if _, err := tx.Post(ledger.Posting{Key: "payment/pay_card/capture", Flow: models.FlowPayment, FlowID: "pay_card", Currency: "CNY",
				Legs: []ledger.Leg{{AccountID: f.clearing, Amount: -100}, {AccountID: f.settlement, Amount: 100}}}); err != nil {
				return err
			}
			_, err := tx.Post(ledger.Posting{Key: "refund/re_1/reverse", Flow: models.FlowRefund, FlowID: "re_1", Currency: "CNY",
				Legs: []ledger.Leg{{AccountID: f.settlement, Amount: -100}, {AccountID: w, Amount: 100}}})
			return err
		}))
		hold := func(key string, amount int64, since time.Time) error {
			return f.l.Run(ctx, func(tx *ledger.Tx) error {
				_, err := tx.PlaceHold(ledger.HoldRequest{Key: key, AccountID: w, Amount: amount, Currency: "CNY",
					Flow: models.FlowWithdrawal, FlowID: key, RecentSince: since})
				return err
			})
		}
		recent, err := f.l.RecentTopups(ctx, w, cutoff)
		require.NoError(t, err)
		require.Equal(t, int64(500), recent)

		err = hold("withdrawal/wd_over/hold", 1101, cutoff)
		require.ErrorIs(t, err, ledger.ErrNotYetWithdrawable, "1600 available, 500 of it recent: 1101 is too much")
		require.ErrorIs(t, err, ledger.ErrRejected)
		require.NotErrorIs(t, err, ledger.ErrInsufficientFunds)
		require.ErrorIs(t, hold("withdrawal/wd_all/hold", 1601, cutoff), ledger.ErrInsufficientFunds, "more than available is plain insufficient funds")
		a, err := f.l.Account(ctx, "", w)
		require.NoError(t, err)
		require.Equal(t, int64(0), a.Held, "a refused hold holds nothing")

		require.NoError(t, hold("withdrawal/wd_ok/hold", 1100, cutoff))
		// Spending the rest does not free the recent money: 500 left, all of it recent.
		require.NoError(t, f.pay(ctx, w, 400, "payment/pay_spend/capture"))
		require.ErrorIs(t, hold("withdrawal/wd_more/hold", 1, cutoff), ledger.ErrNotYetWithdrawable)
		// Once the delay has passed (a cut-off after the top-up), it may leave.
		require.NoError(t, hold("withdrawal/wd_later/hold", 50, time.Now()))
		// No cut-off: no delay.
		require.NoError(t, hold("withdrawal/wd_nodelay/hold", 50, time.Time{}))
		f.requireOK(t)
	})
}
