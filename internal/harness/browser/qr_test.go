//go:build browser

package browser

import (
	"bytes"
	"context"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	qrreader "github.com/makiuchi-d/gozxing/qrcode"
	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/client"
	"github.com/payflow/payflow/models"
)

const (
	alipayApp = "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36 AlipayClient/10.5.0"
	desktop   = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
)

// A customer pays a shop's QR code with a wallet app: the QR code's PNG decodes to
// the payment's page; the app (its User-Agent) opening the page is sent to its
// provider's checkout, where the Pay button stands for the customer's confirmation,
// and the payment succeeds. An ordinary browser opening another code gets the list
// of the apps that can pay it. Screenshots are kept in .payflow/.
func TestCustomerPaysQRWithWalletApp(t *testing.T) {
	ctx := context.Background()
	bs := startBrowserStack(t)
	c := bs.stack.Client(0)

	create := func() models.Payment {
		r, err := c.Post(ctx, "/v1/payments", map[string]any{
			"amount": 2888, "currency": "CNY", "source": map[string]any{"type": "qr", "expires_in": 300},
		}, "browser-"+models.NewID(""))
		require.NoError(t, err)
		require.Equal(t, 202, r.Status, "%s", r.Body)
		var p models.Payment
		require.NoError(t, r.JSON(&p))
		require.NotNil(t, p.NextAction)
		return p
	}
	p := create()

	// The merchant's screen shows the PNG: it is the page's URL.
	r, err := c.Do(ctx, client.Request{Method: "GET", Target: "/v1/payments/" + p.ID + "/qr.png"})
	require.NoError(t, err)
	require.Equal(t, 200, r.Status, "%s", r.Body)
	img, err := png.Decode(bytes.NewReader(r.Body))
	require.NoError(t, err)
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	require.NoError(t, err)
	decoded, err := qrreader.NewQRCodeReader().Decode(bmp, nil)
	require.NoError(t, err)
	require.Equal(t, p.NextAction.QRURL, decoded.GetText())

	// The customer's Alipay app opens it and lands on the provider's checkout.
	app := browser(t, alipayApp)
	require.NoError(t, chromedp.Do(app, chromedp.Navigate(decoded.GetText())))
	location, err := chromedp.Run(app, chromedp.Location())
	require.NoError(t, err)
	require.Contains(t, location, "/alipaysim/checkout/", "redirected to the provider's checkout")
	waitText(t, app, "2888")
	screenshot(t, app, bs.root, "qr-checkout.png")
	require.NoError(t, chromedp.Do(app, chromedp.Click(chromedp.CSS("#pay"))))
	wctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	got, _, err := c.WaitStatus(wctx, "/v1/payments/"+p.ID, 200*time.Millisecond, "processing")
	require.NoError(t, err)
	require.Equal(t, string(models.PaymentSucceeded), got.Status)
	screenshot(t, app, bs.root, "qr-paid.png")

	// A browser that is no wallet app gets the list of the apps that pay the code.
	other := create()
	plain := browser(t, desktop)
	require.NoError(t, chromedp.Do(plain, chromedp.Navigate(other.NextAction.QRURL)))
	waitText(t, plain, "Alipay")
	waitText(t, plain, "WeChat")
	text, err := chromedp.Run(plain, chromedp.Evaluate[string](`document.body.innerText`))
	require.NoError(t, err)
	require.True(t, strings.Contains(text, "Open this code with one of these apps"), text)
	screenshot(t, plain, bs.root, "qr-unsupported.png")
}
