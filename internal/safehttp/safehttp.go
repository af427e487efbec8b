// Package safehttp is the HTTP client for calls to addresses that merchants choose
// (webhook notify_urls). A merchant controls the URL and its DNS, so the client
// defends the network it runs in against server-side request forgery: only http(s),
// no redirects, no proxy, bounded response bodies, and (unless configuration allows
// it) no connection to loopback, private, link-local, CGNAT, unspecified, broadcast or
// multicast addresses. The address is checked where it is dialed, after DNS, so that
// a name that resolves to a public address when checked and a private one when
// dialed (DNS rebinding) is refused too.
package safehttp

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"
)

// ErrRefused reports a URL or an address the client will not call. It is a
// decision, not an outage: retrying gives the same answer.
var ErrRefused = errors.New("refused by the outbound address policy")

// MaxResponseBody is how much of a response body the client reads: enough for any
// acknowledgement, too little for an endpoint to make the caller hold a large body.
const MaxResponseBody = 64 << 10

// Options configure a client.
type Options struct {
	// AllowPrivate lets the client reach loopback and private addresses: for local
	// runs and tests, whose receivers listen on 127.0.0.1. Production must leave it
	// false.
	AllowPrivate bool
	// Timeout bounds one exchange, connection and body included (default 10 s).
	Timeout time.Duration
}

// NewClient returns an http.Client that enforces the policy on every connection it
// opens. It does not follow redirects: a 3xx is the answer (a redirect to an internal
// address is the classic way around an address check).
func NewClient(o Options) *http.Client {
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	dialer := &net.Dialer{
		Timeout: o.Timeout,
		// Control runs for every address the dialer actually connects to, after
		// resolution and for each address Happy Eyeballs tries.
		Control: func(network, address string, _ syscall.RawConn) error {
			return checkDialed(network, address, o.AllowPrivate)
		},
	}
	return &http.Client{
		Timeout: o.Timeout,
		Transport: &http.Transport{
			// No proxy: through a proxy the dialed address would be the proxy's,
			// and the policy would check the wrong thing.
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   o.Timeout,
			ResponseHeaderTimeout: o.Timeout,
			MaxIdleConns:          100,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// CheckURL accepts an absolute http or https URL with a host and no user
// information. Where the host points is checked when it is dialed.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%w: not a URL", ErrRefused)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%w: scheme %q is not http or https", ErrRefused, u.Scheme)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%w: the URL has no host", ErrRefused)
	}
	if u.User != nil {
		return fmt.Errorf("%w: the URL carries user information", ErrRefused)
	}
	return nil
}

// DrainBody reads at most MaxResponseBody of a response body and closes it.
func DrainBody(body io.ReadCloser) {
	_, _ = io.Copy(io.Discard, io.LimitReader(body, MaxResponseBody))
	_ = body.Close()
}

func checkDialed(network, address string, allowPrivate bool) error {
	switch network {
	case "tcp", "tcp4", "tcp6":
	default:
		return fmt.Errorf("%w: network %s", ErrRefused, network)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse dialed address %q", ErrRefused, address)
	}
	return CheckAddr(ap.Addr(), allowPrivate)
}

// cgnat is the shared address space of carrier-grade NAT (RFC 6598), which IsPrivate
// does not cover.
var (
	cgnat       = netip.MustParsePrefix("100.64.0.0/10")
	thisNetwork = netip.MustParsePrefix("0.0.0.0/8")
	broadcast   = netip.MustParseAddr("255.255.255.255")
	siteLocal6  = netip.MustParsePrefix("fec0::/10")
	// Special-purpose IPv4 ranges (RFC 6890) that are not the public internet.
	benchmarking  = netip.MustParsePrefix("198.18.0.0/15")
	ietfProtocol  = netip.MustParsePrefix("192.0.0.0/24")
	reserved4     = netip.MustParsePrefix("240.0.0.0/4")
	nat64         = netip.MustParsePrefix("64:ff9b::/96")
	nat64LocalUse = netip.MustParsePrefix("64:ff9b:1::/48")
	sixToFour     = netip.MustParsePrefix("2002::/16")
	teredo        = netip.MustParsePrefix("2001::/32")
)

// embeddedIPv4 returns the IPv4 addresses an IPv6 address carries and leads to: the
// NAT64 (RFC 6052) well-known prefix's last 32 bits, a 6to4 (RFC 3056) address's
// bits 16-47, a Teredo (RFC 4380) address's server (bits 32-63) and client (the last
// 32 bits, inverted). A connection to such an address reaches those IPv4 hosts, so
// they are judged as IPv4 addresses.
func embeddedIPv4(a netip.Addr) []netip.Addr {
	b := a.As16()
	switch {
	case nat64.Contains(a):
		return []netip.Addr{netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})}
	case sixToFour.Contains(a):
		return []netip.Addr{netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})}
	case teredo.Contains(a):
		return []netip.Addr{
			netip.AddrFrom4([4]byte{b[4], b[5], b[6], b[7]}),
			netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}),
		}
	}
	return nil
}

