package e2e

import (
	"regexp"
	"strings"
	"testing"
)

// TestTUIPipeQuotedKeys: keys and values written with quotes, as in
// redis-cli, reach real nodes whole, and read back whole through the
// dashboard and easykv-ctl; an unquoted @ID names a node, a quoted one is a
// key.
func TestTUIPipeQuotedKeys(t *testing.T) {
	h := StartCluster(t, 3)
	leader, _ := h.waitLeader()

	script := `put 'my key' hello   world
put "@n1" "  spaced  out "
put k "say \"hi\"\tthere"
get "my key"
get '@n1'
get k
get 'my key' @` + leader + `
`
	res := runTUIPiped(t, h, script)
	if res.code != 0 || res.stderr != "" {
		t.Fatalf("exit %d, stderr %q; want 0 and nothing", res.code, res.stderr)
	}
	ok := `^OK \(n\d, [0-9.]+(ms|s)\)$`
	checkLines(t, "stdout", res.stdout, []string{
		ok, ok, ok,
		`^"hello world"$`, // unquoted words joined by one space, as redis-cli joins them
		`^"  spaced  out "$`,
		`^"say \\"hi\\"\\tthere"$`,
		`^"hello world"$`, // the leader's own copy
	})
	// easykv-ctl reads the same keys.
	for key, want := range map[string]string{"my key": "hello world", "@n1": "  spaced  out ", "k": "say \"hi\"\tthere"} {
		if r := h.Ctl("get", "--", key); r.code != 0 || r.stdout != want+"\n" {
			t.Errorf("easykv-ctl get %q: exit %d, stdout %q, stderr %q; want %q", key, r.code, r.stdout, r.stderr, want)
		}
	}

	// Deletes answer as redis-cli's DEL: 1 if the key existed, else 0; an
	// unquoted @ID alone is no key; an unbalanced quote is a usage error.
	res = runTUIPiped(t, h, "delete 'my key'\ndelete 'my key'\nget @n1\nget 'my key\nget '@n1'\n")
	if res.code != 1 {
		t.Errorf("exit %d, want 1: two commands failed", res.code)
	}
	checkLines(t, "stdout", res.stdout, []string{`^\(integer\) 1$`, `^\(integer\) 0$`, `^"  spaced  out "$`})
	checkLines(t, "stderr", res.stderr, []string{
		`^\(error\) line 3: usage: get KEY \[@ID\]; @n1 names a node: to read the key "@n1", quote it: get '@n1'$`,
		`^\(error\) line 4: get: bad quoting: unbalanced single quote`,
		`^easykv-tui: 2 of 5 commands failed$`,
	})
}

// TestTUIPipeClusterDown: against a cluster that is not running, piped
// mode prints its failures on stderr, nothing on stdout, and exits 1;
// with --stop-on-error it stops at the first.
func TestTUIPipeClusterDown(t *testing.T) {
	h := StartCluster(t, 3)
	h.stopAll()

	res := runTUIPiped(t, h, "put a 1\nget a\n")
	if res.code != 1 || res.stdout != "" {
		t.Errorf("exit %d, stdout %q; want 1 and nothing", res.code, res.stdout)
	}
	checkLines(t, "stderr", res.stderr, []string{
		`^\(error\) line 1: no node is connected$`,
		`^\(error\) line 2: no node is connected$`,
		`^easykv-tui: 2 of 2 commands failed$`,
	})

	res = runTUIPiped(t, h, "put a 1\nget a\n", "--stop-on-error")
	if res.code != 1 || res.stdout != "" {
		t.Errorf("--stop-on-error: exit %d, stdout %q; want 1 and nothing", res.code, res.stdout)
	}
	checkLines(t, "stderr", res.stderr, []string{
		`^\(error\) line 1: no node is connected$`,
		`^easykv-tui: line 1 failed; the lines after it were not run$`,
	})
}

// checkLines checks out (named what) has one line per regular expression
// in want, each matching its own.
func checkLines(t *testing.T, what, out string, want []string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(want) {
		t.Errorf("%s has %d lines, want %d:\n%s", what, len(lines), len(want), out)
		return
	}
	for i, re := range want {
		if !regexp.MustCompile(re).MatchString(lines[i]) {
			t.Errorf("%s line %d is %q, want it to match %s", what, i+1, lines[i], re)
		}
	}
}
