package server_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/payflow/payflow/http/callbacks"
	"github.com/payflow/payflow/http/merchant"
	"github.com/payflow/payflow/http/server"
	"github.com/payflow/payflow/internal/secretbox"
	"github.com/payflow/payflow/internal/signing"
	"github.com/payflow/payflow/internal/store"
	"github.com/payflow/payflow/internal/testenv"
	"github.com/payflow/payflow/models"
)

// A callback that reports a final transfer is recorded as the bank's word (once), so
// that a payment decided by its callback is not missing on our side at
// reconciliation; a processing one is not.
func TestCallbackRecordsDecidedTransfer(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b testenv.Backend) {
		box, err := secretbox.New([]byte("0123456789abcdef0123456789abcdef"))
		require.NoError(t, err)
		st := store.New(testenv.Open(t, b), box)
		log := logrus.New()
		log.SetOutput(io.Discard)
		fs := &fakeStarter{}
		srv := httptest.NewServer(server.NewRouter(server.Deps{
			Merchant: &merchant.Handler{},
			Callbacks: &callbacks.Handler{
				Secrets: map[string]string{"banksim": "cbsecret"}, Flows: st, Signaler: fs, Transfers: st,
				Log: logrus.NewEntry(log), Now: time.Now,
			},
			Log: logrus.NewEntry(log),
		}))
		t.Cleanup(srv.Close)
		ctx := context.Background()
		p := models.Payment{
			ID: models.NewID(models.PrefixPayment), MerchantID: "mch_demo", Amount: 1050, Currency: "CNY",
			Source: models.PaymentSource{Type: models.SourceCard, Token: "tok_processing"}, Channel: "banksim",
			Status: models.PaymentProcessing, CreatedAt: time.Now(), UpdatedAt: time.Now(),
		}
		p.WorkflowID = "payment/mch_demo/" + p.ID
		require.NoError(t, st.DB().Transaction(func(tx *gorm.DB) error { return store.InsertPayment(tx, p) }))

		send := func(status string) {
			body := []byte(fmt.Sprintf(`{"reference":%q,"kind":"charge","amount":1050,"currency":"CNY","status":%q,"failure_code":"","bank_id":"bk_1","event_id":"evt_%s"}`, p.ID, status, status))
			ts := time.Now().Unix()
			req, _ := http.NewRequest("POST", srv.URL+"/v1/callbacks/banksim", strings.NewReader(string(body)))
			req.Header.Set("X-Banksim-Signature", signing.SignWebhook("cbsecret", ts, body))
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			require.Equal(t, 200, resp.StatusCode)
		}
		send("processing")
		_, err = st.BankTransferByReference(ctx, p.ID)
		require.True(t, errors.Is(err, store.ErrNotFound), "a processing transfer is not recorded: %v", err)
		send("succeeded")
		send("succeeded") // delivered twice
		got, err := st.BankTransferByReference(ctx, p.ID)
		require.NoError(t, err)
		require.Equal(t, models.BankSucceeded, got.Status)
		require.Equal(t, int64(1050), got.Amount)
		require.Equal(t, "mch_demo", got.MerchantID)
		require.Equal(t, "bk_1", got.BankID)
	})
}
