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

func credit(key, from, to string, amount int64) ledger.Posting {
	return ledger.Posting{Key: key, Flow: models.FlowTopup, FlowID: key, Currency: "CNY",
		Legs: []ledger.Leg{{AccountID: from, Amount: -amount}, {AccountID: to, Amount: amount}}}
}

func (f fixture) count(t *testing.T, table string) int64 {
	t.Helper()
	var n int64
	require.NoError(t, f.db.Table(table).Count(&n).Error)
	return n
}

func (f fixture) balance(t *testing.T, id string) int64 {
	t.Helper()
	a, err := f.l.Account(context.Background(), "", id)
	require.NoError(t, err)
	return a.Balance
}

// entryChain is an account's entries in id order: (amount, balance after, version).
func (f fixture) entryChain(t *testing.T, account string) [][3]int64 {
	t.Helper()
	var rows []struct {
		Amount         int64
		BalanceAfter   int64
		AccountVersion int64
	}
	require.NoError(t, f.db.Table("entries").Select("amount, balance_after, account_version").
		Where("account_id = ?", account).Order("id").Scan(&rows).Error)
	out := make([][3]int64, len(rows))
	for i, r := range rows {
		out[i] = [3]int64{r.Amount, r.BalanceAfter, r.AccountVersion}
	}
	return out
}

// requireChained checks that a tracked account's entries, in id order, carry the
// running balance and consecutive versions, ending at the account's cached ones.
func (f fixture) requireChained(t *testing.T, account string) {
	t.Helper()
	a, err := f.l.Account(context.Background(), "", account)
	require.NoError(t, err)
	var bal int64
	chain := f.entryChain(t, account)
	for i, e := range chain {
		bal += e[0]
		require.Equal(t, bal, e[1], "entry %d of %s: balance after", i, account)
		require.Equal(t, int64(i+1), e[2], "entry %d of %s: version", i, account)
	}
	require.Equal(t, bal, a.Balance)
	require.Equal(t, int64(len(chain)), a.Version)
}

