package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/payflow/payflow/models"
)

// The identity services' objects. Every personal datum is kept twice: masked, for
// answers and lists, and sealed with the secrets key (bound to the row's id and the
// datum's role, so that a sealed value moved to another row does not open) where a
// flow needs it again. Lookups go by an HMAC of the datum, never the datum.

// Seal seals a personal datum of the object id in the role (card, agreement, report,
// consent): what the store keeps of it at rest.
func (s *Store) Seal(plain, id, role string) (string, error) {
	sealed, err := s.box.Seal(plain, id+"#"+role)
	if err != nil {
		return "", fmt.Errorf("seal %s of %s: %w", role, id, err)
	}
	return sealed, nil
}

// Open opens what Seal sealed for the same id and role.
func (s *Store) Open(sealed, id, role string) (string, error) {
	plain, err := s.box.Open(sealed, id+"#"+role)
	if err != nil {
		return "", fmt.Errorf("open %s of %s: %w", role, id, err)
	}
	return plain, nil
}

type verificationRow struct {
	ID               string `gorm:"primaryKey"`
	MerchantID       string
	Elements         int
	CardMasked       string
	NameMasked       string
	IDNumberMasked   string
	PhoneMasked      string
	Status           string
	Result           string
	MismatchedFields string
	FailureCode      string
	Bank             string
	CardType         string
	Last4            string
	Cached           bool
	Fee              int64
	Currency         string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

func (verificationRow) TableName() string { return "verifications" }

func (r verificationRow) model() models.Verification {
	v := models.Verification{
		ID: r.ID, Object: "verification", Type: "bank_card", Status: models.VerificationStatus(r.Status),
		Result: models.VerificationResult(r.Result), MismatchedFields: splitFields(r.MismatchedFields),
		FailureCode: models.FailureCode(r.FailureCode),
		Card:        models.CardInfo{Bank: r.Bank, CardType: r.CardType, Last4: r.Last4},
		Elements: models.MaskedIdentity{
			CardNumber: r.CardMasked, Name: r.NameMasked, IDNumber: r.IDNumberMasked, Phone: r.PhoneMasked,
		},
		Cached: r.Cached, Fee: r.Fee, Currency: models.Currency(r.Currency), CreatedAt: r.CreatedAt.UTC(),
	}
	return v
}

func splitFields(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, ",")
}

// InsertVerification stores a new verification (processing) with its elements
// masked: a verification keeps nothing of the person it checked but masks.
func InsertVerification(tx *gorm.DB, merchantID string, elements int, v models.Verification) error {
	row := verificationRow{
		ID: v.ID, MerchantID: merchantID, Elements: elements, CardMasked: v.Elements.CardNumber,
		NameMasked: v.Elements.Name, IDNumberMasked: v.Elements.IDNumber, PhoneMasked: v.Elements.Phone,
		Status: string(v.Status), Cached: v.Cached, Fee: v.Fee, Currency: string(v.Currency),
		CreatedAt: v.CreatedAt.UTC(), UpdatedAt: v.CreatedAt.UTC(),
	}
	return insertRow(tx, &row, "verification", v.ID)
}

// Verification returns the merchant's verification, or ErrNotFound.
func (s *Store) Verification(ctx context.Context, merchantID, id string) (models.Verification, error) {
	return takeModel[verificationRow](s.ofMerchant(ctx, merchantID, id), "verification", id)
}

// ListVerifications pages through the merchant's verifications, newest first.
func (s *Store) ListVerifications(ctx context.Context, q ListQuery) ([]models.Verification, bool, error) {
	return newestOfMerchant[verificationRow](ctx, s.db, q, "list verifications")
}

// SetVerificationOutcome records a verification's end in the transaction that books
// its fee; only a processing verification changes, so a replay changes nothing.
func (t *Tx) SetVerificationOutcome(id string, o models.VerificationOutcome) error {
	updates := map[string]any{
		"status": string(o.Status), "failure_code": string(o.FailureCode), "cached": o.Cached, "fee": o.Fee,
		"updated_at": time.Now().UTC(),
	}
	if a := o.Answer; a != nil {
		updates["result"] = string(a.Result)
		updates["mismatched_fields"] = strings.Join(a.MismatchedFields, ",")
		updates["bank"], updates["card_type"], updates["last4"] = a.Card.Bank, a.Card.CardType, a.Card.Last4
	}
	res := t.db.Model(&verificationRow{}).Where("id = ? AND status = ?", id, string(models.VerificationProcessing)).Updates(updates)
	if res.Error != nil {
		return fmt.Errorf("set outcome of %s: %w", id, translate(res.Error))
	}
	return nil
}

