package merchant

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/payflow/payflow/starter"
)

// MaxWait bounds Prefer: wait=N on the creating POSTs of payments, refunds and
// top-ups: a larger N is taken as 10 seconds, so that a request holds a connection
// (and the API's handler timeout, 30 s) for no longer.
const MaxWait = 10 * time.Second

// preferredWait reads the wait preference of RFC 7240 from the request's Prefer
// headers: wait=N, N a whole number of seconds, 0 < N, capped at MaxWait. It answers
// 0 and false without one, or when it is malformed (RFC 7240 says a preference the
// server does not understand is ignored). The first wait preference counts; the
// other preferences are ignored.
func preferredWait(headers []string) (time.Duration, bool) {
	for _, h := range headers {
		for _, pref := range strings.Split(h, ",") {
			// A preference is token [BWS "=" BWS word] *( OWS ";" [ OWS parameter ] ).
			name, value, hasValue := strings.Cut(strings.SplitN(pref, ";", 2)[0], "=")
			if !strings.EqualFold(strings.TrimSpace(name), "wait") {
				continue
			}
			if !hasValue {
				return 0, false
			}
			v := strings.TrimSpace(value)
			if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
				v = v[1 : len(v)-1]
			}
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil || n == 0 {
				return 0, false
			}
			d := time.Duration(n) * time.Second
			if d > MaxWait {
				d = MaxWait
			}
			return d, true
		}
	}
	return 0, false
}

// writeCreated answers a created (or replayed) object: 200 with its outcome and
// Preference-Applied: wait=N when its flow ended within the wait the request
// preferred, 202 otherwise (the flow goes on; the client reads the object later).
func writeCreated[T any](c *gin.Context, req starter.Idempotent, out starter.Created[T]) {
	if out.Replayed {
		c.Header("Idempotent-Replayed", "true")
	}
	if req.Wait > 0 && out.Final {
		c.Header("Preference-Applied", "wait="+strconv.Itoa(int(req.Wait/time.Second)))
		writeJSON(c, http.StatusOK, out.Object)
		return
	}
	writeJSON(c, http.StatusAccepted, out.Object)
}
