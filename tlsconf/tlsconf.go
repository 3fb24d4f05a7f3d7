package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"sync/atomic"
)

// Files names a CA bundle and a certificate with its key, all PEM.
type Files struct {
	CA, Cert, Key string
}

// Source is the current CA pool and certificate of one process.
type Source struct {
	files Files
	cur   atomic.Pointer[material]
}

// material is what Reload read.
type material struct {
	roots *x509.CertPool
	cert  tls.Certificate
}

// Load reads files; the error names the file that could not be used.
func Load(files Files) (*Source, error) {
	s := &Source{files: files}
	if err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload reads the files again. On error the Source keeps what it had.
func (s *Source) Reload() error {
	pem, err := os.ReadFile(s.files.CA)
	if err != nil {
		return fmt.Errorf("tls ca_file: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return fmt.Errorf("tls ca_file %s: no PEM certificate in it", s.files.CA)
	}
	cert, err := tls.LoadX509KeyPair(s.files.Cert, s.files.Key)
	if err != nil {
		return fmt.Errorf("tls cert_file %s / key_file %s: %w", s.files.Cert, s.files.Key, err)
	}
	s.cur.Store(&material{roots: roots, cert: cert})
	return nil
}

// ErrNoPeerCertificate is why a connection without a certificate is refused.
var ErrNoPeerCertificate = errors.New("no certificate presented")

// verify checks the chain a peer presented against the current CA; for a
// server's chain, name is the address it was dialled at.
func (s *Source) verify(chain []*x509.Certificate, name string, usage x509.ExtKeyUsage) error {
	if len(chain) == 0 {
		return ErrNoPeerCertificate
	}
	inter := x509.NewCertPool()
	for _, c := range chain[1:] {
		inter.AddCert(c)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         s.cur.Load().roots,
		Intermediates: inter,
		DNSName:       name,
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	return err
}

// Server is the configuration of a node's listeners: TLS 1.3, its current
// certificate, and a client certificate from the current CA required.
func (s *Source) Server() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
			return &s.cur.Load().cert, nil
		},
		// The chain is checked in VerifyConnection, against the CA as
		// of now, so that a reloaded CA applies without a new Config.
		ClientAuth: tls.RequireAnyClientCert,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := s.verify(cs.PeerCertificates, "", x509.ExtKeyUsageClientAuth); err != nil {
				return fmt.Errorf("client certificate refused: %w", err)
			}
			return nil
		},
	}
}

// Client is the configuration for dialling addr (host:port): TLS 1.3, our
// current certificate, and the server's checked against the current CA
// and addr's host.
func (s *Source) Client(addr string) *tls.Config {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		ServerName: host,
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &s.cur.Load().cert, nil
		},
		// Go's own check would use RootCAs fixed at creation; this one
		// uses the current CA and still checks the chain and the name.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			if err := s.verify(cs.PeerCertificates, host, x509.ExtKeyUsageServerAuth); err != nil {
				return fmt.Errorf("server certificate of %s refused: %w", addr, err)
			}
			return nil
		},
	}
}
