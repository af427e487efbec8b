package models

import (
	"crypto/rand"
	"errors"
	"math/big"
	"strings"
	"time"
)

// PaymentCodeLength is the length of every payment code, in digits.
const PaymentCodeLength = 18

// PaymentCodeTTL is how long a wallet's payment code may be used.
const PaymentCodeTTL = 60 * time.Second

// DefaultNoPasswordLimit is a merchant's no_password_limit unless set: a wallet code
// payment above it waits for the wallet owner's confirmation.
const DefaultNoPasswordLimit = 20000

// DefaultCodeConfirmTimeout is how long a payment waits for the customer's
// confirmation (PAYFLOW_CODE_CONFIRM_TIMEOUT).
const DefaultCodeConfirmTimeout = 30 * time.Second

// PaymentCodeIssuer is who issued a payment code, by its first two digits.
type PaymentCodeIssuer string

// The issuers of payment codes.
const (
	IssuerNone      PaymentCodeIssuer = ""
	IssuerWallet    PaymentCodeIssuer = "payflow_wallet"
	IssuerAlipaySim PaymentCodeIssuer = "alipaysim"
	IssuerWxpaySim  PaymentCodeIssuer = "wxpaysim"
)

// walletCodePrefix starts every payflow wallet code.
const walletCodePrefix = "99"

// ErrMalformedPaymentCode: not 18 ASCII digits.
var ErrMalformedPaymentCode = errors.New("a payment code is 18 digits")

// ParsePaymentCode checks a payment code's form and answers its issuer: prefixes
// 25-30 are alipaysim's, 10-15 wxpaysim's, 99 payflow's own wallets; any other
// prefix is IssuerNone with no error (a well-formed code nobody here issues).
func ParsePaymentCode(code string) (PaymentCodeIssuer, error) {
	if len(code) != PaymentCodeLength {
		return IssuerNone, ErrMalformedPaymentCode
	}
	for i := 0; i < len(code); i++ {
		if code[i] < '0' || code[i] > '9' {
			return IssuerNone, ErrMalformedPaymentCode
		}
	}
	switch p := int(code[0]-'0')*10 + int(code[1]-'0'); {
	case p == 99:
		return IssuerWallet, nil
	case p >= 25 && p <= 30:
		return IssuerAlipaySim, nil
	case p >= 10 && p <= 15:
		return IssuerWxpaySim, nil
	}
	return IssuerNone, nil
}

// NewWalletCode draws a payflow wallet code: "99" and 16 random digits.
func NewWalletCode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(1e16))
	if err != nil {
		return "", err
	}
	s := n.String()
	for len(s) < 16 {
		s = "0" + s
	}
	return walletCodePrefix + s, nil
}

// MaskPaymentCode shows a code's first two and last four digits only.
func MaskPaymentCode(code string) string {
	if len(code) < 6 {
		return ""
	}
	b := []byte(code)
	for i := 2; i < len(b)-4; i++ {
		b[i] = '*'
	}
	return string(b)
}

// PaymentCode is a wallet's payment code as POST /v1/accounts/{id}/payment_codes
// answers it: the code is shown this once.
type PaymentCode struct {
	Object    string    `json:"object"`
	Code      string    `json:"code"`
	AccountID string    `json:"account_id"`
	ExpiresAt time.Time `json:"expires_at"`
}

// ConfirmPayment is the wallet owner's confirmation of a payment waiting for it
// (POST /v1/payments/{id}/confirm, the payment flow's confirm Update).
type ConfirmPayment struct {
	AccountID string `json:"account_id"`
}

// QR payments: how long a QR code is offered (expires_in), and what a payment that
// waits for its customer's scan answers.
const (
	MinQRExpiresIn     = 60 * time.Second
	MaxQRExpiresIn     = 900 * time.Second
	DefaultQRExpiresIn = 120 * time.Second
)

// NextActionDisplayQR is the next action of a QR payment.
const NextActionDisplayQR = "display_qr"

// NextAction tells the merchant what to do for a payment to go on.
type NextAction struct {
	Type      string    `json:"type"`
	QRURL     string    `json:"qr_url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// QRProviders are the wallet providers whose apps open a QR payment's page, by the
// mark their User-Agent carries, in the order the page lists them.
var QRProviders = []struct {
	Channel, App, Mark string
}{
	{"alipaysim", "Alipay", "AlipayClient"},
	{"wxpaysim", "WeChat", "MicroMessenger"},
}

// QRProviderChannels are the wallet providers' channel names, in QRProviders' order.
func QRProviderChannels() []string {
	out := make([]string, len(QRProviders))
	for i, p := range QRProviders {
		out[i] = p.Channel
	}
	return out
}

// IsQRProvider says whether channel is a wallet provider's.
func IsQRProvider(channel string) bool {
	for _, p := range QRProviders {
		if p.Channel == channel {
			return true
		}
	}
	return false
}

// QRProviderOf is the wallet provider whose app sent userAgent ("" for none).
func QRProviderOf(userAgent string) string {
	for _, p := range QRProviders {
		if strings.Contains(userAgent, p.Mark) {
			return p.Channel
		}
	}
	return ""
}

// OpenQR is what a wallet app's visit of a QR payment's page asks its flow (the
// open Update): to bind the payment to the provider and create its trade there.
type OpenQR struct {
	Provider string `json:"provider"`
}

// OpenedQR is the flow's answer: the provider's checkout page of the trade.
type OpenedQR struct {
	CheckoutURL string `json:"checkout_url"`
}
