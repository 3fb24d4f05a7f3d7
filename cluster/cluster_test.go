package cluster

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/easykv/easykv/internal/testkit"
)

// goodCluster is a valid cluster file; the bad-config table breaks its
// text, good, line by line.
var (
	goodCluster = testkit.Cluster{
		Name:      "demo",
		Nodes:     testkit.Nodes("127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"),
		Heartbeat: 100 * time.Millisecond, ElectionTimeout: time.Second,
	}
	good = goodCluster.YAML()
)

func TestLoadGood(t *testing.T) {
	withToken := goodCluster
	withToken.Extra = "auth_token: s3cret\n"
	path := testkit.WriteCluster(t, "", withToken)
	dir := filepath.Dir(path)
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "demo" || len(cfg.Nodes) != 3 || cfg.Heartbeat != 100*time.Millisecond ||
		cfg.ElectionTimeout != time.Second || cfg.AuthToken != "s3cret" {
		t.Fatalf("unexpected config %+v", cfg)
	}
	if got, want := cfg.NodeDataDir("n2"), filepath.Join(dir, "data", "n2"); got != want {
		t.Fatalf("NodeDataDir = %s, want %s", got, want)
	}
	if n, ok := cfg.Lookup("n3"); !ok || n.Addr != "127.0.0.1:7003" {
		t.Fatalf("Lookup(n3) = %v, %v", n, ok)
	}
	if n, _ := cfg.Lookup("n1"); n.MetricsAddr != "" {
		t.Fatalf("n1 has metrics_addr %q, none was given", n.MetricsAddr)
	}
	if _, ok := cfg.Lookup("n9"); ok {
		t.Fatal("Lookup(n9) found a node")
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct {
		name, doc, want string
	}{
		{"empty", "", "empty file"},
		{"missing name", strings.Replace(good, "name: demo\n", "", 1), "missing key: name"},
		{"missing nodes", "name: x\ndata_dir: d\nheartbeat: 1s\nelection_timeout: 2s\n", "missing key: nodes"},
		{"missing data_dir", strings.Replace(good, "data_dir: ./data\n", "", 1), "missing key: data_dir"},
		{"missing heartbeat", strings.Replace(good, "heartbeat: 100ms\n", "", 1), "missing key: heartbeat"},
		{"bad duration", strings.Replace(good, "100ms", "fast", 1), `heartbeat: "fast" is not a duration`},
		{"negative", strings.Replace(good, "100ms", "-1s", 1), "heartbeat: must be positive"},
		{"timeout not above heartbeat", strings.Replace(good, "1s", "100ms", 1), "election_timeout (100ms) must be above heartbeat (100ms)"},
		{"duplicate id", strings.Replace(good, "id: n2", "id: n1", 1), "duplicate node id n1"},
		{"bad metrics_addr", strings.Replace(good, "addr: 127.0.0.1:7002}", "addr: 127.0.0.1:7002, metrics_addr: 9100}", 1), `node n2: bad metrics_addr "9100": want host:port`},
		{"tls without ca_file", good + "tls: {cert_file: c.pem, key_file: k.pem}\n", "tls: missing key: ca_file"},
		{"tls unknown key", good + "tls: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem, cipher: rc4}\n", `unknown key "cipher"`},
		{"node cert without tls", strings.Replace(good, "addr: 127.0.0.1:7002}", "addr: 127.0.0.1:7002, cert_file: n2.pem, key_file: n2-key.pem}", 1), "node n2: cert_file and key_file need a tls section"},
		{"node cert without key", strings.Replace(good, "addr: 127.0.0.1:7002}", "addr: 127.0.0.1:7002, cert_file: n2.pem}", 1) + "tls: {ca_file: ca.pem, cert_file: c.pem, key_file: k.pem}\n", "node n2: cert_file and key_file go together"},
		{"metrics_addr taken", strings.Replace(good, "addr: 127.0.0.1:7002}", "addr: 127.0.0.1:7002, metrics_addr: 127.0.0.1:7001}", 1), "duplicate node address 127.0.0.1:7001 (metrics_addr of n2)"},
		{"id escaping data_dir", strings.Replace(good, "id: n2", `id: "../n2"`, 1), `nodes[1]: id "../n2": want 1 to 64 letters`},
		{"id with a slash", strings.Replace(good, "id: n2", `id: "a/b"`, 1), `id "a/b"`},
		{"id dot-dot", strings.Replace(good, "id: n2", `id: ".."`, 1), `id ".."`},
		{"id with an escape", strings.Replace(good, "id: n2", `id: "n\x1b[2J"`, 1), `id "n\x1b[2J"`},
		{"id too long", strings.Replace(good, "id: n2", "id: "+strings.Repeat("n", 65), 1), "want 1 to 64"},
		{"name with a control character", strings.Replace(good, "name: demo", `name: "de\tmo"`, 1), `name "de\tmo": control characters`},
		{"two documents", good + "---\nname: other\n", "more than one YAML document"},
		{"duplicate addr", strings.Replace(good, "7002", "7001", 1), "duplicate node address 127.0.0.1:7001"},
		{"missing id", strings.Replace(good, "id: n2, ", "", 1), "nodes[1]: missing key: id"},
		{"missing addr", strings.Replace(good, ", addr: 127.0.0.1:7002", "", 1), "node n2: missing key: addr"},
		{"bad addr", strings.Replace(good, "127.0.0.1:7002", "nowhere", 1), `node n2: bad addr "nowhere"`},
		{"unknown key", good + "data2_dir: ./x\n", `line 9: unknown key "data2_dir"`},
		{"unknown node key", strings.Replace(good, "id: n2, ", "id: n2, port: 1, ", 1), `unknown key "port"`},
		{"not yaml", "{{{", "did not find expected node content"},
		{"snapshot_entries zero", good + "snapshot_entries: 0\n", "line 9: snapshot_entries: want a whole number from 1 to 1000000000, got 0"},
		{"snapshot_entries negative", good + "snapshot_entries: -5\n", "line 9: snapshot_entries: want a whole number from 1 to 1000000000, got -5"},
		{"snapshot_entries a word", good + "snapshot_entries: many\n", `line 9: snapshot_entries: want a whole number from 1 to 1000000000, got "many"`},
		{"snapshot_entries a fraction", good + "snapshot_entries: 2.5\n", `line 9: snapshot_entries: want a whole number from 1 to 1000000000, got "2.5"`},
		{"snapshot_entries in floating point", good + "snapshot_entries: 1e4\n", `snapshot_entries: want a whole number from 1 to 1000000000, got "1e4"`},
		{"snapshot_entries quoted", good + "snapshot_entries: \"100\"\n", `snapshot_entries: want a whole number from 1 to 1000000000, got "100"`},
		{"snapshot_entries empty", good + "snapshot_entries:\n", "line 9: snapshot_entries: want a whole number from 1 to 1000000000, got nothing"},
		{"snapshot_entries a list", good + "snapshot_entries: [1, 2]\n", "line 9: snapshot_entries: want a whole number from 1 to 1000000000, got a list or a map"},
		{"snapshot_entries absurd", good + "snapshot_entries: 1000000001\n", "snapshot_entries: want a whole number from 1 to 1000000000, got 1000000001"},
		{"snapshot_entries beyond int64", good + "snapshot_entries: 99999999999999999999\n", "snapshot_entries: want a whole number from 1 to 1000000000, got"},
		{"snapshot_margin negative", good + "snapshot_margin: -1\n", "line 9: snapshot_margin: want a whole number from 0 to 1000000000, got -1"},
		{"snapshot_margin a word", good + "snapshot_entries: 100\nsnapshot_margin: half\n", `line 10: snapshot_margin: want a whole number from 0 to 1000000000, got "half"`},
		{"snapshot_margin absurd", good + "snapshot_margin: 0x7fffffffffffffff\n", "snapshot_margin: want a whole number from 0 to 1000000000, got 0x7fffffffffffffff"},
		{"snapshot_margin twice", good + "snapshot_margin: 1\nsnapshot_margin: 2\n", `"snapshot_margin" already defined`},
		{"segment_size too small", good + "segment_size: 4096\n", "line 9: segment_size: want a whole number from 65536 to 1000000000, got 4096"},
		{"segment_size with a unit", good + "segment_size: 64MiB\n", `line 9: segment_size: want a whole number from 65536 to 1000000000, got "64MiB"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.doc), "/tmp")
			if err == nil {
				t.Fatal("Parse accepted a bad file")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans several lines: %q", err)
			}
		})
	}
}

func TestMetricsAddr(t *testing.T) {
	c := goodCluster
	c.Nodes = append([]testkit.Node(nil), c.Nodes...)
	c.Nodes[1].MetricsAddr = "127.0.0.1:9102"
	cfg, err := Load(testkit.WriteCluster(t, "", c))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := cfg.Lookup("n2"); n.MetricsAddr != "127.0.0.1:9102" {
		t.Fatalf("n2's metrics_addr %q", n.MetricsAddr)
	}
}

func TestTLSFiles(t *testing.T) {
	c := goodCluster
	c.Extra = "tls:\n  ca_file: certs/ca.pem\n  cert_file: certs/client.pem\n  key_file: /abs/client-key.pem\n"
	path := testkit.WriteCluster(t, "", c)
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc = []byte(strings.Replace(string(doc), "addr: 127.0.0.1:7002}", "addr: 127.0.0.1:7002, cert_file: n2.pem, key_file: n2-key.pem}", 1))
	cfg, err := Parse(doc, "/etc/easykv")
	if err != nil {
		t.Fatal(err)
	}
	ca, cert, key, ok := cfg.TLSFiles("n2")
	if !ok || ca != "/etc/easykv/certs/ca.pem" || cert != "/etc/easykv/n2.pem" || key != "/etc/easykv/n2-key.pem" {
		t.Errorf("n2: %s %s %s %v", ca, cert, key, ok)
	}
	if _, cert, key, _ := cfg.TLSFiles("n1"); cert != "/etc/easykv/certs/client.pem" || key != "/abs/client-key.pem" {
		t.Errorf("n1 (no own certificate): %s %s", cert, key)
	}
	plain, err := Parse([]byte(good), "/etc/easykv")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, ok := plain.TLSFiles("n1"); ok {
		t.Error("a cluster without tls reports TLS files")
	}
}

func TestSnapshotKeys(t *testing.T) {
	tests := []struct {
		name, extra     string
		entries, margin uint64
	}{
		{"defaults", "", DefaultSnapshotEntries, DefaultSnapshotMargin},
		{"both", "snapshot_entries: 500\nsnapshot_margin: 100\n", 500, 100},
		{"margin zero", "snapshot_margin: 0\n", DefaultSnapshotEntries, 0},
		{"margin above entries", "snapshot_entries: 10\nsnapshot_margin: 50\n", 10, 50},
		{"one entry", "snapshot_entries: 1\n", 1, DefaultSnapshotMargin},
		{"underscores", "snapshot_entries: 20_000\n", 20000, DefaultSnapshotMargin},
		{"at the bound", "snapshot_entries: 1000000000\nsnapshot_margin: 1000000000\n", 1_000_000_000, 1_000_000_000},
		{"through an alias", "snapshot_entries: &n 300\nsnapshot_margin: *n\n", 300, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Parse([]byte(good+tt.extra), "/tmp")
			if err != nil {
				t.Fatal(err)
			}
			if cfg.SnapshotEntries != tt.entries || cfg.SnapshotMargin != tt.margin {
				t.Fatalf("snapshot_entries %d, snapshot_margin %d; want %d and %d",
					cfg.SnapshotEntries, cfg.SnapshotMargin, tt.entries, tt.margin)
			}
		})
	}
}

func TestSegmentSize(t *testing.T) {
	for extra, want := range map[string]int64{"": DefaultSegmentSize, "segment_size: 65536\n": MinSegmentSize, "segment_size: 1_048_576\n": 1 << 20} {
		cfg, err := Parse([]byte(good+extra), "/tmp")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.SegmentSize != want {
			t.Errorf("%q: segment size %d, want %d", extra, cfg.SegmentSize, want)
		}
	}
}

func TestLoadUnreadable(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if err == nil || !strings.Contains(err.Error(), "read cluster file") {
		t.Fatalf("Load of a missing file: %v", err)
	}
}

// FuzzParse checks that no document makes the loader panic and that every
// accepted document satisfies the invariants a node relies on.
func FuzzParse(f *testing.F) {
	f.Add([]byte(good))
	f.Add([]byte("name: x\nnodes: []\n"))
	f.Add([]byte(good + "snapshot_entries: 500\nsnapshot_margin: 0\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse(data, "/base")
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if cfg.Name == "" || len(cfg.Nodes) == 0 || cfg.ElectionTimeout <= cfg.Heartbeat || cfg.Heartbeat <= 0 ||
			cfg.SnapshotEntries == 0 || cfg.SnapshotEntries > maxEntryCount || cfg.SnapshotMargin > maxEntryCount {
			t.Fatalf("accepted invalid config %+v", cfg)
		}
	})
}
