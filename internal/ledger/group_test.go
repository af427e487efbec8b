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

	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/models"
)

// groupCounts count a ledger's group transactions, the calls they took and the calls
// that ran again alone, from the time count installed them (Ledger.ObserveGroups).
type groupCounts struct {
	mu                     sync.Mutex
	groups, grouped, alone int64
}

func count(l *ledger.Ledger) *groupCounts {
	c := &groupCounts{}
	l.ObserveGroups(func(calls int, committed bool) {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.groups++
		c.grouped += int64(calls)
		if !committed {
			c.alone += int64(calls)
		}
	})
	return c
}

func (c *groupCounts) get() (groups, grouped, alone int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.groups, c.grouped, c.alone
}

// queued runs fns as Run calls that are all queued, in their order, behind a call
// that holds the ledger's only group slot, so that one group transaction takes them
// all. It answers each call's error and how many of them ran again alone.
func queued(t *testing.T, l *ledger.Ledger, fns ...func(tx *ledger.Tx) error) ([]error, int64) {
	t.Helper()
	if ledger.GroupSlots(l) != 1 {
		l.SetGroup(ledger.DefaultGroupMax, 1)
	}
	counts := count(l)
	ctx := context.Background()
	inside, release := make(chan struct{}), make(chan struct{})
	var signal sync.Once
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		// The blocker posts nothing: it only holds the slot.
		_ = l.Run(ctx, func(*ledger.Tx) error {
			signal.Do(func() { close(inside) })
			<-release
			return nil
		})
	}()
	<-inside
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	defer free() // a failed require below must not leave the blocker holding the slot
	errs := make([]error, len(fns))
	for i, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.Run(ctx, fn)
		}()
		require.Eventually(t, func() bool { return ledger.GroupQueued(l) == i+1 }, 5*time.Second, time.Millisecond)
	}
	free()
	wg.Wait()
	groups, grouped, alone := counts.get()
	require.Equal(t, int64(2), groups, "the blocker's group and one group of every queued call")
	require.Equal(t, int64(len(fns)+1), grouped)
	return errs, alone
}

// inOneGroup is queued, checking whether the group failed and each call ran again
// alone (alone) or the group committed.
func inOneGroup(t *testing.T, l *ledger.Ledger, alone bool, fns ...func(tx *ledger.Tx) error) []error {
	t.Helper()
	errs, ranAlone := queued(t, l, fns...)
	if alone {
		require.Equal(t, int64(len(fns)), ranAlone, "the group failed: each call ran again alone")
	} else {
		require.Zero(t, ranAlone, "the group committed")
	}
	return errs
}

func post(p ledger.Posting, j *ledger.Journal) func(tx *ledger.Tx) error {
	return func(tx *ledger.Tx) error {
		var err error
		*j, err = tx.Post(p)
		return err
	}
}

func TestGroupCommitsConcurrentPostingsInOneTransaction(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			f := newFixture(t, b)
			w1, w2 := f.wallet(t, 1000), f.wallet(t, 0)
			journalsBefore := f.count(t, "journals")
			js := make([]ledger.Journal, 4)
			errs := inOneGroup(t, f.l, false,
				// A payment from w1, a top-up of w2 and a payment from w2 that only
				// the top-up before it in the group makes possible.
				post(credit("pay/1", w1, f.settlement, 700), &js[0]),
				post(credit("topup/w2", f.clearing, w2, 300), &js[1]),
				post(credit("pay/2", w2, f.settlement, 250), &js[2]),
				// The same key again, later in the group: answered, not posted.
				post(credit("pay/1", w1, f.settlement, 700), &js[3]),
			)
			for _, err := range errs {
				require.NoError(t, err)
			}
			require.False(t, js[0].Existing)
			require.True(t, js[3].Existing)
			require.Equal(t, js[0].ID, js[3].ID)
			require.Equal(t, journalsBefore+3, f.count(t, "journals"))
			require.Equal(t, int64(300), f.balance(t, w1))
			require.Equal(t, int64(50), f.balance(t, w2))
			require.Equal(t, int64(950), f.balance(t, f.settlement))
			f.requireChained(t, w1)
			f.requireChained(t, w2)
			f.requireChained(t, f.settlement)
			f.requireOK(t)
			// What the group posted is found by its keys, as any posting is.
			j, ok, err := f.l.Posted(context.Background(), "pay/2")
			require.NoError(t, err)
			require.True(t, ok)
			require.Equal(t, js[2].ID, j.ID)
		})
	}
}

