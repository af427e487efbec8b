package hosted

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/models"
	"github.com/payflow/payflow/starter"
)

// payments answers as the service does for the tokens the test names.
type payments struct{ opened []string }

func (p *payments) QRPayment(_ context.Context, token string) (models.Payment, error) {
	if token == "unknown" {
		return models.Payment{}, starter.ErrNotFound
	}
	return models.Payment{ID: "pay_1"}, nil
}

func (p *payments) OpenQR(_ context.Context, token, provider string) (string, error) {
	p.opened = append(p.opened, provider)
	switch token {
	case "inuse":
		return "", starter.ErrQRInUse
	case "expired":
		return "", starter.ErrQRExpired
	}
	return "http://sim/" + provider + "/checkout/t1", nil
}

const (
	alipayUA = "Mozilla/5.0 (Linux; Android 14) AlipayClient/10.5.0"
	wechatUA = "Mozilla/5.0 (iPhone) MicroMessenger/8.0.50"
	safariUA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1"
)

// The page sends a wallet app it takes to its provider's checkout, lists the apps
// to any other browser (and to an app whose channel is not enabled) without
// opening anything, and says in use, expired or unknown in words.
func TestQRPage(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	log := logrus.New()
	log.SetOutput(io.Discard)
	for _, tc := range []struct {
		name, token, ua string
		channels        []string
		status          int
		want            string
		opened          []string
	}{
		{"alipay app", "t1", alipayUA, []string{"banksim", "alipaysim", "wxpaysim"}, 302, "http://sim/alipaysim/checkout/t1", []string{"alipaysim"}},
		{"wechat app", "t1", wechatUA, []string{"alipaysim", "wxpaysim"}, 302, "http://sim/wxpaysim/checkout/t1", []string{"wxpaysim"}},
		{"browser", "t1", safariUA, []string{"alipaysim", "wxpaysim"}, 200, `<li class="app" data-channel="alipaysim">Alipay</li><li class="app" data-channel="wxpaysim">WeChat</li>`, nil},
		{"app of a channel not enabled", "t1", wechatUA, []string{"alipaysim"}, 200, `data-channel="alipaysim"`, nil},
		{"in use", "inuse", wechatUA, []string{"alipaysim", "wxpaysim"}, 409, "already being paid with another app", []string{"wxpaysim"}},
		{"expired", "expired", alipayUA, []string{"alipaysim", "wxpaysim"}, 410, "no longer valid", []string{"alipaysim"}},
		{"unknown", "unknown", alipayUA, []string{"alipaysim", "wxpaysim"}, 404, "not a payment", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &payments{}
			h := &Handler{Payments: p, Channels: tc.channels, Log: logrus.NewEntry(log)}
			r := gin.New()
			h.Register(r)
			req := httptest.NewRequest(http.MethodGet, "/q/"+tc.token, nil)
			req.Header.Set("User-Agent", tc.ua)
			w := httptest.NewRecorder()
			r.ServeHTTP(w, req)
			require.Equal(t, tc.status, w.Code, w.Body.String())
			require.Equal(t, tc.opened, p.opened)
			require.Equal(t, "no-store", w.Header().Get("Cache-Control"))
			if tc.status == 302 {
				require.Equal(t, tc.want, w.Header().Get("Location"))
				return
			}
			require.True(t, strings.HasPrefix(w.Header().Get("Content-Type"), "text/html"))
			require.Contains(t, w.Body.String(), tc.want)
			if tc.name == "app of a channel not enabled" {
				require.NotContains(t, w.Body.String(), "wxpaysim")
			}
		})
	}
}