func TestPostBatchOutcomes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		usd, err := f.l.EnsureAccount(ctx, ledger.FeesSpec("USD"))
		require.NoError(t, err)
		type want struct {
			err      error // nil: posted
			existing bool
			sameAs   int // >= 0: answers the journal of postings[sameAs]
		}
		posted := want{sameAs: -1}
		refused := func(err error) want { return want{err: err, sameAs: -1} }
		tests := []struct {
			name string
			// balances of the wallets before the batch
			wallets  []int64
			postings func(k string, w []string) []ledger.Posting
			want     []want
			balances []int64
		}{
			{
				name:    "all new",
				wallets: []int64{0, 0},
				postings: func(k string, w []string) []ledger.Posting {
					return []ledger.Posting{credit(k+"1", f.clearing, w[0], 100), credit(k+"2", f.clearing, w[1], 200)}
				},
				want:     []want{posted, posted},
				balances: []int64{100, 200},
			},
			{
				name:    "refusals answered alone",
				wallets: []int64{50, 0},
				postings: func(k string, w []string) []ledger.Posting {
					return []ledger.Posting{
						credit(k+"1", w[0], f.settlement, 80), // 50 available
						credit(k+"2", f.clearing, w[1], 10),
						{Key: k + "3", Currency: "CNY", Legs: []ledger.Leg{{w[1], -1}, {f.settlement, 2}}},
						credit("", f.clearing, w[1], 1),
						{Key: k + "5", Currency: "CNY", Legs: []ledger.Leg{{w[0], -10}, {usd, 10}}},
						{Key: k + "6", Currency: "CNY", Legs: []ledger.Leg{{f.clearing, -models.MaxAmount - 1}, {w[1], models.MaxAmount + 1}}},
						credit(k+"7", w[0], f.settlement, 50),
					}
				},
				want: []want{refused(ledger.ErrInsufficientFunds), posted, refused(ledger.ErrUnbalanced), refused(ledger.ErrRejected),
					refused(ledger.ErrCurrencyMismatch), refused(models.ErrInvalidAmount), posted},
				balances: []int64{0, 10},
			},
			{
				name:    "insufficient funds mid-batch on one wallet",
				wallets: []int64{100},
				postings: func(k string, w []string) []ledger.Posting {
					return []ledger.Posting{
						credit(k+"1", w[0], f.settlement, 60),
						credit(k+"2", w[0], f.settlement, 60), // 40 left
						credit(k+"3", w[0], f.settlement, 40),
						credit(k+"4", f.clearing, w[0], 10),
						credit(k+"5", w[0], f.settlement, 10),
					}
				},
				want:     []want{posted, refused(ledger.ErrInsufficientFunds), posted, posted, posted},
				balances: []int64{0},
			},
			{
				name:    "a key twice in the batch is posted once",
				wallets: []int64{0},
				postings: func(k string, w []string) []ledger.Posting {
					return []ledger.Posting{credit(k+"1", f.clearing, w[0], 100), credit(k+"1", f.clearing, w[0], 100), credit(k+"2", f.clearing, w[0], 5)}
				},
				want:     []want{posted, {existing: true, sameAs: 0}, posted},
				balances: []int64{105},
			},
			{
				name:    "a key refused then posted in the batch",
				wallets: []int64{0},
				postings: func(k string, w []string) []ledger.Posting {
					return []ledger.Posting{credit(k+"1", w[0], f.settlement, 100), credit(k+"1", f.clearing, w[0], 100)}
				},
				want:     []want{refused(ledger.ErrInsufficientFunds), posted},
				balances: []int64{100},
			},
		}
		for n, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				w := make([]string, len(tc.wallets))
				for i, bal := range tc.wallets {
					w[i] = f.wallet(t, bal)
				}
				postings := tc.postings(fmt.Sprintf("case%d/", n), w)
				journals, entries := f.count(t, "journals"), f.count(t, "entries")
				res, err := f.l.PostBatch(ctx, postings)
				require.NoError(t, err)
				require.Len(t, res, len(postings))
				var newJournals, newEntries int64
				for i, r := range res {
					wt := tc.want[i]
					if wt.err != nil {
						require.ErrorIs(t, r.Err, wt.err, "posting %d", i)
						require.ErrorIs(t, r.Err, ledger.ErrRejected, "posting %d", i)
						require.Empty(t, r.Journal.ID, "posting %d", i)
						continue
					}
					require.NoError(t, r.Err, "posting %d", i)
					require.NotEmpty(t, r.Journal.ID)
					require.Equal(t, postings[i].Key, r.Journal.Key)
					require.Equal(t, wt.existing, r.Journal.Existing, "posting %d", i)
					if wt.sameAs >= 0 {
						require.Equal(t, res[wt.sameAs].Journal.ID, r.Journal.ID, "posting %d", i)
					}
					if !r.Journal.Existing {
						newJournals++
						newEntries += int64(len(postings[i].Legs))
					}
				}
				require.Equal(t, journals+newJournals, f.count(t, "journals"), "journals written")
				require.Equal(t, entries+newEntries, f.count(t, "entries"), "entries written")
				for i, id := range w {
					require.Equal(t, tc.balances[i], f.balance(t, id), "wallet %d", i)
					f.requireChained(t, id)
				}
				f.requireOK(t)

				// The same batch again writes nothing and answers the same journals.
				again, err := f.l.PostBatch(ctx, postings)
				require.NoError(t, err)
				for i, r := range again {
					if res[i].Err != nil && (i+1 >= len(res) || postings[i].Key != postings[i+1].Key) {
						require.ErrorIs(t, r.Err, ledger.ErrRejected, "rerun of %d", i)
						continue
					}
					if res[i].Err != nil {
						// refused, then its key posted by a later posting: now Existing.
						require.NoError(t, r.Err)
						require.Equal(t, res[i+1].Journal.ID, r.Journal.ID)
						continue
					}
					require.NoError(t, r.Err, "rerun of %d", i)
					require.True(t, r.Journal.Existing, "rerun of %d", i)
					require.Equal(t, res[i].Journal.ID, r.Journal.ID, "rerun of %d", i)
				}
				require.Equal(t, journals+newJournals, f.count(t, "journals"), "a rerun wrote journals")
				require.Equal(t, entries+newEntries, f.count(t, "entries"), "a rerun wrote entries")
				for i, id := range w {
					require.Equal(t, tc.balances[i], f.balance(t, id), "wallet %d after the rerun", i)
				}
			})
		}
	})
}

