package chaos

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/payflow/payflow/models"
)

// The identity services in a run: bank-card verifications (the bank's answer, or the
// cache's for elements verified before) and cards bound to new wallets with the
// bank's SMS code, half of them then topped up from. They are paced through the mix
// by the flows created, so that they run while the worker, the API and the cache are
// killed; Verify then proves that each was billed exactly once.

// Verification is one verification a run asked for.
type Verification struct {
	ID string
	// Case names what was asked (match, mismatch, timeout, seeded, unknown_card,
	// repeat), for messages.
	Case string
	// Want is the result the bank must answer: match or mismatch.
	Want string
	// Repeat: the same elements were verified earlier in the run and that
	// verification had ended, so the answer may come from the cache.
	Repeat bool
	// Started is just before its creating request was sent, Ended when the run saw
	// it end (zero: not seen ending).
	Started, Ended time.Time
}

// Binding is a card a run bound to a new wallet.
type Binding struct {
	CardID, AccountID string
	// Topup is the top-up from the card ("" when none was made).
	Topup string
}

// AddVerification records a verification the run created.
func (tr *Tracker) AddVerification(v Verification) {
	tr.mu.Lock()
	tr.verifications = append(tr.verifications, v)
	tr.mu.Unlock()
}

// VerificationEnded records when the run saw verification id end.
func (tr *Tracker) VerificationEnded(id string, at time.Time) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	for i := range tr.verifications {
		if tr.verifications[i].ID == id {
			tr.verifications[i].Ended = at
		}
	}
}

// Verifications are the verifications created so far.
func (tr *Tracker) Verifications() []Verification {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]Verification(nil), tr.verifications...)
}

// VerificationsEndedSince counts the verifications created at or after since that
// the run saw end.
func (tr *Tracker) VerificationsEndedSince(since time.Time) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, v := range tr.verifications {
		if !v.Started.Before(since) && !v.Ended.IsZero() {
			n++
		}
	}
	return n
}

// AddBinding records a card the run bound and confirmed (the API answered active).
func (tr *Tracker) AddBinding(b Binding) {
	tr.mu.Lock()
	tr.bindings = append(tr.bindings, b)
	tr.mu.Unlock()
}

// Bindings are the cards bound and confirmed so far.
func (tr *Tracker) Bindings() []Binding {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]Binding(nil), tr.bindings...)
}

// Cardholder is an identity of the bank simulator's directory (POST /sim/cardholders).
type Cardholder struct {
	CardNumber string `json:"card_number"`
	Name       string `json:"name"`
	IDNumber   string `json:"id_number"`
	Phone      string `json:"phone"`
}

// The bank simulator's seeded test identities (banksim's seededCardholders).
var (
	// HolderMatch's elements all match.
	HolderMatch = Cardholder{"6222021000000000017", "张三", "110105199003070017", "13800138000"}
	// HolderCredit is 李四's credit card.
	HolderCredit = Cardholder{"6222021000000000025", "李四", "310115198512240024", "13900139000"}
	// HolderTimeout's first answer to each request id comes too late: the bank
	// executes, the client gives up and asks again under the same id.
	HolderTimeout = Cardholder{"6222021000000000041", "张三", "110105199003070017", "13800138000"}
	// HolderSlowSMS's codes arrive 2 s after the bank sent them.
	HolderSlowSMS = Cardholder{"6228480000000000059", "王五", "440304199208150038", "13700137000"}
)

var (
	surnames   = []string{"赵", "钱", "孙", "周", "吴", "郑", "冯", "陈", "褚", "卫", "蒋", "沈"}
	givenNames = []string{"一", "二", "明", "华", "芳", "伟", "静", "磊", "洋", "敏", "杰", "婷", "强", "丽"}
)

