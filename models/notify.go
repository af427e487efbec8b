package models

import "net/url"

// MaxNotifyURL is the longest notify_url payflow stores.
const MaxNotifyURL = 2048

// ValidNotifyURL accepts an absolute http(s) URL with a host and no credentials, at
// most MaxNotifyURL bytes. Where it may point (no loopback or private addresses in
// production) is checked again at delivery, when the name resolves.
func ValidNotifyURL(s string) bool {
	if len(s) > MaxNotifyURL {
		return false
	}
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}
