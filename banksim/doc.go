// Package banksim is a bank simulator: a separate HTTP server that behaves like
// a real bank so that payflow's bank adapter, its reconciliation and its
// failure handling can be exercised end to end without a real bank.
//
// The simulator keeps its own state (transfers, executions, house accounts,
// a callback outbox and statement lines) in its own SQLite file, so that a
// restart loses nothing: processing transfers still complete and pending
// callbacks are still delivered.
//
// # Channel API
//
// All bodies are JSON. Amounts are int64 minor units; currencies are three
// uppercase letters.
//
//	POST /v1/charges             {reference, amount, currency, token, callback_url?}
//	POST /v1/refunds             {reference, charge_reference, amount, currency, callback_url?}
//	POST /v1/payouts             {reference, amount, currency, bank_account, callback_url?}
//	GET  /v1/transfers/{reference}
//	POST /v1/transfers/{reference}/cancel
//
// Every answer about a movement is a [Transfer]. The reference is the
// idempotency key: a repeated request with the same reference returns the
// first transfer's current state and never executes again; the same reference
// with a different kind, amount or currency (or, for a refund, a different
// charge_reference) answers 409 {"error":"reference_conflict"}.
//
// # Cancel
//
// POST /v1/transfers/{reference}/cancel (no body) stops a transfer for good.
// Its answer is 200 with a [Transfer]:
//
//   - a processing transfer becomes canceled (completed_at set): it never
//     completes, moves no money and has no statement line; its callbacks are
//     queued as a completion's are (callback_delay_ms, duplicate_callbacks).
//   - a succeeded or failed transfer is answered unchanged: a cancel never
//     undoes an executed transfer. A canceled one is answered again.
//   - a reference the bank has never seen gets a tombstone: a canceled
//     transfer with no kind, amount or currency. From then on every charge,
//     refund or payout with that reference answers the tombstone, whatever
//     its kind or amount, and never executes; GET /v1/transfers/{reference}
//     answers it too. A tombstone has no callback.
//
// "canceled" is therefore proof that the reference never executes at this
// bank. The cancel shares the write transaction with the completion and with
// requests of the same reference, so a cancel racing them either cancels or
// answers the final state, never both. The state is in the store and survives
// a restart. With the refuse_cancel fault set, a cancel of a processing or
// never-seen reference answers 409 {"error":"not_cancelable"} instead (the
// transfer may still execute); a final one still answers its final state.
//
// Error answers carry {"error": code, "message"?: text}:
//
//   - 400 invalid_request: the request was malformed; nothing was executed.
//   - 404 not_found (GET /v1/transfers/{reference} only): the bank has never
//     executed this reference, so sending the request again is safe.
//   - 409 reference_conflict: see above; nothing was executed.
//   - 409 not_cancelable (cancel only): the refuse_cancel fault; nothing
//     was canceled and the transfer may still execute.
//   - 503 bank_unavailable: the bank refused the request before processing
//     it: NOTHING WAS EXECUTED, and the same request may be sent again. This
//     is how the down and error_rate faults and the tok_flaky token answer.
//   - 504 timeout: only after holding a tok_timeout_success or
//     ba_timeout_success request for two minutes; the transfer was executed.
//   - 500 internal: the simulator failed; the outcome is unknown, query it.
//   - 404 no_route: no such route (never "not_found", whose meaning is exact).
//
// Charge tokens choose the outcome: tok_success, tok_decline (card_declined),
// tok_insufficient_funds (insufficient_funds), tok_processing (answers
// processing, completes later and calls back), tok_timeout_success (executes,
// then holds the response until the client gives up), tok_flaky (503 for the
// first two requests of a reference, then success); any other token is
// declined. Payout destinations do the same: ba_success, ba_closed
// (account_closed), ba_processing, ba_timeout_success; any other account
// succeeds. Refunds are synchronous and fail with charge_not_found or
// refund_exceeds_charge (or currency_mismatch when the currency differs from
// the charge's); they accept a callback_url but never call back. A movement that would overflow a house balance fails with
// limit_exceeded.
//
// # Callbacks
//
// When a processing transfer completes, the simulator POSTs the transfer plus
// an "event_id" to the request's callback_url (or [Config.DefaultCallbackURL]),
// signed with the X-Banksim-Signature header (see [SignCallback] and
// [VerifyCallback]). Delivery is retried until a 2xx answer, with a backoff
// from 500 ms doubling to 30 s, for at most an hour; a 4xx answer other than
// 408 and 429 stops the retries. A redelivered event keeps its event_id.
//
// # Admin API
//
// Routes under /sim/ serve tests and operators and are never subject to
// faults:
//
//	GET  /sim/executions?reference=R            {reference, count}
//	GET  /sim/faults, POST /sim/faults          {down, error_rate, latency_ms, processing_ms, callback_delay_ms, duplicate_callbacks, refuse_cancel}
//	GET  /sim/accounts                          {balances: {currency: amount}}
//	GET  /sim/statements/{channel}-{YYYY-MM-DD}.csv
//	POST /sim/statement/inject                  {date, reference, kind, amount, currency, status, time?} or {lines: [...]}
//	POST /sim/statement/alter                   {reference, amount?, status?, remove?}
//	GET  /sim/statements/{YYYY-MM-DD}/balances  [{currency, opening, closing}]
//	POST /sim/balances/adjust                   {day, currency, amount}
//	GET  /healthz
//
// The executions count is how many times the bank accepted the reference for
// execution (never more than 1): a processing transfer canceled afterwards
// counts 1, a tombstone 0. Only a succeeded transfer moved money.
//
// The balances of a day are ours at the bank per currency, in minor units: the
// statement's succeeded lines as served (alterations and injected lines
// included; charges in, refunds and payouts out) plus the adjustments planted
// for that day, which no statement line lists. A day opens at the close of the
// day before; the first day opens at 0.
//
// # Wallet providers
//
// The same process plays two wallet providers, [ProviderAlipay] and
// [ProviderWxpay], under /alipaysim/... and /wxpaysim/...: trades created for
// a QR code (POST /{provider}/trades) and paid at the checkout page
// (GET/POST /{provider}/checkout/{trade_no}, or POST /sim/wallet/pay
// {provider, trade_no}), payments by code (POST /{provider}/trades/pay, the
// code's last digit choosing the outcome), query, cancel, close and refund,
// notifications signed like callbacks with each provider's secret, and a
// statement each (/sim/statements/{provider}-{YYYY-MM-DD}.csv, balances with
// ?channel={provider}). docs/wallet-providers.md is the reference.
//
// # Identity services
//
// Card verification (POST /v1/verifications), card binding with an SMS code
// (POST /v1/card_bindings, .../{request_id}/confirm, /resend, /unbind, GET and
// DELETE .../{request_id}; the codes at GET /sim/sms?phone=) and a credit
// bureau (POST /v1/credit_queries, GET .../{request_id}), keyed by request_id
// like transfers by reference. The cardholder directory is seeded with the
// Card* test cards (POST /sim/cardholders adds more). An active binding's
// agreement number ([AgreementPrefix]) is a charge token and a payout
// bank_account. docs/operations.md is the reference.
//
// # Fund company
//
// Under /fund/... the process is also a fund company, another institution
// (the bank's faults do not apply to it): products with NAVs per trading day
// (GET /fund/v1/products, .../{id}/navs, prd_mmf's .../income), the trading
// calendar (GET /fund/calendar), subscription and redemption orders keyed by
// order_id (POST /fund/v1/orders, GET .../{order_id}), confirmed at the trade
// date's NAV and called back signed, and daily CSV files
// (GET /fund/v1/files/{date}/{confirmations,holdings,income}.csv). Its clock
// (/sim/fund/clock) and faults (/sim/fund/faults) are its own. Integers only:
// see fund.go; docs/operations.md is the reference.
//
// POST /sim/faults sets the given knobs and resets every other one ({} resets
// all): down and error_rate refuse channel requests (cancels included) with
// 503, latency_ms delays them, processing_ms and callback_delay_ms time
// processing transfers and their callbacks, duplicate_callbacks doubles them,
// refuse_cancel makes cancels answer not_cancelable (see Cancel), bureau_down
// refuses the credit bureau alone and bureau_delay_ms times its reports. Faults live
// in memory: a restart resets them to their defaults.
package banksim