// NewCardholder makes a distinct identity: a Luhn-valid 19-digit card number, a
// GB 11643-valid ID number, a mobile number and a name, all from rng.
func NewCardholder(rng *rand.Rand) Cardholder {
	card := checked(fmt.Sprintf("622202%012d", rng.Int64N(1e12)), "0123456789", models.ValidCardNumber)
	birth := time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, rng.IntN(40*365))
	id := checked(fmt.Sprintf("110105%s%03d", birth.Format("20060102"), rng.IntN(1000)), "0123456789X", models.ValidIDNumber)
	return Cardholder{
		CardNumber: card, IDNumber: id,
		Name:  surnames[rng.IntN(len(surnames))] + givenNames[rng.IntN(len(givenNames))] + givenNames[rng.IntN(len(givenNames))],
		Phone: fmt.Sprintf("15%09d", rng.Int64N(1e9)),
	}
}

// checked appends to body the one character of chars that valid accepts: the check
// digit, found by the model's own check rather than computed a second time here.
func checked(body, chars string, valid func(string) bool) string {
	for _, c := range chars {
		if s := body + string(c); valid(s) {
			return s
		}
	}
	panic("no check character makes " + body + " valid")
}

// AddCardholder adds an identity to the bank simulator's directory.
func (d *Driver) AddCardholder(ctx context.Context, c Cardholder) error {
	body, _ := json.Marshal(c)
	r, err := d.Bank(ctx, http.MethodPost, "/sim/cardholders", string(body))
	if err != nil {
		return fmt.Errorf("add cardholder: %w", err)
	}
	if r.Status != http.StatusCreated {
		return fmt.Errorf("add cardholder: HTTP %d: %s", r.Status, r.Body)
	}
	return nil
}

// verifyItem is one verification of a run's plan.
type verifyItem struct {
	Case string
	// Elements are the request's; an empty IDNumber or Phone is not sent.
	Elements Cardholder
	Want     string
	// Register is added to the bank's directory before the request (nil: the
	// elements' card is seeded, or must stay unknown to the bank).
	Register *Cardholder
	// Of is the earlier item whose elements this one repeats (-1: none): it is
	// asked once that one has ended.
	Of int
}

// verificationPlan is n verifications, in cycles of eight: a new identity that
// matches (four elements) and its repeat; a new identity with another name (a
// mismatch) and, later, its repeat; the card whose first answer times out (two, three
// or four elements in turn: later cycles repeat earlier ones); a new identity that
// matches on three elements; a seeded card (张三's matching, or 李四's with another
// phone); and a valid card number the bank does not know (a mismatch).
func verificationPlan(n int, rng *rand.Rand) []verifyItem {
	items := make([]verifyItem, 0, n)
	firstOf := map[string]int{}
	add := func(it verifyItem, key string) {
		it.Of = -1
		if i, ok := firstOf[key]; ok && key != "" {
			it.Of = i
		} else if key != "" {
			firstOf[key] = len(items)
		}
		items = append(items, it)
	}
	for c := 0; len(items) < n; c++ {
		match := NewCardholder(rng)
		other := NewCardholder(rng)
		wrongName := other
		wrongName.Name = surnames[(c+1)%len(surnames)] + "错名"
		three := NewCardholder(rng)
		unknown := NewCardholder(rng)
		timeout := HolderTimeout
		switch c % 3 {
		case 0:
			timeout.IDNumber, timeout.Phone = "", ""
		case 1:
			timeout.Phone = ""
		}
		seeded, seededWant := HolderMatch, "match"
		if c%2 == 1 {
			seeded, seededWant = HolderCredit, "mismatch"
			seeded.Phone = "13900139001"
		}
		threeElems := three
		threeElems.Phone = ""
		cycle := []struct {
			it  verifyItem
			key string
		}{
			{verifyItem{Case: "match", Elements: match, Want: "match", Register: &match}, fmt.Sprintf("match-%d", c)},
			{verifyItem{Case: "repeat", Elements: match, Want: "match"}, fmt.Sprintf("match-%d", c)},
			{verifyItem{Case: "mismatch", Elements: wrongName, Want: "mismatch", Register: &other}, fmt.Sprintf("mismatch-%d", c)},
			{verifyItem{Case: "timeout", Elements: timeout, Want: "match"}, fmt.Sprintf("timeout-%d", c%3)},
			{verifyItem{Case: "match", Elements: threeElems, Want: "match", Register: &three}, ""},
			{verifyItem{Case: "repeat", Elements: wrongName, Want: "mismatch"}, fmt.Sprintf("mismatch-%d", c)},
			{verifyItem{Case: "seeded", Elements: seeded, Want: seededWant}, fmt.Sprintf("seeded-%d", c%2)},
			{verifyItem{Case: "unknown_card", Elements: Cardholder{CardNumber: unknown.CardNumber, Name: unknown.Name}, Want: "mismatch"}, ""},
		}
		for _, x := range cycle {
			if len(items) == n {
				break
			}
			add(x.it, x.key)
		}
	}
	return items
}

