package banksim

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
)

// Credit query statuses.
const (
	CreditProcessing = "processing"
	CreditReady      = "ready"
	CreditNoRecord   = "no_record"
)

// CreditCallbackType is the type of the callback of a completed credit query.
const CreditCallbackType = "credit_query.completed"

// defaultBureauDelay is how long the bureau takes to prepare a report.
const defaultBureauDelay = 3 * time.Second

// Bureau subjects with fixed reports; anyone else gets a report derived from
// the ID number.
const (
	SubjectGood     = "110105199003070017" // 张三: score 720, nothing overdue
	SubjectOverdue  = "310115198512240024" // 李四: score 580, 2 overdue accounts
	SubjectNoRecord = "11010519900307005X" // 赵六: the bureau has no record
)

// CreditReport is a person's credit report.
type CreditReport struct {
	Score    int             `json:"score"`
	Summary  CreditSummary   `json:"summary"`
	Accounts []CreditAccount `json:"accounts"`
}

// CreditSummary sums up a report's accounts.
type CreditSummary struct {
	CreditAccounts   int `json:"credit_accounts"`
	OverdueAccounts  int `json:"overdue_accounts"`
	MaxOverdueMonths int `json:"max_overdue_months"`
	InquiriesLast6m  int `json:"inquiries_last_6m"`
}

// CreditAccount is one account of a report; amounts are CNY minor units.
type CreditAccount struct {
	Institution   string `json:"institution"`
	Type          string `json:"type"`
	Opened        string `json:"opened"`
	Limit         int64  `json:"limit"`
	Balance       int64  `json:"balance"`
	Status        string `json:"status"`
	OverdueMonths int    `json:"overdue_months"`
}

// CreditAnswer is every answer about a credit query.
type CreditAnswer struct {
	RequestID string        `json:"request_id"`
	Status    string        `json:"status"`
	Report    *CreditReport `json:"report,omitempty"`
}

// CreditCallback is the body of a credit query's callback.
type CreditCallback struct {
	Type      string `json:"type"`
	RequestID string `json:"request_id"`
	Status    string `json:"status"`
	EventID   string `json:"event_id"`
}

// creditReport is the bureau's report on the holder of idNumber; found is
// false when it has no record.
func creditReport(idNumber string) (CreditReport, bool) {
	switch strings.ToUpper(idNumber) {
	case SubjectNoRecord:
		return CreditReport{}, false
	case SubjectGood:
		return summed(720, 2, []CreditAccount{
			{Institution: BankICBC, Type: "credit_card", Opened: "2015-06", Limit: 5_000_000, Balance: 320_000, Status: "normal"},
			{Institution: "China Construction Bank", Type: "mortgage", Opened: "2019-03", Limit: 150_000_000, Balance: 98_000_000, Status: "normal"},
		}), true
	case SubjectOverdue:
		return summed(580, 6, []CreditAccount{
			{Institution: BankICBC, Type: "credit_card", Opened: "2012-09", Limit: 3_000_000, Balance: 2_950_000, Status: "overdue", OverdueMonths: 3},
			{Institution: "China Merchants Bank", Type: "credit_card", Opened: "2016-01", Limit: 2_000_000, Balance: 1_800_000, Status: "overdue", OverdueMonths: 1},
			{Institution: "Ping An Bank", Type: "consumer_loan", Opened: "2021-11", Limit: 5_000_000, Balance: 4_100_000, Status: "normal"},
		}), true
	}
	// Anyone else: the same id number always gives the same report.
	h := sha256.Sum256([]byte(strings.ToUpper(idNumber)))
	score := 300 + int(binary.BigEndian.Uint32(h[0:4])%551)
	n := 1 + int(h[4]%4)
	institutions := []string{BankICBC, BankABC, "Bank of China", "China Construction Bank"}
	accounts := make([]CreditAccount, n)
	for i := range accounts {
		limit := int64(1+h[5+i]%50) * 100_000
		a := CreditAccount{
			Institution: institutions[int(h[9+i])%len(institutions)],
			Type:        "credit_card",
			Opened:      fmt.Sprintf("%d-%02d", 2010+int(h[13+i]%14), 1+int(h[17+i]%12)),
			Limit:       limit,
			Balance:     limit * int64(h[21+i]%100) / 100,
			Status:      "normal",
		}
		// A low score comes with overdue accounts.
		if score < 600 && i%2 == 0 {
			a.Status, a.OverdueMonths = "overdue", 1+int(h[25+i]%6)
		}
		accounts[i] = a
	}
	return summed(score, int(h[29]%10), accounts), true
}