func TestGroupMemberRefusedDoesNotFailItsNeighbours(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			f := newFixture(t, b)
			w1, w2 := f.wallet(t, 500), f.wallet(t, 500)
			var j1, j2, j3 ledger.Journal
			var statusSet bool
			errs := inOneGroup(t, f.l, true,
				post(credit("pay/a", w1, f.settlement, 400), &j1),
				// More than w2 holds: refused, after it wrote a status row of its
				// own, which must not stay.
				func(tx *ledger.Tx) error {
					statusSet = true
					if _, err := tx.PlaceHold(ledger.HoldRequest{Key: "hold/b", AccountID: w2, Amount: 100, Currency: "CNY", Flow: models.FlowWithdrawal, FlowID: "b"}); err != nil {
						return err
					}
					var err error
					j2, err = tx.Post(credit("pay/b", w2, f.settlement, 900))
					return err
				},
				post(credit("pay/c", w2, f.settlement, 200), &j3),
			)
			require.True(t, statusSet)
			require.NoError(t, errs[0])
			require.ErrorIs(t, errs[1], ledger.ErrInsufficientFunds)
			require.NoError(t, errs[2])
			require.NotEmpty(t, j1.ID)
			require.Empty(t, j2.ID)
			require.NotEmpty(t, j3.ID)
			require.Equal(t, int64(100), f.balance(t, w1))
			require.Equal(t, int64(300), f.balance(t, w2))
			require.Zero(t, f.count(t, "holds"), "the refused call's hold rolled back with it")
			a, err := f.l.Account(context.Background(), "mch_a", w2)
			require.NoError(t, err)
			require.Zero(t, a.Held)
			f.requireOK(t)
		})
	}
}

func TestGroupReplayOfAKeyPostedBeforeAnswersTheFirstJournal(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			f := newFixture(t, b)
			w := f.wallet(t, 1000)
			first := f.topup(t, w, 100, "topup/replayed")
			var again, other ledger.Journal
			errs := inOneGroup(t, f.l, true,
				post(credit("pay/x", w, f.settlement, 10), &other),
				post(credit("topup/replayed", f.clearing, w, 100), &again),
			)
			require.NoError(t, errs[0])
			require.NoError(t, errs[1])
			require.True(t, again.Existing)
			require.Equal(t, first.ID, again.ID)
			require.Equal(t, int64(1090), f.balance(t, w))
			f.requireOK(t)
		})
	}
}

func TestGroupHoldsAndRecentTopupsSeeEarlierCalls(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			f := newFixture(t, b)
			old := f.wallet(t, 0)
			// Money topped up long ago, then a recent top-up in the same group as a
			// withdrawal hold that may only take the old money.
			f.topup(t, old, 500, "topup/old")
			require.NoError(t, testenv.DateEntries(f.db, time.Now().Add(-72*time.Hour), "account_id = ?", old))
			var recent ledger.Journal
			since := time.Now().Add(-24 * time.Hour)
			hold := func(key string, amount int64) func(tx *ledger.Tx) error {
				return func(tx *ledger.Tx) error {
					_, err := tx.PlaceHold(ledger.HoldRequest{Key: key, AccountID: old, Amount: amount, Currency: "CNY",
						Flow: models.FlowWithdrawal, FlowID: key, RecentSince: since})
					return err
				}
			}
			errs := inOneGroup(t, f.l, true,
				post(credit("topup/recent", f.clearing, old, 400), &recent),
				hold("hold/1", 300),
				// 200 more is available (900 - 300 held) but only 500 is old money.
				hold("hold/2", 300),
			)
			require.NoError(t, errs[0])
			require.NoError(t, errs[1])
			require.ErrorIs(t, errs[2], ledger.ErrNotYetWithdrawable)
			a, err := f.l.Account(context.Background(), "mch_a", old)
			require.NoError(t, err)
			require.Equal(t, int64(900), a.Balance)
			require.Equal(t, int64(300), a.Held)
			f.requireOK(t)
		})
	}
}

// TestGroupAgreesWithOneAtATime runs the same seeded random calls (payments that may
// be refused, top-ups, holds and their settlements and releases, replayed keys) once
// through groups and once one transaction at a time, and compares every answer and
// every balance.
func TestGroupAgreesWithOneAtATime(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			for seed := int64(1); seed <= 3; seed++ {
				grouped, alone := newFixture(t, b), newFixture(t, b)
				alone.l.SetGroup(0, 0)
				rg := randomCalls(t, grouped, seed, true)
				ra := randomCalls(t, alone, seed, false)
				require.Equal(t, ra, rg, "seed %d", seed)
				grouped.requireOK(t)
				alone.requireOK(t)
			}
		})
	}
}