type boundCardRow struct {
	ID              string `gorm:"primaryKey"`
	MerchantID      string
	AccountID       string
	Status          string
	FailureCode     string
	CardMasked      string
	NameMasked      string
	IDNumberMasked  string
	PhoneMasked     string
	CardSealed      string
	Bank            string
	CardType        string
	Last4           string
	AgreementSealed *string
	AttemptsLeft    int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (boundCardRow) TableName() string { return "bound_cards" }

func (r boundCardRow) model() models.BoundCard {
	c := models.BoundCard{
		ID: r.ID, Object: "card", AccountID: r.AccountID, Status: models.BoundCardStatus(r.Status),
		FailureCode: models.FailureCode(r.FailureCode), CardNumber: r.CardMasked, Name: r.NameMasked,
		IDNumber: r.IDNumberMasked, Phone: r.PhoneMasked,
		Card:      models.CardInfo{Bank: r.Bank, CardType: r.CardType, Last4: r.Last4},
		CreatedAt: r.CreatedAt.UTC(),
	}
	if c.Status == models.BoundCardPendingOTP {
		c.AttemptsLeft = r.AttemptsLeft
	}
	return c
}

// InsertBoundCard stores a new binding (pending_otp) of a card to a wallet: the
// elements masked, the card number sealed.
func (s *Store) InsertBoundCard(tx *gorm.DB, merchantID string, c models.BoundCard, id models.Identity) error {
	sealed, err := s.Seal(id.CardNumber, c.ID, "card")
	if err != nil {
		return err
	}
	m := id.Masked()
	row := boundCardRow{
		ID: c.ID, MerchantID: merchantID, AccountID: c.AccountID, Status: string(c.Status),
		CardMasked: m.CardNumber, NameMasked: m.Name, IDNumberMasked: m.IDNumber, PhoneMasked: m.Phone,
		CardSealed: sealed, Last4: last4(id.CardNumber), AttemptsLeft: models.OTPAttempts,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.CreatedAt.UTC(),
	}
	return insertRow(tx, &row, "bound card", c.ID)
}

func last4(s string) string {
	if len(s) < 4 {
		return ""
	}
	return s[len(s)-4:]
}

// BoundCard returns a card bound to the merchant's wallet accountID, or ErrNotFound.
func (s *Store) BoundCard(ctx context.Context, merchantID, accountID, id string) (models.BoundCard, error) {
	return takeModel[boundCardRow](s.ofMerchant(ctx, merchantID, id).Where("account_id = ?", accountID), "bound card", id)
}

// BoundCardByID returns a binding whoever owns it (for its flow).
func (s *Store) BoundCardByID(ctx context.Context, id string) (models.BoundCard, error) {
	return takeModel[boundCardRow](s.db.WithContext(ctx).Where("id = ?", id), "bound card", id)
}

// ListBoundCards answers the cards bound (or being bound) to a wallet, newest first.
func (s *Store) ListBoundCards(ctx context.Context, merchantID, accountID string, limit int, after string) ([]models.BoundCard, bool, error) {
	q := s.db.WithContext(ctx).Where("merchant_id = ? AND account_id = ?", merchantID, accountID)
	if after != "" {
		q = q.Where("id < ?", after)
	}
	return pageModels[boundCardRow](q, "id DESC", limit, "list bound cards")
}

// ActiveCard is an active bound card with its bank agreement opened: what a payment,
// top-up or withdrawal moves money with.
type ActiveCard struct {
	Card        models.BoundCard
	MerchantID  string
	AgreementNo string
}

// ActiveBoundCard returns the merchant's card id bound to any of its wallets, with
// its agreement, when it is active; ErrNotFound otherwise (pending, failed, removed
// or another merchant's).
func (s *Store) ActiveBoundCard(ctx context.Context, merchantID, id string) (ActiveCard, error) {
	var row boundCardRow
	if err := s.ofMerchant(ctx, merchantID, id).Where("status = ?", string(models.BoundCardActive)).Take(&row).Error; err != nil {
		return ActiveCard{}, fmt.Errorf("bound card %s: %w", id, translate(err))
	}
	if row.AgreementSealed == nil {
		return ActiveCard{}, fmt.Errorf("bound card %s: active without an agreement", id)
	}
	agr, err := s.Open(*row.AgreementSealed, row.ID, "agreement")
	if err != nil {
		return ActiveCard{}, err
	}
	return ActiveCard{Card: row.model(), MerchantID: row.MerchantID, AgreementNo: agr}, nil
}

// BindingUpdate is a binding flow's change of its card.
type BindingUpdate struct {
	Status       models.BoundCardStatus
	FailureCode  models.FailureCode
	Card         *models.CardInfo
	AgreementNo  string
	AttemptsLeft *int
}

// UpdateBoundCard records a binding's change. A card never leaves failed or removed,
// and becomes removed from any state.
func (s *Store) UpdateBoundCard(ctx context.Context, id string, u BindingUpdate) error {
	updates := map[string]any{"updated_at": time.Now().UTC()}
	if u.Status != "" {
		updates["status"] = string(u.Status)
		updates["failure_code"] = string(u.FailureCode)
	}
	if u.Card != nil {
		updates["bank"], updates["card_type"] = u.Card.Bank, u.Card.CardType
		if u.Card.Last4 != "" {
			updates["last4"] = u.Card.Last4
		}
	}
	if u.AgreementNo != "" {
		sealed, err := s.Seal(u.AgreementNo, id, "agreement")
		if err != nil {
			return err
		}
		updates["agreement_sealed"] = sealed
	}
	if u.AttemptsLeft != nil {
		updates["attempts_left"] = *u.AttemptsLeft
	}
	q := s.db.WithContext(ctx).Model(&boundCardRow{}).Where("id = ?", id)
	if u.Status != models.BoundCardRemoved {
		q = q.Where("status NOT IN ?", []string{string(models.BoundCardFailed), string(models.BoundCardRemoved)})
	}
	if err := q.Updates(updates).Error; err != nil {
		return fmt.Errorf("update bound card %s: %w", id, translate(err))
	}
	return nil
}

type creditReportRow struct {
	ID               string `gorm:"primaryKey"`
	MerchantID       string
	SubjectHash      string
	NameMasked       string
	IDNumberMasked   string
	Purpose          string
	ConsentSealed    string
	ConsentGrantedAt time.Time
	Status           string
	FailureCode      string
	ReportSealed     *string
	ReusedFrom       string
	Fee              int64
	Currency         string
	NotifyURL        string
	ReadyAt          *time.Time
	ExpiresAt        *time.Time
	PurgedAt         *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

func (creditReportRow) TableName() string { return "credit_reports" }

func (r creditReportRow) model() models.CreditReport {
	c := models.CreditReport{
		ID: r.ID, Object: "credit_report", Status: models.CreditReportStatus(r.Status),
		FailureCode: models.FailureCode(r.FailureCode),
		Subject:     models.Subject{Name: r.NameMasked, IDNumber: r.IDNumberMasked},
		Purpose:     r.Purpose, ReusedFrom: r.ReusedFrom, Fee: r.Fee, Currency: models.Currency(r.Currency),
		NotifyURL: r.NotifyURL, CreatedAt: r.CreatedAt.UTC(),
		ReadyAt: utcPtr(r.ReadyAt), ExpiresAt: utcPtr(r.ExpiresAt), PurgedAt: utcPtr(r.PurgedAt),
	}
	return c
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// NewCreditReport is a report to store: its subject (sealed nowhere: only masked,
// and as the HMAC the reuse lookup goes by) and consent.
type NewCreditReport struct {
	Report      models.CreditReport
	MerchantID  string
	SubjectHash string
	Subject     models.Subject
	Consent     models.Consent
	// Reused is the earlier report this one answers with (ready at once, its
	// content copied); "" for a report the bureau is asked for.
	Reused *ReusableReport
}

// InsertCreditReport stores a new credit report.
func (s *Store) InsertCreditReport(tx *gorm.DB, n NewCreditReport) error {
	consent, err := json.Marshal(n.Consent)
	if err != nil {
		return err
	}
	sealedConsent, err := s.Seal(string(consent), n.Report.ID, "consent")
	if err != nil {
		return err
	}
	r := n.Report
	row := creditReportRow{
		ID: r.ID, MerchantID: n.MerchantID, SubjectHash: n.SubjectHash,
		NameMasked: models.MaskName(n.Subject.Name), IDNumberMasked: models.MaskIDNumber(n.Subject.IDNumber),
		Purpose: r.Purpose, ConsentSealed: sealedConsent, ConsentGrantedAt: n.Consent.GrantedAt.UTC(),
		Status: string(r.Status), Fee: r.Fee, Currency: string(r.Currency), NotifyURL: r.NotifyURL,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.CreatedAt.UTC(),
	}
	if u := n.Reused; u != nil {
		sealed, err := s.Seal(u.Content, r.ID, "report")
		if err != nil {
			return err
		}
		row.ReportSealed, row.ReusedFrom = &sealed, u.ID
		// Ready when the bureau answered the first: a reuse never extends how long
		// the content is kept.
		row.ReadyAt, row.ExpiresAt = utcPtr(&u.ReadyAt), utcPtr(&u.ExpiresAt)
	}
	return insertRow(tx, &row, "credit report", r.ID)
}

// CreditReport returns the merchant's report with its content opened while it is
// kept; ErrNotFound.
func (s *Store) CreditReport(ctx context.Context, merchantID, id string) (models.CreditReport, error) {
	var row creditReportRow
	if err := s.ofMerchant(ctx, merchantID, id).Take(&row).Error; err != nil {
		return models.CreditReport{}, fmt.Errorf("credit report %s: %w", id, translate(err))
	}
	return s.openReport(row)
}

// CreditReportByID returns a report whoever owns it (operators, flows).
func (s *Store) CreditReportByID(ctx context.Context, id string) (models.CreditReport, string, error) {
	var row creditReportRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return models.CreditReport{}, "", fmt.Errorf("credit report %s: %w", id, translate(err))
	}
	r, err := s.openReport(row)
	return r, row.MerchantID, err
}

func (s *Store) openReport(row creditReportRow) (models.CreditReport, error) {
	r := row.model()
	if row.ReportSealed != nil && row.PurgedAt == nil {
		plain, err := s.Open(*row.ReportSealed, row.ID, "report")
		if err != nil {
			return models.CreditReport{}, err
		}
		r.Report = json.RawMessage(plain)
	}
	return r, nil
}

// ListCreditReports pages through the merchant's reports (without their content).
func (s *Store) ListCreditReports(ctx context.Context, q ListQuery) ([]models.CreditReport, bool, error) {
	return newestOfMerchant[creditReportRow](ctx, s.db, q, "list credit reports")
}

// ReusableReport is a ready report a new request of the same merchant for the same
// subject may answer with.
type ReusableReport struct {
	ID        string
	Content   string
	ReadyAt   time.Time
	ExpiresAt time.Time
}

// ReusableCreditReport finds the merchant's newest report of the subject (by its
// HMAC) that the bureau answered since, still kept; ErrNotFound when none.
func (s *Store) ReusableCreditReport(ctx context.Context, merchantID, subjectHash string, since time.Time) (ReusableReport, error) {
	var row creditReportRow
	err := s.db.WithContext(ctx).
		Where("merchant_id = ? AND subject_hash = ? AND status = ? AND reused_from = '' AND ready_at >= ? AND purged_at IS NULL",
			merchantID, subjectHash, string(models.CreditReportReady), since.UTC()).
		Order("ready_at DESC").Take(&row).Error
	if err != nil {
		return ReusableReport{}, fmt.Errorf("reusable credit report: %w", translate(err))
	}
	if row.ReportSealed == nil {
		return ReusableReport{}, ErrNotFound
	}
	plain, err := s.Open(*row.ReportSealed, row.ID, "report")
	if err != nil {
		return ReusableReport{}, err
	}
	out := ReusableReport{ID: row.ID, Content: plain, ReadyAt: row.ReadyAt.UTC()}
	if row.ExpiresAt != nil {
		out.ExpiresAt = row.ExpiresAt.UTC()
	}
	return out, nil
}

// ReportOutcome is what a credit report flow records when the bureau has answered.
type ReportOutcome struct {
	Status      models.CreditReportStatus
	FailureCode models.FailureCode
	// ReportSealed is the content, sealed with Seal(content, id, "report").
	ReportSealed string
	Fee          int64
	ReadyAt      time.Time
	ExpiresAt    time.Time
}

// SetCreditReportOutcome records a report's end in the transaction that books its
// fee; only a processing report changes.
func (t *Tx) SetCreditReportOutcome(id string, o ReportOutcome) error {
	updates := map[string]any{
		"status": string(o.Status), "failure_code": string(o.FailureCode), "fee": o.Fee,
		"updated_at": time.Now().UTC(),
	}
	if o.ReportSealed != "" {
		updates["report_sealed"] = o.ReportSealed
		updates["ready_at"], updates["expires_at"] = o.ReadyAt.UTC(), o.ExpiresAt.UTC()
	}
	res := t.db.Model(&creditReportRow{}).Where("id = ? AND status = ?", id, string(models.CreditReportProcessing)).Updates(updates)
	if res.Error != nil {
		return fmt.Errorf("set outcome of %s: %w", id, translate(res.Error))
	}
	return nil
}

// PurgeCreditReports deletes the content of up to limit reports the bureau answered
// before the cutoff (status purged, content NULL), oldest first, and answers how many
// it purged: a batch of the purge schedule (PurgeKindCreditReports).
func (s *Store) PurgeCreditReports(ctx context.Context, before time.Time, limit int) (int, error) {
	var ids []string
	now := time.Now().UTC()
	if err := s.db.WithContext(ctx).Model(&creditReportRow{}).
		Where("ready_at < ? AND purged_at IS NULL AND report_sealed IS NOT NULL", before.UTC()).
		Order("ready_at").Limit(limit).Pluck("id", &ids).Error; err != nil {
		return 0, fmt.Errorf("find expired credit reports: %w", translate(err))
	}
	if len(ids) == 0 {
		return 0, nil
	}
	res := s.db.WithContext(ctx).Model(&creditReportRow{}).Where("id IN ? AND purged_at IS NULL", ids).
		Updates(map[string]any{
			"report_sealed": nil, "status": string(models.CreditReportPurged), "purged_at": now.UTC(), "updated_at": now.UTC(),
		})
	if res.Error != nil {
		return 0, fmt.Errorf("purge credit reports: %w", translate(res.Error))
	}
	return int(res.RowsAffected), nil
}

type reportReadRow struct {
	ID         string `gorm:"primaryKey"`
	ReportID   string
	MerchantID string
	Reader     string
	RequestID  string
	CreatedAt  time.Time
}

func (reportReadRow) TableName() string { return "credit_report_reads" }

func (r reportReadRow) model() models.ReportRead {
	return models.ReportRead{ID: r.ID, Object: "credit_report_read", ReportID: r.ReportID, Reader: r.Reader,
		RequestID: r.RequestID, CreatedAt: r.CreatedAt.UTC()}
}

// RecordReportRead appends a read of a report by reader (merchant:<id> or
// operator:<name>).
func (s *Store) RecordReportRead(ctx context.Context, reportID, merchantID, reader, requestID string, at time.Time) error {
	row := reportReadRow{
		ID: models.NewID(models.PrefixReportRead), ReportID: reportID, MerchantID: merchantID,
		Reader: reader, RequestID: requestID, CreatedAt: at.UTC(),
	}
	return insertRow(s.db.WithContext(ctx), &row, "credit report read", row.ID)
}

// ReportReads pages through a report's reads, newest first.
func (s *Store) ReportReads(ctx context.Context, reportID string, limit int, after string) ([]models.ReportRead, bool, error) {
	q := s.db.WithContext(ctx).Where("report_id = ?", reportID)
	if after != "" {
		q = q.Where("id < ?", after)
	}
	return pageModels[reportReadRow](q, "id DESC", limit, "list report reads")
}

// CardAgreement answers the bank agreement of the merchant's card id when it is
// active and bound to accountID ("" accountID: to any of the merchant's wallets);
// ErrNotFound otherwise. What a flow moves a bound card's money with.
func (s *Store) CardAgreement(ctx context.Context, merchantID, accountID, cardID string) (string, error) {
	c, err := s.ActiveBoundCard(ctx, merchantID, cardID)
	if err != nil {
		return "", err
	}
	if accountID != "" && c.Card.AccountID != accountID {
		return "", fmt.Errorf("bound card %s: %w", cardID, ErrNotFound)
	}
	return c.AgreementNo, nil
}
