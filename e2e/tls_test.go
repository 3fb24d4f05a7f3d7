package e2e

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/easykv/easykv/internal/testkit"
)

// plainCopy writes a cluster.yaml for h's nodes with extra lines and no
// node certificates, for clients that present something else.
func (h *Harness) plainCopy(name, extra string) string {
	c := testkit.Cluster{Name: clusterName, Heartbeat: h.heartbeat, ElectionTimeout: h.electionTimeout, Extra: extra}
	for _, id := range h.ids {
		c.Nodes = append(c.Nodes, testkit.Node{ID: id, Addr: h.addrs[id]})
	}
	return testkit.WriteCluster(h.t, filepath.Join(h.t.TempDir(), name), c)
}

// servedSerial dials addr over TLS as the harness and returns the serial
// number of the certificate the node presented.
func (h *Harness) servedSerial(addr string) (string, error) {
	c, err := tls.Dial("tcp", addr, h.tls.Client(addr))
	if err != nil {
		return "", err
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].SerialNumber.String(), nil
}

// TestTLS: a cluster with a tls section speaks mutual TLS 1.3 on every
// connection (peers, easykv-ctl, metrics); plain clients and certificates
// from another CA are refused with one log line and a clear error;
// auth_token still applies; SIGHUP re-reads a node's certificate without
// dropping the cluster.
func TestTLS(t *testing.T) {
	const token = "s3cret"
	h := StartCluster(t, 3, withTLS(), withMetrics(), withAuthToken(token))
	leader, _ := h.waitLeader() // peers elected one: their links are TLS
	if res := h.Ctl("put", "k", "over tls"); res.code != 0 {
		t.Fatalf("put over TLS: %d %s", res.code, res.stderr)
	}
	if res := h.Ctl("get", "k"); res.code != 0 || res.stdout != "over tls\n" {
		t.Fatalf("get over TLS: %d %q %s", res.code, res.stdout, res.stderr)
	}
	st, err := tls.Dial("tcp", h.addrs[leader], h.tls.Client(h.addrs[leader]))
	if err != nil {
		t.Fatal(err)
	}
	if v := st.ConnectionState().Version; v != tls.VersionTLS13 {
		t.Errorf("TLS version %x, want 1.3", v)
	}
	st.Close()

	t.Run("dashboard", func(t *testing.T) {
		scr := startDashboard(t, h)
		scr.waitScreen("the leader over TLS", func(screen string) bool {
			m := headerLeader.FindStringSubmatch(screen)
			return m != nil && m[1] == leader && strings.Contains(screen, "★ LEADER")
		})
		scr.typeLine("get k")
		scr.waitScreen("the get's result over TLS", func(screen string) bool {
			return strings.Contains(screen, `get k → "over tls"`)
		})
	})
	t.Run("plain client", func(t *testing.T) {
		plain := h.plainCopy("plain.yaml", "auth_token: "+token+"\n")
		res := runBinary(t, bins.ctl, "--cluster", plain, "--timeout", "2s", "get", "k")
		if res.code == 0 || !strings.Contains(res.stderr, "may require TLS") {
			t.Errorf("plain get: exit %d, stderr %q; want a failure that names TLS", res.code, res.stderr)
		}
		h.waitNodeLog(leader, "tls handshake failed", "first record does not look like a TLS handshake")
	})
	t.Run("certificate from another CA", func(t *testing.T) {
		other := testkit.NewCA(t, t.TempDir(), "other-ca")
		cert, key := other.Issue(t, "intruder")
		cfg := h.plainCopy("intruder.yaml", "auth_token: "+token+"\n"+h.tlsSection(cert, key))
		res := runBinary(t, bins.ctl, "--cluster", cfg, "--timeout", "2s", "get", "k")
		if res.code == 0 || !strings.Contains(res.stderr, "bad certificate") {
			t.Errorf("get with another CA's certificate: exit %d, stderr %q; want it refused", res.code, res.stderr)
		}
		h.waitNodeLog(leader, "tls handshake failed", "client certificate refused", "unknown authority")
	})
	t.Run("auth_token on top", func(t *testing.T) {
		cert, key := h.ca.Issue(t, "wrong-token")
		cfg := h.plainCopy("badtoken.yaml", "auth_token: nope\n"+h.tlsSection(cert, key))
		res := runBinary(t, bins.ctl, "--cluster", cfg, "--timeout", "2s", "get", "k")
		if res.code != 1 || !strings.Contains(res.stderr, "auth token") {
			t.Errorf("get with a good certificate and a bad token: exit %d, stderr %q", res.code, res.stderr)
		}
	})
	t.Run("metrics", func(t *testing.T) {
		url := "https://" + h.metricsAddrs[leader] + "/metrics"
		client := http.Client{Timeout: statusTimeout, Transport: &http.Transport{TLSClientConfig: h.tls.Client(h.metricsAddrs[leader])}}
		resp, err := client.Get(url)
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("scrape over TLS: %v %v", resp, err)
		}
		resp.Body.Close()
		if code, _, err := httpGet("http://" + h.metricsAddrs[leader] + "/metrics"); err == nil && code == http.StatusOK {
			t.Error("a plain scrape of a TLS node succeeded")
		}
	})
	t.Run("SIGHUP reloads", func(t *testing.T) {
		id := h.others(leader)[0]
		before, err := h.servedSerial(h.addrs[id])
		if err != nil {
			t.Fatal(err)
		}
		cert, key := h.ca.Issue(t, id+"-renewed")
		for from, to := range map[string]string{cert: h.certs[id][0], key: h.certs[id][1]} {
			b, err := os.ReadFile(from)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(to, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.procs[id].cmd.Process.Signal(syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
		h.waitNodeLog(id, "tls certificates reloaded")
		after, err := h.servedSerial(h.addrs[id])
		if err != nil || after == before {
			t.Fatalf("after SIGHUP %s presents serial %s (before %s), err %v", id, after, before, err)
		}
		// Nothing dropped: the same leader, and writes still commit on all three.
		for i := range 5 {
			if res := h.Ctl("put", fmt.Sprintf("after-reload-%d", i), "v"); res.code != 0 {
				t.Fatalf("put after the reload: %d %s", res.code, res.stderr)
			}
		}
		if now, _ := h.waitLeader(); now != leader {
			t.Errorf("leader changed from %s to %s across the reload", leader, now)
		}
	})
}