// Postings of a batch posted before (one at a time, or by an earlier batch) answer
// Existing beside the new ones, which are written.
func TestPostBatchMixedExistingAndNew(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		w := f.wallet(t, 0)
		first := f.topup(t, w, 100, "mixed/1")
		res, err := f.l.PostBatch(ctx, []ledger.Posting{credit("mixed/2", f.clearing, w, 20)})
		require.NoError(t, err)
		second := res[0].Journal

		res, err = f.l.PostBatch(ctx, []ledger.Posting{
			credit("mixed/3", f.clearing, w, 3),
			credit("mixed/1", f.clearing, w, 100),
			credit("mixed/2", f.clearing, w, 20),
			credit("mixed/4", w, f.settlement, 123),
		})
		require.NoError(t, err)
		require.False(t, res[0].Journal.Existing)
		require.Equal(t, ledger.Journal{ID: first.ID, Key: "mixed/1", CreatedAt: res[1].Journal.CreatedAt, Existing: true}, res[1].Journal)
		require.Equal(t, second.ID, res[2].Journal.ID)
		require.True(t, res[2].Journal.Existing)
		require.False(t, res[3].Journal.Existing)
		require.NoError(t, res[3].Err)
		require.Equal(t, int64(0), f.balance(t, w))
		require.Len(t, f.entryChain(t, w), 4)
		f.requireChained(t, w)
		f.requireOK(t)
	})
}

// A batch bigger than a transaction's chunk posts every posting, versions chained
// across the chunks, and its rerun writes nothing.
func TestPostBatchAcrossChunks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		wallets := make([]string, 7)
		for i := range wallets {
			wallets[i] = f.wallet(t, 0)
		}
		n := 2*ledger.BatchChunk + 37
		postings := make([]ledger.Posting, n)
		for i := range postings {
			postings[i] = credit(fmt.Sprintf("chunks/%d", i), f.clearing, wallets[i%len(wallets)], int64(i+1))
		}
		res, err := f.l.PostBatch(ctx, postings)
		require.NoError(t, err)
		want := make([]int64, len(wallets))
		for i, r := range res {
			require.NoError(t, r.Err)
			require.False(t, r.Journal.Existing)
			want[i%len(wallets)] += int64(i + 1)
		}
		for i, w := range wallets {
			require.Equal(t, want[i], f.balance(t, w))
			f.requireChained(t, w)
		}
		// The statement reads the batch's entries like any others', newest first.
		lines, _, err := f.l.Statement(ctx, wallets[0], 2, "")
		require.NoError(t, err)
		require.Len(t, lines, 2)
		require.Equal(t, want[0], lines[0].BalanceAfter)
		require.Equal(t, want[0]-lines[0].Amount, lines[1].BalanceAfter)
		require.Equal(t, models.FlowTopup, lines[0].Flow)
		require.False(t, lines[0].CreatedAt.IsZero())
		posted, ok, err := f.l.Posted(ctx, postings[0].Key)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, res[0].Journal.ID, posted.ID)
		require.WithinDuration(t, res[0].Journal.CreatedAt, posted.CreatedAt, time.Millisecond)
		journals := f.count(t, "journals")
		res, err = f.l.PostBatch(ctx, postings)
		require.NoError(t, err)
		for _, r := range res {
			require.True(t, r.Journal.Existing)
		}
		require.Equal(t, journals, f.count(t, "journals"))
		f.requireOK(t)
	})
}

// A posting on an account that does not exist is a bug, not a refusal: the call
// fails and its transaction writes nothing.
func TestPostBatchUnknownAccountFailsTheCall(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		w := f.wallet(t, 0)
		journals := f.count(t, "journals")
		_, err := f.l.PostBatch(context.Background(), []ledger.Posting{
			credit("unknown/1", f.clearing, w, 5),
			credit("unknown/2", f.clearing, "acct_missing", 5),
		})
		require.ErrorIs(t, err, ledger.ErrAccountNotFound)
		require.NotErrorIs(t, err, ledger.ErrRejected)
		require.Equal(t, journals, f.count(t, "journals"))
		require.Equal(t, int64(0), f.balance(t, w))
	})
}

// A call whose context ended writes nothing and fails (an infrastructure failure,
// not a refusal): the caller runs it again.
func TestPostBatchEndedContext(t *testing.T) {
	f := newFixture(t, testenv.SQLite)
	w := f.wallet(t, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := f.l.PostBatch(ctx, []ledger.Posting{credit("ended/1", f.clearing, w, 5)})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, int64(0), f.count(t, "journals"))
}

