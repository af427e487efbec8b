package models

import "time"

// AuditEntry records one operator act: who did what to which object, when, why, and
// whether it was accepted.
type AuditEntry struct {
	ID        string    `json:"id"`
	Operator  string    `json:"operator"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	Reason    string    `json:"reason,omitempty"`
	Result    string    `json:"result"`
	Detail    string    `json:"detail,omitempty"`
	CreatedAt time.Time `json:"created"`
}
