package models

// The input a stored object's flow starts with is built by one function per flow, from
// the stored object alone (plus what the flow reads from related rows): the API
// handler that creates the object and the sweeper that starts the flow of an object
// whose request died between its commit and its start both call it, so that a flow
// runs with the same input whoever started it. The bank and approval timings are not
// part of it: the starter fills them from configuration.

// FlowInput is the input of the payment's flow.
func (p Payment) FlowInput() PaymentInput {
	in := PaymentInput{
		PaymentID:  p.ID,
		MerchantID: p.MerchantID,
		Amount:     p.Amount,
		Currency:   p.Currency,
		Source:     p.Source,
		Channel:    p.Channel,
		NotifyURL:  p.NotifyURL,

		ConfirmationRequired: p.ConfirmationRequired,
	}
	if p.NextAction != nil {
		in.QRExpiresAt = p.NextAction.ExpiresAt
	}
	return in
}

// FlowInput is the input of the top-up's flow.
func (t Topup) FlowInput() TopupInput {
	return TopupInput{
		TopupID:    t.ID,
		MerchantID: t.MerchantID,
		AccountID:  t.AccountID,
		Amount:     t.Amount,
		Currency:   t.Currency,
		Token:      t.Source.Token,
		Channel:    t.Channel,
		NotifyURL:  t.NotifyURL,
	}
}

// FlowInput is the input of the withdrawal's flow; reviewThreshold is the merchant's
// (an amount above it waits for an operator's approval).
func (w Withdrawal) FlowInput(reviewThreshold int64) WithdrawalInput {
	return WithdrawalInput{
		WithdrawalID:    w.ID,
		MerchantID:      w.MerchantID,
		AccountID:       w.AccountID,
		Amount:          w.Amount,
		Currency:        w.Currency,
		BankAccount:     w.Destination.BankAccount,
		Channel:         w.Channel,
		NotifyURL:       w.NotifyURL,
		ReviewThreshold: reviewThreshold,
	}
}

// FlowInput is the input of the refund's flow; pay is the refunded payment, whose
// channel and source the refund goes back through.
func (r Refund) FlowInput(pay Payment) RefundInput {
	return RefundInput{
		RefundID:   r.ID,
		PaymentID:  r.PaymentID,
		MerchantID: r.MerchantID,
		Amount:     r.Amount,
		Currency:   r.Currency,
		Channel:    pay.Channel,
		Source:     pay.Source,
		NotifyURL:  r.NotifyURL,
	}
}
