package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/easykv/easykv/internal/testkit"
	"github.com/easykv/easykv/netlink/pb"
)

// TestBadConfigExit2: a node given a bad flag or cluster file exits with
// status 2 and one line on stderr naming the problem: no panic, no
// goroutine dump, no half-started node.
func TestBadConfigExit2(t *testing.T) {
	skipIfShort(t)
	ports, err := testkit.FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	a1, a2, a3 := fmt.Sprintf("127.0.0.1:%d", ports[0]), fmt.Sprintf("127.0.0.1:%d", ports[1]), fmt.Sprintf("127.0.0.1:%d", ports[2])
	// yaml builds a cluster file from its parts.
	yaml := func(name, addr2, hb, et string) string {
		s := ""
		if name != "" {
			s += "name: " + name + "\n"
		}
		return s + fmt.Sprintf("nodes:\n  - {id: n1, addr: %s}\n  - {id: n2, addr: %s}\n  - {id: n3, addr: %s}\n", a1, addr2, a3) +
			fmt.Sprintf("data_dir: ./data\nheartbeat: %s\nelection_timeout: %s\n", hb, et)
	}
	good := yaml("e2e", a2, "50ms", "500ms")

	tests := []struct {
		name  string
		yaml  string   // cluster.yaml content; "" means no file at all
		args  []string // flags after --cluster FILE
		wants []string // the error line must contain one of these (case-insensitive)
	}{
		{"unknown id", good, []string{"--id", "n9"}, []string{"n9"}},
		{"duplicate address", yaml("e2e", a1, "50ms", "500ms"), []string{"--id", "n1"}, []string{"duplicate"}},
		{"missing name", yaml("", a2, "50ms", "500ms"), []string{"--id", "n1"}, []string{"name"}},
		{"election timeout equal to heartbeat", yaml("e2e", a2, "500ms", "500ms"), []string{"--id", "n1"}, []string{"election_timeout", "election timeout"}},
		{"election timeout below heartbeat", yaml("e2e", a2, "1s", "500ms"), []string{"--id", "n1"}, []string{"election_timeout", "election timeout"}},
		{"unreadable file", "", []string{"--id", "n1"}, []string{"cluster.yaml", "no such file"}},
		{"unknown flag", good, []string{"--id", "n1", "--bogus"}, []string{"bogus"}},
		{"missing --id", good, nil, []string{"id"}},
		{"bad metrics_addr", strings.Replace(good, "addr: "+a1+"}", "addr: "+a1+", metrics_addr: nope}", 1), []string{"--id", "n1"}, []string{"metrics_addr"}},
		{"bad --metrics-addr", good, []string{"--id", "n1", "--metrics-addr", "nope"}, []string{"--metrics-addr"}},
		{"tls section without ca_file", good + "tls: {cert_file: c.pem, key_file: k.pem}\n", []string{"--id", "n1"}, []string{"ca_file"}},
		{"unreadable certificate", good + "tls: {ca_file: /nonexistent/ca.pem, cert_file: c.pem, key_file: k.pem}\n", []string{"--id", "n1"}, []string{"/nonexistent/ca.pem"}},
		{"bad --log-format", good, []string{"--id", "n1", "--log-format", "xml"}, []string{"--log-format"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "cluster.yaml")
			if tt.yaml != "" {
				if err := os.WriteFile(path, []byte(tt.yaml), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			res := runBinary(t, bins.node, append([]string{"--cluster", path}, tt.args...)...)
			if res.code != 2 {
				t.Errorf("exit status %d, want 2", res.code)
			}
			line := strings.TrimSuffix(res.stderr, "\n")
			if line == "" || strings.Contains(line, "\n") {
				t.Errorf("stderr is not one line:\n%s", res.stderr)
			}
			if strings.Contains(res.stderr, "panic") || strings.Contains(res.stderr, "goroutine ") {
				t.Errorf("stderr shows a panic:\n%s", res.stderr)
			}
			if !containsAny(strings.ToLower(line), tt.wants) {
				t.Errorf("stderr %q names none of %q", line, tt.wants)
			}
			if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
				t.Errorf("data dir exists after a config error (stat: %v): the node half-started", err)
			}
		})
	}
}

// containsAny reports whether s contains one of subs.
func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestSecondNodeOnSameDataDir: a second easykv-node for a running node's
// id (so its data dir) exits 1 naming the locked directory, before it reads
// or repairs anything there; the running node and the cluster go on.
func TestSecondNodeOnSameDataDir(t *testing.T) {
	skipIfShort(t)
	h := StartCluster(t, 3)
	leader, _ := h.waitLeader()
	res := runBinary(t, bins.node, "--cluster", h.cfgPath, "--id", leader)
	if res.code != 1 {
		t.Errorf("exit status %d, want 1", res.code)
	}
	line := strings.TrimSuffix(res.stderr, "\n")
	if strings.Contains(line, "\n") || !strings.Contains(line, "in use by another easykv-node") || !strings.Contains(line, "LOCK") {
		t.Errorf("stderr %q, want one line saying the data dir is in use", res.stderr)
	}
	if r := h.Ctl("put", "after", "second-start"); r.code != 0 || r.stdout != "OK\n" {
		t.Fatalf("put after the refused start: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if st := h.mustStatus(leader); st.GetRole() != pb.Role_ROLE_LEADER {
		t.Errorf("%s is %v after the refused start, want still leader", leader, st.GetRole())
	}
}
