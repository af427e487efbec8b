package wallet

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payflow/payflow/internal/bank"
	"github.com/payflow/payflow/internal/bank/sim"
	"github.com/payflow/payflow/internal/config"
)

// Only the configured providers are contributed, each at the simulator's URL
// with its notifications to its own route; Get finds them as trade channels.
func TestChannelsAndGet(t *testing.T) {
	cfg := config.Config{Channels: []string{"banksim", "wxpaysim"}, BanksimURL: "http://bank.test", PublicURL: "https://api.test", BankTimeout: time.Second}
	chs := Channels(cfg)
	require.Len(t, chs, 1)
	wx := chs[0].(*Channel)
	require.Equal(t, Wxpay, wx.Name())
	require.Equal(t, "http://bank.test", wx.baseURL)
	require.Equal(t, "https://api.test/v1/callbacks/wxpaysim", wx.notifyURL)

	reg := bank.NewRegistry(append(chs, sim.New("http://bank.test", "", time.Second))...)
	got, err := Get(reg, Wxpay)
	require.NoError(t, err)
	require.Equal(t, Wxpay, got.Name())
	_, err = Get(reg, Alipay)
	require.ErrorIs(t, err, bank.ErrUnknownChannel)
	_, err = Get(reg, sim.Name)
	require.ErrorIs(t, err, bank.ErrUnknownChannel)
}
