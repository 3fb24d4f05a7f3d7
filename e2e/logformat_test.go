package e2e

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"syscall"
	"testing"
)

// TestJSONLogs: with --log-format json every line a node writes is one
// JSON object, and the lines about a peer carry its id.
func TestJSONLogs(t *testing.T) {
	h := StartCluster(t, 3, withNodeFlags("--log-format", "json"))
	leader, _ := h.waitLeader()
	if res := h.Ctl("put", "k", "v"); res.code != 0 {
		t.Fatalf("put: %d %s", res.code, res.stderr)
	}
	h.StopNode(leader, syscall.SIGTERM) // the hand-off and stop lines are logged too
	for _, id := range h.ids {
		f, err := os.Open(h.logPath(id))
		if err != nil {
			t.Fatal(err)
		}
		peersSeen := map[string]bool{}
		lines := 0
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "=== harness:") {
				continue
			}
			lines++
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Errorf("%s: not a JSON object: %q (%v)", id, line, err)
				continue
			}
			for _, key := range []string{"time", "level", "msg"} {
				if _, ok := rec[key]; !ok {
					t.Errorf("%s: no %q in %q", id, key, line)
				}
			}
			if rec["msg"] == "peer connected" {
				peer, _ := rec["peer"].(string)
				peersSeen[peer] = true
			}
		}
		f.Close()
		if lines == 0 {
			t.Errorf("%s logged nothing", id)
		}
		for _, other := range h.others(id) {
			if !peersSeen[other] {
				t.Errorf("%s: no \"peer connected\" line with peer %q", id, other)
			}
		}
	}
}