// Batches racing each other over the same keys and wallets, and ordinary postings on
// those wallets, post every key once and keep every balance right.
func TestPostBatchConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		wallets := []string{f.wallet(t, 1000), f.wallet(t, 1000), f.wallet(t, 1000)}
		const batches, per = 4, 60
		var wg sync.WaitGroup
		results := make([][]ledger.BatchResult, 2*batches)
		errs := make([]error, 2*batches+len(wallets))
		for i := range results {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				postings := make([]ledger.Posting, per)
				for k := range postings {
					// Batch i and batch i+batches carry the same keys.
					postings[k] = credit(fmt.Sprintf("race/%d/%d", i%batches, k), f.clearing, wallets[k%len(wallets)], 1)
				}
				results[i], errs[i] = f.l.PostBatch(ctx, postings)
			}(i)
		}
		for i, w := range wallets {
			wg.Add(1)
			go func(i int, w string) {
				defer wg.Done()
				for k := 0; k < 10 && errs[2*batches+i] == nil; k++ {
					errs[2*batches+i] = f.pay(ctx, w, 10, fmt.Sprintf("race/pay/%d/%d", i, k))
				}
			}(i, w)
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		for i := 0; i < batches; i++ {
			for k := range results[i] {
				require.NoError(t, results[i][k].Err)
				require.Equal(t, results[i][k].Journal.ID, results[i+batches][k].Journal.ID, "key race/%d/%d posted twice", i, k)
			}
		}
		for _, w := range wallets {
			require.Equal(t, int64(1000+batches*per/len(wallets)-100), f.balance(t, w))
			f.requireChained(t, w)
		}
		f.requireOK(t)
	})
}

// A batch answers what posting its postings one at a time, in their order, answers:
// random batches (credits, payments that may overdraw, transfers between wallets,
// keys repeated in the batch or posted before, broken postings) are posted by
// PostBatch on one set of wallets and one Run each on a twin set, and every answer
// and balance must agree. A failure prints its seed.
func TestPostBatchAgreesWithOneAtATime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		f := newFixture(t, b)
		ctx := context.Background()
		for seed := int64(1); seed <= 4; seed++ {
			rng := rand.New(rand.NewSource(seed))
			const nw = 4
			batchW, refW := make([]string, nw), make([]string, nw)
			for i := range batchW {
				bal := int64(rng.Intn(300))
				batchW[i], refW[i] = f.wallet(t, bal), f.wallet(t, bal)
			}
			// gen builds the i-th posting over wallets w under prefix.
			type shape struct {
				kind, a, b int
				amount     int64
				keyOf      int // the posting whose key this one reuses, or -1
			}
			shapes := make([]shape, 200+rng.Intn(200))
			for i := range shapes {
				s := shape{kind: rng.Intn(6), a: rng.Intn(nw), b: rng.Intn(nw), amount: int64(1 + rng.Intn(120)), keyOf: -1}
				if i > 0 && rng.Intn(8) == 0 {
					s.keyOf = rng.Intn(i)
				}
				shapes[i] = s
			}
			gen := func(prefix string, w []string) []ledger.Posting {
				out := make([]ledger.Posting, len(shapes))
				for i, s := range shapes {
					k := i
					if s.keyOf >= 0 {
						k = s.keyOf
					}
					key := fmt.Sprintf("%s/s%d/%d", prefix, seed, k)
					switch s.kind {
					case 0, 1:
						out[i] = credit(key, f.clearing, w[s.a], s.amount)
					case 2, 3:
						out[i] = credit(key, w[s.a], f.settlement, s.amount)
					case 4:
						out[i] = credit(key, w[s.a], w[s.b], s.amount) // two legs on one wallet when a == b
					default:
						out[i] = ledger.Posting{Key: key, Currency: "CNY", Legs: []ledger.Leg{{w[s.a], -s.amount}, {f.settlement, s.amount + 1}}}
					}
				}
				return out
			}
			batch, ref := gen("batch", batchW), gen("ref", refW)
			// Some keys were posted before the batch, by both.
			pre := rng.Intn(len(shapes))
			_, err := f.l.PostBatch(ctx, batch[:pre:pre])
			require.NoError(t, err)
			for _, p := range ref[:pre] {
				_ = f.l.Run(ctx, func(tx *ledger.Tx) error { _, err := tx.Post(p); return err })
			}

			got, err := f.l.PostBatch(ctx, batch)
			require.NoError(t, err, "seed %d", seed)
			for i, p := range ref {
				var j ledger.Journal
				err := f.l.Run(ctx, func(tx *ledger.Tx) error {
					var err error
					j, err = tx.Post(p)
					return err
				})
				for _, sentinel := range []error{ledger.ErrRejected, ledger.ErrInsufficientFunds, ledger.ErrUnbalanced} {
					require.Equal(t, errors.Is(err, sentinel), errors.Is(got[i].Err, sentinel), "seed %d posting %d: %v / %v", seed, i, err, got[i].Err)
				}
				require.Equal(t, j.Existing, got[i].Journal.Existing, "seed %d posting %d", seed, i)
			}
			for i := range batchW {
				require.Equal(t, f.balance(t, refW[i]), f.balance(t, batchW[i]), "seed %d wallet %d", seed, i)
				f.requireChained(t, batchW[i])
			}
		}
		f.requireOK(t)
	})
}
