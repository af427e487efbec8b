package server_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/internal/harness/testenv"
	"github.com/payflow/payflow/internal/ledger"
	"github.com/payflow/payflow/models"
)

// Every list's starting_after must name one of the objects of that list: another
// merchant's object, an object of another of the caller's lists (a wallet's entry
// used on another wallet) or an id that names nothing answers 400 invalid_request
// and lists nothing, so that a cursor never pages from another merchant's object.
// The caller's own cursor pages on.
func TestListCursorsAreTheCallers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		a := newAPI(t, b)
		ctx := context.Background()
		theirClient := a.merchantClient("mch_other", "other_secret")
		post := func(c *client.Client, target string, body map[string]any) string {
			t.Helper()
			r, err := c.Post(ctx, target, body, "cursor-"+models.NewID(""))
			require.NoError(t, err)
			require.Less(t, r.Status, 300, "%s: %s", target, r.Body)
			var out struct{ ID string }
			require.NoError(t, r.JSON(&out))
			return out.ID
		}
		clearing, err := a.ledger.EnsureAccount(ctx, ledger.ClearingSpec("banksim", "CNY"))
		require.NoError(t, err)
		credit := func(wallet string, amount int64) {
			t.Helper()
			require.NoError(t, a.ledger.Run(ctx, func(tx *ledger.Tx) error {
				_, err := tx.Post(ledger.Posting{Key: "cursor/" + models.NewID(""), Flow: models.FlowTopup, FlowID: wallet, Currency: "CNY",
					Legs: []ledger.Leg{{AccountID: clearing, Amount: -amount}, {AccountID: wallet, Amount: amount}}})
				return err
			}))
		}
		// entries lists a wallet's entry ids, newest first, as its owner sees them.
		entries := func(c *client.Client, wallet string) []string {
			t.Helper()
			r, err := c.Get(ctx, "/v1/accounts/"+wallet+"/entries")
			require.NoError(t, err)
			require.Equal(t, 200, r.Status, "%s", r.Body)
			var page struct{ Data []struct{ ID string } }
			require.NoError(t, r.JSON(&page))
			ids := make([]string, len(page.Data))
			for i, e := range page.Data {
				ids[i] = e.ID
			}
			return ids
		}
		payment := map[string]any{"amount": 1050, "currency": "CNY", "source": map[string]any{"type": "card", "token": "tok_success"}}

		mine := post(a.c, "/v1/accounts", map[string]any{"currency": "CNY"})
		myOther := post(a.c, "/v1/accounts", map[string]any{"currency": "CNY"})
		theirs := post(theirClient, "/v1/accounts", map[string]any{"currency": "CNY"})
		for _, w := range []string{mine, mine, myOther, theirs} {
			credit(w, 500)
		}
		myEntries, myOtherEntries, theirEntries := entries(a.c, mine), entries(a.c, myOther), entries(theirClient, theirs)
		require.Len(t, myEntries, 2)
		myPayments := []string{post(a.c, "/v1/payments", payment), post(a.c, "/v1/payments", payment)}
		theirPayment := post(theirClient, "/v1/payments", payment)
		myEvents := []string{a.storeEvent(t, "mch_demo", myPayments[0]).ID, a.storeEvent(t, "mch_demo", myPayments[1]).ID}
		theirEvent := a.storeEvent(t, "mch_other", theirPayment).ID
		theirIDs := []string{theirs, theirEntries[0], theirPayment, theirEvent}

		tests := []struct {
			name, list, after string
			status            int
		}{
			{"own payment", "/v1/payments", myPayments[1], 200},
			{"another merchant's payment", "/v1/payments", theirPayment, 400},
			{"unknown payment", "/v1/payments", models.NewID(models.PrefixPayment), 400},
			{"own event", "/v1/events", myEvents[1], 200},
			{"another merchant's event", "/v1/events", theirEvent, 400},
			{"unknown event", "/v1/events", models.NewID(models.PrefixEvent), 400},
			{"own entry", "/v1/accounts/" + mine + "/entries", myEntries[0], 200},
			{"another merchant's entry", "/v1/accounts/" + mine + "/entries", theirEntries[0], 400},
			{"an entry of another of the caller's wallets", "/v1/accounts/" + mine + "/entries", myOtherEntries[0], 400},
			{"unknown entry", "/v1/accounts/" + mine + "/entries", models.NewID(models.PrefixEntry), 400},
		}
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				target := tc.list + "?starting_after=" + url.QueryEscape(tc.after)
				r, err := a.c.Get(ctx, target)
				require.NoError(t, err)
				require.Equal(t, tc.status, r.Status, "%s: %s", target, r.Body)
				for _, id := range theirIDs {
					if !strings.Contains(target, id) {
						require.NotContains(t, string(r.Body), id, "%s answered with another merchant's object", target)
					}
				}
				if tc.status == 200 {
					var page struct{ Data []struct{ ID string } }
					require.NoError(t, r.JSON(&page))
					require.Len(t, page.Data, 1, "the page after the caller's newest object")
					return
				}
				require.Equal(t, "invalid_request", decodeProblem(t, r).Code)
			})
		}
	})
}