// pacer starts the identity requests through a run: item i of n when the flows
// created reach from% + i*(to-from)%/n of total, or at once when the mix's other
// chains have all ended (nothing more will be created).
type pacer struct {
	tr       *Tracker
	total    int
	mainDone <-chan struct{}
}

func (p pacer) wait(ctx context.Context, i, n, from, to int) error {
	at := p.total * (from + i*(to-from)/max(n, 1)) / 100
	for int(p.tr.Created.Load()) < at {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.mainDone:
			return nil
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

// waitPaid waits until the payments seen succeeded hold at least amount (the fees
// come from the merchant's settlement account: a verification asked before it holds
// its fee fails insufficient_funds), or until the mix's other chains have ended.
func (p pacer) waitPaid(ctx context.Context, amount int64) error {
	for p.tr.Paid.Load() < amount {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.mainDone:
			return nil
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

// identityMix runs o's verifications and bindings, paced by p, and returns when all
// have ended; failures are in tr.Errs.
func identityMix(ctx context.Context, d *Driver, tr *Tracker, o MixOptions, p pacer) {
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x1dc4a05))
	items := verificationPlan(o.Verifications, rng)
	holders := make([]Cardholder, o.Bindings)
	for i := range holders {
		holders[i] = NewCardholder(rng)
	}
	if o.Bindings > 0 {
		// One binding's SMS arrives late: the code is read when it shows.
		holders[0] = HolderSlowSMS
	}
	done := make([]chan struct{}, len(items))
	for i := range done {
		done[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	fail := func(err error) {
		if err != nil {
			tr.Fail(err)
		}
	}
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(done[i])
			if err := p.wait(ctx, i, len(items), 10, 90); err != nil {
				fail(err)
				return
			}
			// Twice the whole plan's fees (50 each at most) before any is asked:
			// the refunds take 30 % of the payments at most.
			if err := p.waitPaid(ctx, int64(100*len(items))); err != nil {
				fail(err)
				return
			}
			if it.Of >= 0 {
				select {
				case <-ctx.Done():
					fail(ctx.Err())
					return
				case <-done[it.Of]:
				}
			}
			fail(verificationChain(ctx, d, tr, it))
		}()
	}
	for i, h := range holders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.wait(ctx, i, len(holders), 10, 80); err != nil {
				fail(err)
				return
			}
			fail(bindingChain(ctx, d, tr, h, fmt.Sprintf("%s-card-%d", o.WalletPrefix, i), i%2 == 0, int64(30000+i)))
		}()
	}
	wg.Wait()
}