// randomCalls runs 60 seeded random calls on five wallets, in groups of up to ten
// (or one at a time), and describes each answer and the final balances.
func randomCalls(t *testing.T, f fixture, seed int64, group bool) []string {
	rng := rand.New(rand.NewSource(seed))
	wallets := make([]string, 5)
	for i := range wallets {
		wallets[i] = f.wallet(t, int64(rng.Intn(1000)))
	}
	ids := map[string]int{}
	for i, w := range wallets {
		ids[w] = i
	}
	var out []string
	n := 0
	for n < 60 {
		size := 1 + rng.Intn(10)
		answers := make([]string, size)
		fns := make([]func(tx *ledger.Tx) error, size)
		for i := range fns {
			n++
			w := wallets[rng.Intn(len(wallets))]
			amount := int64(1 + rng.Intn(600))
			key := fmt.Sprintf("k/%d", n)
			if rng.Intn(6) == 0 && n > 1 {
				key = fmt.Sprintf("k/%d", 1+rng.Intn(n-1)) // a replay
			}
			ans := &answers[i]
			switch op := rng.Intn(4); op {
			case 0:
				fns[i] = func(tx *ledger.Tx) error {
					j, err := tx.Post(credit(key, f.clearing, w, amount))
					*ans = fmt.Sprintf("topup w%d %d: existing=%v err=%v", ids[w], amount, j.Existing, err)
					return err
				}
			case 1:
				fns[i] = func(tx *ledger.Tx) error {
					j, err := tx.Post(credit(key, w, f.settlement, amount))
					*ans = fmt.Sprintf("pay w%d %d: existing=%v err=%v", ids[w], amount, j.Existing, errors.Is(err, ledger.ErrInsufficientFunds))
					return err
				}
			case 2:
				fns[i] = func(tx *ledger.Tx) error {
					_, err := tx.PlaceHold(ledger.HoldRequest{Key: key, AccountID: w, Amount: amount, Currency: "CNY", Flow: models.FlowWithdrawal, FlowID: key})
					*ans = fmt.Sprintf("hold w%d %d: err=%v", ids[w], amount, errors.Is(err, ledger.ErrInsufficientFunds))
					return err
				}
			default:
				// Settle or release a hold an earlier call may have placed, found in
				// the transaction by its key.
				settle := rng.Intn(2) == 0
				hk := fmt.Sprintf("k/%d", 1+rng.Intn(n))
				fns[i] = func(tx *ledger.Tx) error {
					h, ok, err := tx.HoldByKey(hk)
					if err != nil {
						return err
					}
					if !ok {
						*ans = "no hold " + hk
						return nil
					}
					if settle {
						_, err = tx.SettleHold(h.ID, credit(hk+"/settle", h.AccountID, f.settlement, h.Amount))
					} else {
						_, err = tx.ReleaseHold(h.ID)
					}
					*ans = fmt.Sprintf("close %s settle=%v: err=%v", hk, settle, errors.Is(err, ledger.ErrHoldClosed))
					return err
				}
			}
		}
		if group && size > 1 {
			queued(t, f.l, fns...)
		} else {
			for _, fn := range fns {
				_ = f.l.Run(context.Background(), fn)
			}
		}
		out = append(out, answers...)
	}
	for _, w := range wallets {
		a, err := f.l.Account(context.Background(), "mch_a", w)
		require.NoError(t, err)
		out = append(out, fmt.Sprintf("w%d balance %d held %d", ids[w], a.Balance, a.Held))
	}
	out = append(out, fmt.Sprintf("settlement %d", f.balance(t, f.settlement)))
	return out
}

// TestGroupManyConcurrentCalls posts from many goroutines at once, as concurrent
// flows do, with group commit on: every posting lands once and the ledger holds.
func TestGroupManyConcurrentCalls(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			f := newFixture(t, b)
			wallets := make([]string, 8)
			for i := range wallets {
				wallets[i] = f.wallet(t, 10_000)
			}
			f.l.SetGroup(ledger.DefaultGroupMax, ledger.DefaultGroupSlots)
			counts := count(f.l)
			var wg sync.WaitGroup
			errs := make(chan error, 400)
			for i := 0; i < 400; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					// Every key twice: the second is answered, not posted.
					errs <- f.pay(context.Background(), wallets[i%8], 10, fmt.Sprintf("pay/%d", i%200))
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				require.NoError(t, err)
			}
			for _, w := range wallets {
				require.Equal(t, int64(10_000-25*10), f.balance(t, w))
			}
			require.Equal(t, int64(200*10), f.balance(t, f.settlement))
			groups, grouped, _ := counts.get()
			require.Equal(t, int64(400), grouped)
			require.Less(t, groups, int64(400), "concurrent calls shared transactions")
			f.requireOK(t)
		})
	}
}

// TestGroupCachedAccountChangedElsewhere: a group keeps the accounts it committed, and
// a later group that takes them from its cache must still see a change made since by
// another transaction (here PostBatch, which does not group): the payment that the
// cached balance would allow is refused.
func TestGroupCachedAccountChangedElsewhere(t *testing.T) {
	for _, b := range testenv.Backends {
		t.Run(string(b), func(t *testing.T) {
			f := newFixture(t, b)
			w := f.wallet(t, 1000)
			var j1, j2 ledger.Journal
			errs := inOneGroup(t, f.l, false, post(credit("pay/1", w, f.settlement, 100), &j1))
			require.NoError(t, errs[0])
			// The group cached w at 900. Another transaction takes 800 of it.
			out, err := f.l.PostBatch(context.Background(), []ledger.Posting{credit("pay/elsewhere", w, f.settlement, 800)})
			require.NoError(t, err)
			require.NoError(t, out[0].Err)
			errs = inOneGroup(t, f.l, true, post(credit("pay/2", w, f.settlement, 500), &j2))
			require.ErrorIs(t, errs[0], ledger.ErrInsufficientFunds)
			require.Equal(t, int64(100), f.balance(t, w))
			// And a payment that fits the real balance goes through.
			require.NoError(t, f.pay(context.Background(), w, 100, "pay/3"))
			require.Zero(t, f.balance(t, w))
			f.requireOK(t)
		})
	}
}