// CheckAddr refuses an address outside the public internet unless allowPrivate:
// loopback, private (RFC 1918, RFC 4193), link-local, unspecified, multicast,
// broadcast, "this network" (0.0.0.0/8), CGNAT (100.64.0.0/10), benchmarking
// (198.18.0.0/15), IETF protocol assignments (192.0.0.0/24), reserved (240.0.0.0/4),
// local-use NAT64 (64:ff9b:1::/48) and deprecated IPv6 site-local. An IPv6 address
// that carries IPv4 addresses (IPv4-mapped, NAT64, 6to4, Teredo) is judged by them
// too.
func CheckAddr(a netip.Addr, allowPrivate bool) error {
	if !a.IsValid() {
		return fmt.Errorf("%w: invalid address", ErrRefused)
	}
	a = a.Unmap()
	if a.Is6() && a.Zone() != "" {
		// A zoned address is link-scoped by definition.
		a = a.WithZone("")
		if !allowPrivate {
			return fmt.Errorf("%w: %s is a zoned (link-scoped) address", ErrRefused, a)
		}
	}
	if a.IsMulticast() || a.IsInterfaceLocalMulticast() || a.IsLinkLocalMulticast() {
		// Never useful for a webhook, whatever the configuration.
		return fmt.Errorf("%w: %s is a multicast address", ErrRefused, a)
	}
	if a == broadcast {
		return fmt.Errorf("%w: %s is the broadcast address", ErrRefused, a)
	}
	for _, v4 := range embeddedIPv4(a) {
		if err := CheckAddr(v4, allowPrivate); err != nil {
			return fmt.Errorf("%w (carried by %s)", err, a)
		}
	}
	if allowPrivate {
		return nil
	}
	for _, n := range nonPublic {
		if n.is(a) {
			return fmt.Errorf("%w: %s is a %s address", ErrRefused, a, n.kind)
		}
	}
	return nil
}

// nonPublic are the kinds of address outside the public internet that CheckAddr
// refuses unless allowPrivate, in the order it tells them apart.
var nonPublic = []struct {
	kind string
	is   func(netip.Addr) bool
}{
	{"loopback", netip.Addr.IsLoopback},
	{"unspecified", func(a netip.Addr) bool { return a.IsUnspecified() || thisNetwork.Contains(a) }},
	{"private", netip.Addr.IsPrivate},
	{"link-local", netip.Addr.IsLinkLocalUnicast},
	{"carrier-grade NAT", cgnat.Contains},
	{"site-local", siteLocal6.Contains},
	{"benchmarking", benchmarking.Contains},
	{"IETF protocol assignment", ietfProtocol.Contains},
	{"reserved", reserved4.Contains},
	{"local-use NAT64", nat64LocalUse.Contains},
}