// verificationChain asks one verification (its identity added to the bank first)
// and waits until it has ended.
func verificationChain(ctx context.Context, d *Driver, tr *Tracker, it verifyItem) error {
	if it.Register != nil {
		if err := retry(ctx, func() error { return d.AddCardholder(ctx, *it.Register) }); err != nil {
			return err
		}
	}
	body := map[string]any{"type": "bank_card", "card_number": it.Elements.CardNumber, "name": it.Elements.Name}
	if it.Elements.IDNumber != "" {
		body["id_number"] = it.Elements.IDNumber
	}
	if it.Elements.Phone != "" {
		body["phone"] = it.Elements.Phone
	}
	started := time.Now()
	r, _, err := d.CreateAny(ctx, "/v1/verifications", body, http.StatusOK, http.StatusAccepted)
	if err != nil {
		return fmt.Errorf("verification (%s): %w", it.Case, err)
	}
	var v Object
	if err := r.JSON(&v); err != nil {
		return err
	}
	tr.AddVerification(Verification{ID: v.ID, Case: it.Case, Want: it.Want, Repeat: it.Of >= 0, Started: started})
	if _, err := d.WaitFinal(ctx, "/v1/verifications/"+v.ID, "processing"); err != nil {
		return err
	}
	tr.VerificationEnded(v.ID, time.Now())
	return nil
}

