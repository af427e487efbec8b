package models

import (
	"encoding/json"
	"time"
)

// CreditReportStatus is where a credit report is.
type CreditReportStatus string

// Credit report statuses.
const (
	CreditReportProcessing CreditReportStatus = "processing"
	CreditReportReady      CreditReportStatus = "ready"
	CreditReportFailed     CreditReportStatus = "failed"
	CreditReportPurged     CreditReportStatus = "purged"
)

// Event types of credit reports.
const (
	EventCreditReportReady  EventType = "credit_report.ready"
	EventCreditReportFailed EventType = "credit_report.failed"
)

func init() {
	eventObjectPrefix[EventCreditReportReady] = PrefixCreditReport
	eventObjectPrefix[EventCreditReportFailed] = PrefixCreditReport
}

// Purposes a credit report may be asked for.
var CreditPurposes = []string{"loan_review", "credit_card_review", "post_loan_management"}

// ValidPurpose says whether p is a listed purpose.
func ValidPurpose(p string) bool {
	for _, q := range CreditPurposes {
		if p == q {
			return true
		}
	}
	return false
}

// ConsentMaxAge is how old a subject's consent may be when a report is asked for.
const ConsentMaxAge = 30 * 24 * time.Hour

// Defaults of credit report reuse and retention (PAYFLOW_CREDIT_REUSE_DAYS,
// PAYFLOW_CREDIT_RETENTION_DAYS).
const (
	DefaultCreditReuseDays     = 30
	DefaultCreditRetentionDays = 90
)

// Subject is the person a report is about: personal data.
type Subject struct {
	Name     string `json:"name"`
	IDNumber string `json:"id_number"`
}

// Consent is the subject's consent the merchant holds.
type Consent struct {
	Reference string    `json:"reference"`
	GrantedAt time.Time `json:"granted_at"`
}

// CreditReport is a credit report as the merchant API shows it.
type CreditReport struct {
	ID          string             `json:"id"`
	Object      string             `json:"object"`
	Status      CreditReportStatus `json:"status"`
	FailureCode FailureCode        `json:"failure_code,omitempty"`
	Subject     Subject            `json:"subject"`
	Purpose     string             `json:"purpose"`
	Report      json.RawMessage    `json:"report"`
	ReusedFrom  string             `json:"reused_from,omitempty"`
	Fee         int64              `json:"fee"`
	Currency    Currency           `json:"currency"`
	NotifyURL   string             `json:"notify_url,omitempty"`
	CreatedAt   time.Time          `json:"created"`
	ReadyAt     *time.Time         `json:"ready_at,omitempty"`
	ExpiresAt   *time.Time         `json:"expires_at,omitempty"`
	PurgedAt    *time.Time         `json:"purged_at,omitempty"`
}

// ReportRead is one read of a credit report.
type ReportRead struct {
	ID        string    `json:"id"`
	Object    string    `json:"object"`
	ReportID  string    `json:"report_id"`
	Reader    string    `json:"reader"`
	RequestID string    `json:"request_id,omitempty"`
	CreatedAt time.Time `json:"created"`
}

// CreditReportInput starts a credit report flow; Subject is personal data,
// encrypted in the history by the payload codec.
type CreditReportInput struct {
	ReportID   string   `json:"report_id"`
	MerchantID string   `json:"merchant_id"`
	Subject    Subject  `json:"subject"`
	Purpose    string   `json:"purpose"`
	Currency   Currency `json:"currency"`
	Fee        int64    `json:"fee"`
	NotifyURL  string   `json:"notify_url,omitempty"`
	// ReusedFrom is the merchant's earlier report of the subject this one answers
	// with (stored with it): no bureau is asked, the reuse fee is billed.
	ReusedFrom string `json:"reused_from,omitempty"`
	// Poll is how long the flow waits for the bureau's callback before it asks
	// (doubling up to an hour); Deadline when it gives up on a bureau that never
	// answers (failed bureau_unavailable, nothing billed).
	Poll      time.Duration `json:"poll"`
	Deadline  time.Duration `json:"deadline"`
	Retention time.Duration `json:"retention"`
}

// BureauAnswer is the bureau's state of a query.
type BureauAnswer struct {
	Status string          `json:"status"`
	Report json.RawMessage `json:"report,omitempty"`
}

// CreditReportResult is how a credit report flow ended.
type CreditReportResult struct {
	Status      CreditReportStatus `json:"status"`
	FailureCode FailureCode        `json:"failure_code,omitempty"`
}
