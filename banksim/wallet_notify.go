package banksim

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"
)

// Wallet notification event types.
const (
	EventTradePaid       = "trade.paid"
	EventRefundSucceeded = "refund.succeeded"
)

// WalletNotification is the body of a wallet provider's notification: a
// trade that became paid (trade.paid, with trade) or a refund that succeeded
// (refund.succeeded, with refund and the trade after it). It is signed like
// the bank's callbacks (X-Banksim-Signature), with the provider's secret.
type WalletNotification struct {
	EventID   string        `json:"event_id"`
	EventType string        `json:"event_type"`
	Provider  string        `json:"provider"`
	Trade     *WalletTrade  `json:"trade,omitempty"`
	Refund    *WalletRefund `json:"refund,omitempty"`
}

// notify queues a notification of provider to url (the trade's notify_url,
// else the provider's default; none means no notification) in the callback
// outbox, in the caller's transaction: the bank's delivery and retries then
// carry it. The callback_delay_ms and duplicate_callbacks faults apply (a
// duplicate keeps the event_id). reference names it in the outbox.
func (s *Server) notify(ctx context.Context, tx *sql.Tx, provider, url, reference string, n WalletNotification, now time.Time) error {
	if url == "" {
		url = s.cfg.Wallets[provider].DefaultNotifyURL
	}
	if url == "" {
		return nil
	}
	f := s.Faults()
	n.EventID = newID("wne_")
	body, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encode %s notification of %s: %w", provider, reference, err)
	}
	due := now.Add(time.Duration(f.CallbackDelayMS) * time.Millisecond).UnixNano()
	var after *int64
	for i := 0; i < 1 || (i < 2 && f.DuplicateCallbacks); i++ {
		res, err := tx.ExecContext(ctx, `INSERT INTO callbacks (event_id, reference, channel, url, body, after_id, first_at, next_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, n.EventID, reference, provider, url, body, after, due, due)
		if err != nil {
			return fmt.Errorf("enqueue %s notification of %s: %w", provider, reference, err)
		}
		id, err := res.LastInsertId()
		if err != nil {
			return fmt.Errorf("enqueue %s notification of %s: %w", provider, reference, err)
		}
		after = &id
	}
	return nil
}
