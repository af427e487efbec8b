package safehttp

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCheckAddr(t *testing.T) {
	tests := []struct {
		addr    string
		refused bool
	}{
		{"127.0.0.1", true},
		{"127.255.0.9", true},
		{"::1", true},
		{"::ffff:127.0.0.1", true},
		{"10.0.0.1", true},
		{"10.255.255.255", true},
		{"172.16.0.1", true},
		{"172.31.255.254", true},
		{"192.168.1.10", true},
		{"::ffff:192.168.1.10", true},
		{"169.254.169.254", true}, // cloud metadata
		{"fe80::1", true},
		{"100.64.0.1", true},
		{"100.127.255.254", true},
		{"fc00::1", true},
		{"fd12:3456:789a::1", true},
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"::", true},
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"ff02::1", true},
		{"255.255.255.255", true},
		{"fec0::1", true},
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"93.184.216.34", false},
		{"172.32.0.1", false},
		{"100.128.0.1", false},
		{"192.169.0.1", false},
		{"2606:4700:4700::1111", false},
		{"::ffff:8.8.8.8", false},
		// Special-purpose IPv4 ranges outside the public internet.
		{"198.18.0.1", true},     // benchmarking (RFC 2544)
		{"198.19.255.254", true}, // benchmarking
		{"198.20.0.1", false},
		{"192.0.0.8", true}, // IETF protocol assignments (RFC 6890)
		{"192.0.1.1", false},
		{"240.0.0.1", true},       // reserved (RFC 1112)
		{"254.255.255.254", true}, // reserved
		// IPv6 addresses that carry an IPv4 address: judged as that IPv4 address.
		{"64:ff9b::7f00:1", true},    // NAT64 (RFC 6052) of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", true}, // NAT64 of 169.254.169.254
		{"64:ff9b::808:808", false},  // NAT64 of 8.8.8.8
		{"64:ff9b:1::1", true},       // local-use NAT64 (RFC 8215): a private network's
		{"2002:a00:1::1", true},      // 6to4 (RFC 3056) of 10.0.0.1
		{"2002:7f00:1::1", true},     // 6to4 of 127.0.0.1
		{"2002:808:808::1", false},   // 6to4 of 8.8.8.8
		// Teredo (RFC 4380): server 65.54.227.120, client 192.168.1.10 obfuscated (XOR).
		{"2001:0:4136:e378:8000:63bf:3f57:fef5", true},
		// Teredo with a public server and client 8.8.8.8 (obfuscated 247.247.247.247).
		{"2001:0:4136:e378:8000:63bf:f7f7:f7f7", false},
		// Teredo whose server is private.
		{"2001:0:a00:1:8000:63bf:f7f7:f7f7", true},
	}
	for _, tc := range tests {
		t.Run(tc.addr, func(t *testing.T) {
			err := CheckAddr(netip.MustParseAddr(tc.addr), false)
			if tc.refused {
				require.ErrorIs(t, err, ErrRefused)
			} else {
				require.NoError(t, err)
			}
		})
	}
}

// With private addresses allowed (local runs, tests), loopback and private ranges
// pass; multicast and broadcast never make sense for a webhook and stay refused.
func TestCheckAddrAllowPrivate(t *testing.T) {
	for _, a := range []string{"127.0.0.1", "::1", "10.1.2.3", "192.168.0.1", "169.254.1.1", "100.64.0.1", "fc00::1", "8.8.8.8"} {
		require.NoError(t, CheckAddr(netip.MustParseAddr(a), true), a)
	}
	for _, a := range []string{"224.0.0.1", "ff02::1", "255.255.255.255"} {
		require.ErrorIs(t, CheckAddr(netip.MustParseAddr(a), true), ErrRefused, a)
	}
}

func TestCheckURL(t *testing.T) {
	for _, ok := range []string{"http://example.com/hook", "https://example.com:8443/a?b=c", "http://127.0.0.1:9000/x"} {
		require.NoError(t, CheckURL(ok), ok)
	}
	for _, bad := range []string{"ftp://example.com/", "file:///etc/passwd", "gopher://x", "http://", "https://user:pw@example.com/", "example.com/hook", "://x"} {
		require.ErrorIs(t, CheckURL(bad), ErrRefused, bad)
	}
}

// The policy applies to the address actually dialed: a server on loopback is refused
// by IP and by a name that resolves to it, before any byte is sent.
func TestClientRefusesDialedPrivateAddress(t *testing.T) {
	hits := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits++ }))
	defer srv.Close()
	c := NewClient(Options{AllowPrivate: false, Timeout: 2 * time.Second})
	for _, u := range []string{srv.URL, strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)} {
		resp, err := c.Post(u, "application/json", strings.NewReader("{}"))
		if resp != nil {
			resp.Body.Close()
		}
		require.ErrorIs(t, err, ErrRefused, u)
	}
	require.Zero(t, hits, "a refused address received a request")

	allowed := NewClient(Options{AllowPrivate: true, Timeout: 2 * time.Second})
	resp, err := allowed.Post(srv.URL, "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	DrainBody(resp.Body)
	require.Equal(t, 1, hits)
}

// A redirect is the answer, not an instruction: the client never follows it.
func TestClientDoesNotFollowRedirects(t *testing.T) {
	followed := false
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/elsewhere" {
			followed = true
			return
		}
		http.Redirect(w, r, "/elsewhere", http.StatusFound)
	}))
	defer srv.Close()
	resp, err := NewClient(Options{AllowPrivate: true}).Post(srv.URL+"/hook", "application/json", strings.NewReader("{}"))
	require.NoError(t, err)
	DrainBody(resp.Body)
	require.Equal(t, http.StatusFound, resp.StatusCode)
	require.False(t, followed)
}

// DrainBody reads no more than MaxResponseBody of an endless body.
func TestDrainBodyIsBounded(t *testing.T) {
	r := &countingReader{}
	DrainBody(r)
	require.Equal(t, MaxResponseBody, r.n)
	require.True(t, r.closed)
}

type countingReader struct {
	n      int
	closed bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.n += len(p)
	return len(p), nil
}

func (c *countingReader) Close() error {
	c.closed = true
	return nil
}

func TestErrRefusedIsNotRetryableByShape(t *testing.T) {
	// The activity tells a refusal from an outage with errors.Is through the
	// url.Error and net.OpError the client wraps it in.
	c := NewClient(Options{AllowPrivate: false, Timeout: time.Second})
	_, err := c.Get("http://127.0.0.1:1/")
	require.True(t, errors.Is(err, ErrRefused), "%v", err)
}
