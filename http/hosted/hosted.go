// Package hosted serves payflow's public pages for customers: the page a QR
// payment's code opens (GET /q/{token}). A wallet app that payflow knows (by the
// mark in its User-Agent) is sent on to its provider's checkout for the payment; any
// other browser gets the list of the apps that can pay the code.
package hosted

import (
	"context"
	"errors"
	"html/template"
	"net/http"
	"slices"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"

	"github.com/payflow/payflow/http/middleware"
	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// Payments is what the page asks of the payments service (starter.Payments).
type Payments interface {
	QRPayment(ctx context.Context, token string) (models.Payment, error)
	OpenQR(ctx context.Context, token, provider string) (string, error)
}

// Handler serves the hosted pages.
type Handler struct {
	Payments Payments
	// Channels are the channels this deployment enables: a wallet provider's app
	// is offered only when its channel is one of them.
	Channels []string
	Log      *logrus.Entry
}

// Register mounts the pages on the merchant listener's engine (no signature: the
// customer's phone opens them).
func (h *Handler) Register(r gin.IRoutes) {
	r.GET("/q/:token", h.qr)
}

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:28rem;margin:3rem auto;padding:0 1rem;color:#222}h1{font-size:1.4rem}li{margin:.4rem 0}</style>
</head><body>
<h1 id="title">{{.Title}}</h1>
<p id="message">{{.Message}}</p>
{{if .Apps}}<ul id="apps">{{range .Apps}}<li class="app" data-channel="{{.Channel}}">{{.App}}</li>{{end}}</ul>{{end}}
</body></html>
`))

type pageData struct {
	Title, Message string
	Apps           []app
}

type app struct{ Channel, App string }

// qr answers GET /q/{token}.
func (h *Handler) qr(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	c.Header("Referrer-Policy", "no-referrer")
	token := c.Param("token")
	log := h.Log.WithFields(logrus.Fields{"request_id": c.GetString(middleware.KeyRequestID)})
	p, err := h.Payments.QRPayment(c.Request.Context(), token)
	switch {
	case errors.Is(err, starter.ErrNotFound):
		h.write(c, http.StatusNotFound, pageData{Title: "Unknown code", Message: "This code is not a payment. Ask the shop for a new one."})
		return
	case err != nil:
		log.WithError(err).Error("hosted QR page: load payment")
		h.write(c, http.StatusServiceUnavailable, pageData{Title: "Try again", Message: "The payment cannot be opened right now. Scan the code again in a moment."})
		return
	}
	log = log.WithField("payment_id", p.ID)
	provider := models.QRProviderOf(c.GetHeader("User-Agent"))
	if provider == "" || !slices.Contains(h.Channels, provider) {
		h.write(c, http.StatusOK, pageData{
			Title:   "Scan with a wallet app",
			Message: "Open this code with one of these apps to pay:",
			Apps:    h.apps(),
		})
		return
	}
	url, err := h.Payments.OpenQR(c.Request.Context(), token, provider)
	switch {
	case err == nil:
		log.WithField("provider", provider).Info("QR code opened: sent to the provider's checkout")
		c.Redirect(http.StatusFound, url)
	case errors.Is(err, starter.ErrQRInUse):
		h.write(c, http.StatusConflict, pageData{Title: "Code in use", Message: "This code is already being paid with another app."})
	case errors.Is(err, starter.ErrQRExpired) || errors.Is(err, starter.ErrNotFound):
		h.write(c, http.StatusGone, pageData{Title: "Code expired", Message: "This code is no longer valid. Ask the shop for a new one."})
	default:
		log.WithError(err).Warn("hosted QR page: open the trade")
		h.write(c, http.StatusServiceUnavailable, pageData{Title: "Try again", Message: "The payment cannot be opened right now. Scan the code again in a moment."})
	}
}

// apps are the wallet apps this deployment takes, in the order of models.QRProviders.
func (h *Handler) apps() []app {
	var out []app
	for _, p := range models.QRProviders {
		if slices.Contains(h.Channels, p.Channel) {
			out = append(out, app{Channel: p.Channel, App: p.App})
		}
	}
	return out
}

func (h *Handler) write(c *gin.Context, status int, d pageData) {
	c.Status(status)
	c.Header("Content-Type", "text/html; charset=utf-8")
	if err := page.Execute(c.Writer, d); err != nil {
		h.Log.WithError(err).Error("hosted page: render")
	}
}
