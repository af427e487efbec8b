package chaos

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"hash/fnv"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Delivery is what a merchant's endpoint saw of one event.
type Delivery struct {
	EventID, Type, ObjectID string
	// Attempts are the POSTs of the event; Invalid those whose signature did not
	// verify; Accepted whether one valid attempt was answered 2xx.
	Attempts, Invalid int
	Accepted          bool
	// Body is the first body received; every later attempt must send the same bytes.
	Body      []byte
	Different int
}

// Receiver is a merchant's webhook endpoint: it verifies every POST's signature with
// the merchant's webhook secret as docs/api.md specifies (X-Payflow-Signature:
// t=UNIX,v1=HEX, HEX = HMAC-SHA256(webhook secret, t + "." + body); one v1= pair per
// secret during a rotation), independently of payflow's own code, and
// answers the first attempt of every FailEvery-th event 500 so that retries run too.
type Receiver struct {
	secret    string
	FailEvery int

	srv *http.Server
	url string
	mu  sync.Mutex
	got map[string]*Delivery
}

// NewReceiver listens on a free loopback port.
func NewReceiver(secret string, failEvery int) (*Receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &Receiver{secret: secret, FailEvery: failEvery, got: map[string]*Delivery{}, url: "http://" + ln.Addr().String() + "/webhooks"}
	r.srv = &http.Server{Handler: http.HandlerFunc(r.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(ln) }()
	return r, nil
}

// SetSecret sets the merchant's webhook secret the signatures are checked with (known
// only once the merchant, whose notify_url is this endpoint, exists).
func (r *Receiver) SetSecret(secret string) {
	r.mu.Lock()
	r.secret = secret
	r.mu.Unlock()
}

// URL is the endpoint's address, for the merchant's notify_url.
func (r *Receiver) URL() string { return r.url }

// Close stops the endpoint.
func (r *Receiver) Close() { _ = r.srv.Close() }

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil || req.Method != http.MethodPost {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	var env struct {
		ID   string `json:"id"`
		Type string `json:"type"`
		Data struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	jsonErr := json.Unmarshal(body, &env)
	r.mu.Lock()
	sigErr := VerifySignature(r.secret, req.Header.Get("X-Payflow-Signature"), body, time.Now())
	d := r.got[env.ID]
	if d == nil {
		d = &Delivery{EventID: env.ID, Type: env.Type, ObjectID: env.Data.ID, Body: body}
		r.got[env.ID] = d
	}
	d.Attempts++
	if string(body) != string(d.Body) {
		d.Different++
	}
	code := http.StatusOK
	switch {
	case sigErr != nil || jsonErr != nil || env.ID == "":
		d.Invalid++
		code = http.StatusUnauthorized
	case d.Attempts == 1 && r.FailEvery > 0 && hash(env.ID)%uint32(r.FailEvery) == 0:
		code = http.StatusInternalServerError
	default:
		d.Accepted = true
	}
	r.mu.Unlock()
	w.WriteHeader(code)
}

func hash(s string) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return h.Sum32()
}

// Deliveries are the events received so far, by the id of the object they are about.
func (r *Receiver) Deliveries() map[string][]Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]Delivery{}
	for _, d := range r.got {
		out[d.ObjectID] = append(out[d.ObjectID], *d)
	}
	return out
}

// VerifySignature checks a webhook's X-Payflow-Signature header against the body: the
// header is t=UNIX,v1=HEX with HEX the lowercase hex of HMAC-SHA256(secret, t + "." +
// body), and t within 5 minutes of now.
func VerifySignature(secret, header string, body []byte, now time.Time) error {
	var t string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			t = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	if t == "" || len(sigs) == 0 {
		return errors.New("no t= or v1= in the signature header")
	}
	ts, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return errors.New("t= is not unix seconds")
	}
	if d := now.Sub(time.Unix(ts, 0)); d > 5*time.Minute || d < -5*time.Minute {
		return errors.New("t= is more than 5 minutes away")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "." + string(body)))
	want := hex.EncodeToString(mac.Sum(nil))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("no v1= signature matches")
}
