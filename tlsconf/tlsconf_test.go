package tlsconf

import (
	"crypto/tls"
	"io"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink"
)

// serveOnce accepts one connection with cfg, completes the handshake and
// echoes one byte; the handshake's error goes to errc.
func serveOnce(t *testing.T, cfg *tls.Config) (addr string, errc <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	ch := make(chan error, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			ch <- err
			return
		}
		defer c.Close()
		tc := tls.Server(c, cfg)
		if err := tc.Handshake(); err != nil {
			ch <- err
			return
		}
		b := make([]byte, 1)
		if _, err := io.ReadFull(tc, b); err != nil {
			ch <- err
			return
		}
		_, err = tc.Write(b)
		ch <- err
	}()
	return ln.Addr().String(), ch
}

func dialOnce(addr string, cfg *tls.Config) (*tls.ConnectionState, error) {
	c, err := tls.Dial("tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if _, err := c.Write([]byte{7}); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(c, make([]byte, 1)); err != nil {
		return nil, err
	}
	st := c.ConnectionState()
	return &st, nil
}

func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca := testkit.NewCA(t, dir, "ca")
	nodeCert, nodeKey := ca.Issue(t, "n1")
	clientCert, clientKey := ca.Issue(t, "client")
	node, err := Load(Files{CA: ca.Path, Cert: nodeCert, Key: nodeKey})
	if err != nil {
		t.Fatal(err)
	}
	client, err := Load(Files{CA: ca.Path, Cert: clientCert, Key: clientKey})
	if err != nil {
		t.Fatal(err)
	}

	t.Run("both from the CA", func(t *testing.T) {
		addr, errc := serveOnce(t, node.Server())
		st, err := dialOnce(addr, client.Client(addr))
		if err != nil || <-errc != nil {
			t.Fatalf("dial: %v", err)
		}
		if st.Version != tls.VersionTLS13 || st.PeerCertificates[0].Subject.CommonName != "n1" {
			t.Fatalf("version %x, peer %s", st.Version, st.PeerCertificates[0].Subject.CommonName)
		}
	})
	t.Run("client from another CA", func(t *testing.T) {
		other := testkit.NewCA(t, dir, "other-ca")
		c, k := other.Issue(t, "intruder")
		intruder, err := Load(Files{CA: ca.Path, Cert: c, Key: k})
		if err != nil {
			t.Fatal(err)
		}
		addr, errc := serveOnce(t, node.Server())
		dialOnce(addr, intruder.Client(addr))
		if err := <-errc; err == nil || !strings.Contains(err.Error(), "client certificate refused") {
			t.Fatalf("server handshake: %v, want the client certificate refused", err)
		}
	})
	t.Run("server from another CA", func(t *testing.T) {
		other := testkit.NewCA(t, dir, "other-ca2")
		c, k := other.Issue(t, "impostor")
		impostor, err := Load(Files{CA: ca.Path, Cert: c, Key: k})
		if err != nil {
			t.Fatal(err)
		}
		addr, _ := serveOnce(t, impostor.Server())
		if _, err := dialOnce(addr, client.Client(addr)); err == nil || !strings.Contains(err.Error(), "server certificate of "+addr+" refused") {
			t.Fatalf("dial: %v, want the server certificate refused", err)
		}
	})
	t.Run("no client certificate", func(t *testing.T) {
		addr, errc := serveOnce(t, node.Server())
		dialOnce(addr, &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS13})
		if err := <-errc; err == nil {
			t.Fatal("a client without a certificate was accepted")
		}
	})
	t.Run("plain TCP", func(t *testing.T) {
		addr, errc := serveOnce(t, node.Server())
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("\x05hello"))
		if err := <-errc; err == nil {
			t.Fatal("plain bytes completed a TLS handshake")
		}
		c.Close()
	})
	t.Run("TLS 1.2 refused", func(t *testing.T) {
		addr, errc := serveOnce(t, node.Server())
		cfg := client.Client(addr)
		cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
		if _, err := dialOnce(addr, cfg); err == nil {
			t.Fatal("TLS 1.2 accepted")
		}
		<-errc
	})
}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	ca := testkit.NewCA(t, dir, "ca")
	cert, key := ca.Issue(t, "n1")
	src, err := Load(Files{CA: ca.Path, Cert: cert, Key: key})
	if err != nil {
		t.Fatal(err)
	}
	clientCert, clientKey := ca.Issue(t, "client")
	client, err := Load(Files{CA: ca.Path, Cert: clientCert, Key: clientKey})
	if err != nil {
		t.Fatal(err)
	}
	serialOf := func() string {
		addr, errc := serveOnce(t, src.Server())
		st, err := dialOnce(addr, client.Client(addr))
		if err != nil || <-errc != nil {
			t.Fatalf("dial: %v", err)
		}
		return st.PeerCertificates[0].SerialNumber.String()
	}
	before := serialOf()
	// A new certificate written over the old files, then Reload.
	newCert, newKey := ca.Issue(t, "n1-renewed")
	for from, to := range map[string]string{newCert: cert, newKey: key} {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if serialOf() != before {
		t.Fatal("the certificate changed before Reload")
	}
	if err := src.Reload(); err != nil {
		t.Fatal(err)
	}
	if serialOf() == before {
		t.Fatal("Reload did not take the new certificate")
	}
	// A broken file: Reload fails and the Source keeps what it had.
	if err := os.WriteFile(key, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := src.Reload(); err == nil || !strings.Contains(err.Error(), key) {
		t.Fatalf("Reload of a broken key: %v, want an error naming it", err)
	}
	serialOf()
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	ca := testkit.NewCA(t, dir, "ca")
	cert, key := ca.Issue(t, "n1")
	garbage := dir + "/garbage.pem"
	os.WriteFile(garbage, []byte("not pem"), 0o600)
	for name, f := range map[string]Files{
		"missing ca":   {CA: dir + "/nope.pem", Cert: cert, Key: key},
		"ca not pem":   {CA: garbage, Cert: cert, Key: key},
		"missing cert": {CA: ca.Path, Cert: dir + "/nope.pem", Key: key},
		"key mismatch": {CA: ca.Path, Cert: cert, Key: garbage},
	} {
		if _, err := Load(f); err == nil {
			t.Errorf("%s: Load succeeded", name)
		}
	}
}

var _ netlink.TLSDialer = (*Source)(nil)
