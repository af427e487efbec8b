package temporalx

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"go.temporal.io/api/workflowservice/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/payflow/payflow/internal/config"
)

// pki is a CA with a server certificate (for temporal.payflow.internal only) and a
// client certificate, written as PEM files the way a mounted Secret holds them.
type pki struct {
	ca       *x509.CertPool
	server   tls.Certificate
	dir      string
	clientCN string
}

func newPKI(t *testing.T) pki {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "payflow test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	issue := func(serial int64, cn string, usage x509.ExtKeyUsage, dns ...string) ([]byte, *ecdsa.PrivateKey) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, DNSNames: dns,
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		return der, k
	}
	write := func(name, typ string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: b}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	keyDER := func(k *ecdsa.PrivateKey) []byte {
		b, err := x509.MarshalECPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	srvDER, srvKey := issue(2, "temporal", x509.ExtKeyUsageServerAuth, "temporal.payflow.internal")
	cliDER, cliKey := issue(3, "payflow-worker", x509.ExtKeyUsageClientAuth)
	write("ca.crt", "CERTIFICATE", caDER)
	write("tls.crt", "CERTIFICATE", cliDER)
	write("tls.key", "EC PRIVATE KEY", keyDER(cliKey))
	pool := x509.NewCertPool()
	pool.AddCert(caCert)
	return pki{
		ca:       pool,
		server:   tls.Certificate{Certificate: [][]byte{srvDER}, PrivateKey: srvKey},
		dir:      dir,
		clientCN: "payflow-worker",
	}
}

func (p pki) files() config.TemporalTLS {
	return config.TemporalTLS{
		CertFile:   filepath.Join(p.dir, "tls.crt"),
		KeyFile:    filepath.Join(p.dir, "tls.key"),
		CAFile:     filepath.Join(p.dir, "ca.crt"),
		ServerName: "temporal.payflow.internal",
	}
}

// fakeFrontend is a gRPC server behind mutual TLS that answers every Temporal call
// "not implemented", which the SDK's Dial accepts from a server too old to report
// its capabilities, so Dial succeeds exactly when the TLS handshake does. It records
// the common name of each client certificate it saw.
type fakeFrontend struct {
	workflowservice.UnimplementedWorkflowServiceServer
	mu    sync.Mutex
	peers []string
}

func (f *fakeFrontend) GetSystemInfo(ctx context.Context, _ *workflowservice.GetSystemInfoRequest) (*workflowservice.GetSystemInfoResponse, error) {
	if p, ok := peer.FromContext(ctx); ok {
		if ti, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(ti.State.PeerCertificates) > 0 {
			f.mu.Lock()
			f.peers = append(f.peers, ti.State.PeerCertificates[0].Subject.CommonName)
			f.mu.Unlock()
		}
	}
	return f.UnimplementedWorkflowServiceServer.GetSystemInfo(ctx, nil)
}

func startFrontend(t *testing.T, p pki) (string, *fakeFrontend) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer(grpc.Creds(credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{p.server},
		ClientCAs:    p.ca,
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	})))
	f := &fakeFrontend{}
	workflowservice.RegisterWorkflowServiceServer(srv, f)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)
	return ln.Addr().String(), f
}

func quietLog() *logrus.Entry {
	l := logrus.New()
	l.SetLevel(logrus.PanicLevel)
	return logrus.NewEntry(l)
}

// TestDialMutualTLS dials a frontend that requires a client certificate signed by its
// CA and presents a certificate for a name other than the address dialed, as a
// Temporal cluster behind an internal load balancer does.
func TestDialMutualTLS(t *testing.T) {
	p := newPKI(t)
	addr, frontend := startFrontend(t, p)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	tests := []struct {
		name    string
		tls     config.TemporalTLS
		wantErr string
	}{
		{name: "client certificate, CA and server name", tls: p.files()},
		{name: "plain gRPC against a TLS server", tls: config.TemporalTLS{}, wantErr: "connect to Temporal"},
		{name: "no client certificate", tls: config.TemporalTLS{CAFile: p.files().CAFile, ServerName: p.files().ServerName}, wantErr: "connect to Temporal"},
		{name: "server name not in the certificate", tls: func() config.TemporalTLS { f := p.files(); f.ServerName = "other.internal"; return f }(), wantErr: "connect to Temporal"},
		{name: "missing key file", tls: func() config.TemporalTLS { f := p.files(); f.KeyFile += ".missing"; return f }(), wantErr: "temporal TLS client certificate"},
		{name: "CA file without a certificate", tls: func() config.TemporalTLS { f := p.files(); f.CAFile = f.KeyFile; return f }(), wantErr: "no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Dial(ctx, ClientConfig{Address: addr, Namespace: "payflow", TLS: tt.tls, Logger: quietLog()}, 0)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				c.Close()
				return
			}
			if err == nil {
				c.Close()
				t.Fatalf("dial succeeded, want an error containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
	frontend.mu.Lock()
	defer frontend.mu.Unlock()
	if len(frontend.peers) == 0 || frontend.peers[0] != p.clientCN {
		t.Fatalf("frontend saw client certificates %v, want %q", frontend.peers, p.clientCN)
	}
}

func TestTLSConfigOff(t *testing.T) {
	cfg, err := TLSConfig(config.TemporalTLS{})
	if err != nil || cfg != nil {
		t.Fatalf("no TLS settings: got %v, %v; want plain gRPC (nil, nil)", cfg, err)
	}
}
