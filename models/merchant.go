package models

import "time"

// MerchantStatus says whether a merchant may move money.
type MerchantStatus string

// Merchant statuses.
const (
	MerchantActive   MerchantStatus = "active"
	MerchantDisabled MerchantStatus = "disabled"
)

// Merchant is a payflow customer: a business whose backend calls the API.
type Merchant struct {
	ID              string         `json:"id"`
	Name            string         `json:"name"`
	FeeBps          int64          `json:"fee_bps"`
	ReviewThreshold int64          `json:"review_threshold"`
	DefaultCurrency Currency       `json:"default_currency"`
	Status          MerchantStatus `json:"status"`
	CreatedAt       time.Time      `json:"created"`
}