func summed(score, inquiries int, accounts []CreditAccount) CreditReport {
	r := CreditReport{Score: score, Accounts: accounts,
		Summary: CreditSummary{CreditAccounts: len(accounts), InquiriesLast6m: inquiries}}
	for _, a := range accounts {
		if a.OverdueMonths > 0 {
			r.Summary.OverdueAccounts++
			r.Summary.MaxOverdueMonths = max(r.Summary.MaxOverdueMonths, a.OverdueMonths)
		}
	}
	return r
}

// bureau wraps a credit bureau handler with the channel faults and the
// bureau's own: bureau_down refuses the bureau alone, so charges keep working.
func (s *Server) bureau(h http.HandlerFunc) http.HandlerFunc {
	return s.channel(func(w http.ResponseWriter, r *http.Request) {
		if s.Faults().BureauDown {
			writeUnavailable(w)
			return
		}
		h(w, r)
	})
}

// creditRequest is POST /v1/credit_queries.
type creditRequest struct {
	RequestID   string `json:"request_id"`
	Name        string `json:"name"`
	IDNumber    string `json:"id_number"`
	Purpose     string `json:"purpose"`
	CallbackURL string `json:"callback_url"`
}

// creditRow is a stored credit query.
type creditRow struct {
	RequestID string
	IDNumber  string
	Status    string
}

func (c creditRow) answer() CreditAnswer {
	a := CreditAnswer{RequestID: c.RequestID, Status: c.Status}
	if c.Status == CreditReady {
		if report, ok := creditReport(c.IDNumber); ok {
			a.Report = &report
		}
	}
	return a
}

func getCreditQuery(ctx context.Context, q querier, requestID string) (creditRow, bool, error) {
	c := creditRow{RequestID: requestID}
	err := q.QueryRowContext(ctx, `SELECT id_number, status FROM credit_queries WHERE request_id = ?`, requestID).
		Scan(&c.IDNumber, &c.Status)
	if errors.Is(err, sql.ErrNoRows) {
		return creditRow{}, false, nil
	}
	if err != nil {
		return creditRow{}, false, fmt.Errorf("read credit query %s: %w", requestID, err)
	}
	return c, true, nil
}

