package temporalx

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"

	"github.com/payflow/payflow/internal/config"
)

// TLSConfig builds the client side of TLS to Temporal from PEM files, or returns nil
// when none is configured (plain gRPC, as the local dev server speaks).
//
// The client certificate is read once here, so that a wrong path or a key that does
// not match fails at start, and again at each handshake, so that a certificate
// rotated in its mounted Secret is picked up on the next connection without a
// restart. The CA is read once: a new CA needs a rollout.
func TLSConfig(t config.TemporalTLS) (*tls.Config, error) {
	if !t.Enabled() {
		return nil, nil
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("temporal TLS CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("temporal TLS CA %s: no PEM certificate in it", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" || t.KeyFile != "" {
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			return nil, fmt.Errorf("temporal TLS client certificate: %w", err)
		}
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
			if err != nil {
				return nil, fmt.Errorf("temporal TLS client certificate: %w", err)
			}
			return &c, nil
		}
	}
	return cfg, nil
}