// retry runs fn until it succeeds, five times at most, 500 ms apart.
func retry(ctx context.Context, fn func() error) error {
	var err error
	for i := 0; i < 5; i++ {
		if err = fn(); err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return err
}

// problemCode is the code of an API problem answer.
func problemCode(body []byte) string {
	var p struct{ Code string }
	_ = json.Unmarshal(body, &p)
	return p.Code
}

// bindingChain opens a wallet, binds holder's card to it (the bank's SMS code read
// at the simulator and typed in) and, with topup, tops the wallet up from the card.
func bindingChain(ctx context.Context, d *Driver, tr *Tracker, holder Cardholder, reference string, topup bool, amount int64) error {
	if holder != HolderSlowSMS {
		if err := retry(ctx, func() error { return d.AddCardholder(ctx, holder) }); err != nil {
			return err
		}
	}
	r, _, err := d.Create(ctx, "/v1/accounts", map[string]any{"currency": "CNY", "reference": reference}, 201)
	if err != nil {
		return err
	}
	var acct Object
	if err := r.JSON(&acct); err != nil {
		return err
	}
	tr.AddWallet(acct.ID)
	started := time.Now()
	r, _, err = d.Create(ctx, "/v1/accounts/"+acct.ID+"/cards", map[string]any{
		"card_number": holder.CardNumber, "name": holder.Name, "id_number": holder.IDNumber, "phone": holder.Phone,
	}, http.StatusAccepted)
	if err != nil {
		return fmt.Errorf("bind a card to %s: %w", acct.ID, err)
	}
	var card Object
	if err := r.JSON(&card); err != nil {
		return err
	}
	cardPath := "/v1/accounts/" + acct.ID + "/cards/" + card.ID
	if card.Status == "failed" {
		return fmt.Errorf("card %s: the binding failed %s at once", card.ID, card.FailureCode)
	}
	otp, err := d.readSMS(ctx, holder.Phone, started)
	if err != nil {
		return fmt.Errorf("card %s: %w", card.ID, err)
	}
	if err := d.confirmCard(ctx, cardPath, otp); err != nil {
		return fmt.Errorf("card %s: %w", card.ID, err)
	}
	b := Binding{CardID: card.ID, AccountID: acct.ID}
	if !topup {
		tr.AddBinding(b)
		return nil
	}
	top, err := tr.Start(ctx, d, "topup", "/v1/topups", map[string]any{
		"account_id": acct.ID, "amount": amount, "currency": "CNY", "source": map[string]any{"type": "bound_card", "card_id": card.ID},
	}, "succeeded", "")
	if err != nil {
		return fmt.Errorf("top up %s from card %s: %w", acct.ID, card.ID, err)
	}
	b.Topup = top.ID
	tr.AddBinding(b)
	_, err = tr.Wait(ctx, d, top, "topup")
	return err
}

// readSMS reads the last code the bank sent to phone since (less a second of clock
// slack), polling until it shows (a slow SMS arrives seconds late), a minute at most.
func (d *Driver) readSMS(ctx context.Context, phone string, since time.Time) (string, error) {
	deadline := time.Now().Add(time.Minute)
	last := "nothing arrived"
	for {
		r, err := d.Bank(ctx, http.MethodGet, "/sim/sms?phone="+url.QueryEscape(phone), "")
		switch {
		case err != nil:
			last = err.Error()
		case r.Status == http.StatusOK:
			var sms struct {
				OTP    string    `json:"otp"`
				SentAt time.Time `json:"sent_at"`
			}
			if err := r.JSON(&sms); err != nil {
				return "", err
			}
			if !sms.SentAt.Before(since.Add(-time.Second)) && sms.OTP != "" {
				return sms.OTP, nil
			}
			last = "only an older code arrived"
		case r.Status != http.StatusNotFound:
			last = fmt.Sprintf("HTTP %d: %s", r.Status, r.Body)
		}
		if time.Now().After(deadline) {
			return "", fmt.Errorf("no SMS code arrived in a minute: %s", last)
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// errNotYet: the card's flow does not take the code yet.
var errNotYet = errors.New("not yet")

// confirmCard types the code in until the API answers the card active, as a
// customer's app does: again after a 5xx or no answer (a crash), and again after a
// refusal while the card is still pending_otp (its flow not yet waiting for the code,
// e.g. just after the worker was killed). A confirm whose answer was lost and that
// made the card active answers card_not_active on the retry: the card is read then.
func (d *Driver) confirmCard(ctx context.Context, cardPath, otp string) error {
	deadline := time.Now().Add(2 * time.Minute)
	var last string
	for {
		r, err := d.Client(d.NextReplica()).Post(ctx, cardPath+"/confirm", map[string]string{"otp": otp}, "")
		switch {
		case err != nil:
			last = err.Error()
		case r.Status == http.StatusOK:
			var c Object
			if err := r.JSON(&c); err != nil {
				return err
			}
			if c.Status == "active" {
				return nil
			}
			return fmt.Errorf("confirmed with the bank's code, the card is %s %s", c.Status, c.FailureCode)
		case r.Status >= 500 || r.Status == http.StatusTooManyRequests:
			last = fmt.Sprintf("HTTP %d: %s", r.Status, r.Body)
		case r.Status == http.StatusUnprocessableEntity && (problemCode(r.Body) == "card_not_active" || problemCode(r.Body) == string(models.FailureOTPExpired)):
			// Active already (a lost answer), or not yet waiting for the code.
			err := d.cardStatus(ctx, cardPath)
			if err == nil {
				return nil
			}
			if !errors.Is(err, errNotYet) {
				return err
			}
			last = fmt.Sprintf("HTTP %d: %s", r.Status, r.Body)
		default:
			return fmt.Errorf("confirm: HTTP %d: %s", r.Status, r.Body)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("confirm: gave up: %s", last)
		}
		d.Retried.Add(1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// cardStatus is nil when the card is active, errNotYet while it is pending_otp (or
// cannot be read), an error when its binding ended otherwise.
func (d *Driver) cardStatus(ctx context.Context, cardPath string) error {
	r, err := d.Client(d.NextReplica()).Get(ctx, cardPath)
	if err != nil || r.Status != http.StatusOK {
		return errNotYet
	}
	var c Object
	if err := r.JSON(&c); err != nil {
		return err
	}
	switch c.Status {
	case "active":
		return nil
	case "pending_otp":
		return errNotYet
	}
	return fmt.Errorf("the binding ended %s %s", c.Status, c.FailureCode)
}

// identityCase is one verification's outcome as the report counts it: result and
// where it came from, or failed and its code.
func identityCase(status, result, code string, cached bool) string {
	switch {
	case status == "succeeded" && cached:
		return result + "/cache"
	case status == "succeeded":
		return result + "/bank"
	case code != "":
		return status + "/" + code
	}
	return status
}