func (s *Server) handleCreateCreditQuery(w http.ResponseWriter, r *http.Request) {
	var req creditRequest
	if err := decodeJSON(w, r, &req); err != nil {
		writeInvalid(w, err)
		return
	}
	if err := firstError(validateReference("request_id", req.RequestID), required("name", req.Name),
		required("id_number", req.IDNumber), required("purpose", req.Purpose), validateCallbackURL(req.CallbackURL)); err != nil {
		writeInvalid(w, err)
		return
	}
	log := s.log.WithField("request_id", req.RequestID)
	ctx := context.WithoutCancel(r.Context())
	delay := time.Duration(s.Faults().BureauDelayMS) * time.Millisecond
	var row creditRow
	executed := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		executed = false
		var found bool
		var err error
		if row, found, err = getCreditQuery(ctx, tx, req.RequestID); err != nil || found {
			return err
		}
		now := s.now().UTC()
		row = creditRow{RequestID: req.RequestID, IDNumber: req.IDNumber, Status: CreditProcessing}
		if _, err := tx.ExecContext(ctx, `INSERT INTO credit_queries (request_id, name, id_number, purpose, callback_url, status, created_at, ready_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, req.RequestID, req.Name, req.IDNumber, req.Purpose, req.CallbackURL, row.Status,
			now.UnixNano(), now.Add(delay).UnixNano()); err != nil {
			return fmt.Errorf("store credit query: %w", err)
		}
		executed = true
		return insertExecution(ctx, tx, req.RequestID, kindCreditQuery, now)
	})
	if err != nil {
		writeInternal(w, log, fmt.Errorf("credit query %s: %w", req.RequestID, err))
		return
	}
	if executed {
		kick(s.wakeComplete)
		log.WithField("purpose", req.Purpose).Info("credit query accepted")
	}
	writeJSON(w, http.StatusAccepted, CreditAnswer{RequestID: row.RequestID, Status: row.Status})
}

func (s *Server) handleGetCreditQuery(w http.ResponseWriter, r *http.Request) {
	requestID := r.PathValue("request_id")
	if err := validateReference("request_id", requestID); err != nil {
		writeInvalid(w, err)
		return
	}
	row, found, err := getCreditQuery(r.Context(), s.db, requestID)
	switch {
	case err != nil:
		writeInternal(w, s.log.WithField("request_id", requestID), err)
	case !found:
		writeError(w, http.StatusNotFound, ErrCodeNotFound, "no credit query with this request_id")
	default:
		writeJSON(w, http.StatusOK, row.answer())
	}
}

// completeCreditQueries completes every credit query whose report is due.
func (s *Server) completeCreditQueries(ctx context.Context) error {
	for {
		rows, err := s.db.QueryContext(ctx, `SELECT request_id FROM credit_queries
			WHERE status = 'processing' AND ready_at <= ? ORDER BY ready_at LIMIT ?`, s.now().UnixNano(), completeBatch)
		if err != nil {
			return fmt.Errorf("list due credit queries: %w", err)
		}
		var due []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("scan due credit query: %w", err)
			}
			due = append(due, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("list due credit queries: %w", err)
		}
		for _, id := range due {
			if err := s.completeCreditQuery(ctx, id); err != nil {
				return err
			}
		}
		if len(due) < completeBatch {
			return nil
		}
	}
}

// completeCreditQuery makes a processing query ready (or no_record) and
// queues its callback, in one transaction.
func (s *Server) completeCreditQuery(ctx context.Context, requestID string) error {
	status, callback := "", false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var idNumber, url, current string
		err := tx.QueryRowContext(ctx, `SELECT id_number, callback_url, status FROM credit_queries WHERE request_id = ?`, requestID).
			Scan(&idNumber, &url, &current)
		if err != nil {
			return fmt.Errorf("read credit query: %w", err)
		}
		if current != CreditProcessing {
			return nil
		}
		status = CreditReady
		if _, ok := creditReport(idNumber); !ok {
			status = CreditNoRecord
		}
		if _, err := tx.ExecContext(ctx, `UPDATE credit_queries SET status = ? WHERE request_id = ?`, status, requestID); err != nil {
			return fmt.Errorf("complete credit query: %w", err)
		}
		if url == "" {
			return nil
		}
		callback = true
		eventID := newID("cbe_")
		body, err := json.Marshal(CreditCallback{Type: CreditCallbackType, RequestID: requestID, Status: status, EventID: eventID})
		if err != nil {
			return fmt.Errorf("encode credit callback: %w", err)
		}
		due := s.now().UnixNano()
		if _, err := tx.ExecContext(ctx, `INSERT INTO callbacks (event_id, reference, url, body, first_at, next_at)
			VALUES (?, ?, ?, ?, ?, ?)`, eventID, requestID, url, body, due, due); err != nil {
			return fmt.Errorf("enqueue credit callback: %w", err)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("complete credit query %s: %w", requestID, err)
	}
	if status != "" {
		if callback {
			kick(s.wakeDeliver)
		}
		s.log.WithFields(logrus.Fields{"request_id": requestID, "status": status, "callback": callback}).
			Info("credit query completed")
	}
	return nil
}
