package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/easykv/easykv/internal/testkit"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseEtcdBench(t *testing.T) {
	tests := []struct {
		file string
		want result
	}{
		{"etcd-put-1client.txt", result{Total: 500, OpsPerSec: 255.1, AvgMs: 3.908, P50Ms: 2.748, P99Ms: 29.596, P999Ms: 0}},
		{"etcd-put-64clients.txt", result{Total: 10000, OpsPerSec: 1658.2, AvgMs: 38.422, P50Ms: 30.154, P99Ms: 176.119, P999Ms: 254.623}},
		{"etcd-range-64clients.txt", result{Total: 10000, OpsPerSec: 4117.4, AvgMs: 15.302, P50Ms: 11.569, P99Ms: 113.165, P999Ms: 235.79}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			out, err := os.ReadFile(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseEtcdBench(out)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseEtcdBenchErrors(t *testing.T) {
	allFailed, err := os.ReadFile(filepath.Join("testdata", "etcd-all-errors.txt"))
	if err != nil {
		t.Fatal(err)
	}
	put64, err := os.ReadFile(filepath.Join("testdata", "etcd-put-64clients.txt"))
	if err != nil {
		t.Fatal(err)
	}
	someFailed := string(put64) + "\nError distribution:\n  [7]\tetcdserver: request timed out\n  [2]\tcontext deadline exceeded\n"
	tests := []struct {
		name       string
		out        string
		wantErr    string // substring; "" for success
		wantErrors int
		wantTotal  int
	}{
		{name: "all failed", out: string(allFailed), wantErr: "all 5 requests failed: etcdserver: request is too large"},
		{name: "empty", out: "", wantErr: "no summary"},
		{name: "logs only", out: "2026/11/25 23:06:24 INFO: [core] Channel created\n", wantErr: "no summary"},
		{name: "bad rate", out: "Summary:\n  Requests/sec:\tlots\n", wantErr: "lots"},
		{name: "some failed", out: someFailed, wantErrors: 9, wantTotal: 10009},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseEtcdBench([]byte(tt.out))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Errors != tt.wantErrors || got.Total != tt.wantTotal {
				t.Errorf("errors, total = %d, %d; want %d, %d", got.Errors, got.Total, tt.wantErrors, tt.wantTotal)
			}
		})
	}
}

// etcdStatusOf builds a member's status as the gateway reports it.
func etcdStatusOf(id, leader, term string) etcdStatus {
	var st etcdStatus
	st.Header.MemberID, st.Leader, st.RaftTerm = id, leader, term
	return st
}

func TestEtcdLeader(t *testing.T) {
	tests := []struct {
		name   string
		sts    []etcdStatus
		want   int
		wantOK bool
	}{
		{"agreed", []etcdStatus{etcdStatusOf("1", "2", "3"), etcdStatusOf("2", "2", "3"), etcdStatusOf("3", "2", "3")}, 1, true},
		{"no leader", []etcdStatus{etcdStatusOf("1", "0", "3"), etcdStatusOf("2", "0", "3"), etcdStatusOf("3", "0", "3")}, 0, false},
		{"disagree on leader", []etcdStatus{etcdStatusOf("1", "1", "3"), etcdStatusOf("2", "2", "3"), etcdStatusOf("3", "2", "3")}, 0, false},
		{"disagree on term", []etcdStatus{etcdStatusOf("1", "2", "3"), etcdStatusOf("2", "2", "4"), etcdStatusOf("3", "2", "4")}, 0, false},
		{"leader not a member", []etcdStatus{etcdStatusOf("1", "9", "3"), etcdStatusOf("2", "9", "3")}, 0, false},
		{"none", nil, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := etcdLeader(tt.sts)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("etcdLeader = %d, %v; want %d, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}

// fakeMember is an etcd member's JSON gateway: it answers status with
// what set last gave it, and records puts.
type fakeMember struct {
	srv *httptest.Server // the gateway

	mu     sync.Mutex        // guards the fields below
	status etcdStatus        // answered to /v3/maintenance/status
	polls  int               // status requests so far
	puts   map[string]string // decoded key → value of /v3/kv/put
}

func newFakeMember(t *testing.T, st etcdStatus) *fakeMember {
	m := &fakeMember{status: st, puts: map[string]string{}}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *fakeMember) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	switch r.URL.Path {
	case "/v3/maintenance/status":
		m.polls++
		json.NewEncoder(w).Encode(m.status)
	case "/v3/kv/put":
		var body struct{ Key, Value string }
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		k, _ := base64.StdEncoding.DecodeString(body.Key)
		v, _ := base64.StdEncoding.DecodeString(body.Value)
		m.puts[string(k)] = string(v)
		w.Write([]byte(`{"header":{}}`))
	default:
		http.NotFound(w, r)
	}
}

func (m *fakeMember) addr() string { return strings.TrimPrefix(m.srv.URL, "http://") }

func (m *fakeMember) set(st etcdStatus) {
	m.mu.Lock()
	m.status = st
	m.mu.Unlock()
}

func (m *fakeMember) pollCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.polls
}

// fakePeer is an etcdPeer over fake members, with a stand-in for
// etcd-peer.sh whose leader-pid prints 4242.
func fakePeer(t *testing.T, members ...*fakeMember) *etcdPeer {
	script := filepath.Join(t.TempDir(), "etcd-peer.sh")
	if err := os.WriteFile(script, []byte("[ \"$1\" = leader-pid ] && echo 4242\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := &etcdPeer{script: script, http: &http.Client{Timeout: time.Second}}
	for _, m := range members {
		p.endpoints = append(p.endpoints, m.addr())
	}
	return p
}

func TestEtcdHealthyLeader(t *testing.T) {
	a := newFakeMember(t, etcdStatusOf("11", "22", "5"))
	b := newFakeMember(t, etcdStatusOf("22", "22", "5"))
	c := newFakeMember(t, etcdStatusOf("33", "22", "5"))
	p := fakePeer(t, a, b, c)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	got, err := p.healthyLeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := (member{id: "22", addr: b.addr(), pid: 4242}); got != want {
		t.Errorf("healthyLeader = %+v, want %+v", got, want)
	}

	c.set(etcdStatusOf("33", "0", "6")) // c lost the leader
	ctx, cancel = context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	if _, err := p.healthyLeader(ctx); !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), errNoAgreedLeader.Error()) {
		t.Errorf("healthyLeader with a member lost = %v, want a deadline saying %q", err, errNoAgreedLeader)
	}
}

func TestEtcdNewLeader(t *testing.T) {
	old := newFakeMember(t, etcdStatusOf("11", "11", "5")) // stopped, still sure of itself
	b := newFakeMember(t, etcdStatusOf("22", "11", "5"))
	c := newFakeMember(t, etcdStatusOf("33", "11", "5"))
	p := fakePeer(t, old, b, c)
	oldM := member{id: "11", addr: old.addr(), pid: 1}

	type answer struct {
		at  time.Time
		err error
	}
	done := make(chan answer, 1)
	since := time.Now()
	go func() {
		at, err := p.newLeader(t.Context(), oldM, since)
		done <- answer{at, err}
	}()
	// Let it poll a few times, then elect c.
	testkit.PollEvery(t, time.Millisecond, 10*time.Second, "newLeader to poll 3 times", func() (bool, string) {
		n := b.pollCount()
		return n >= 3, fmt.Sprintf("newLeader does not poll (%d polls)", n)
	})
	select {
	case a := <-done:
		t.Fatalf("newLeader returned %v, %v before anyone was elected", a.at, a.err)
	default:
	}
	elected := time.Now()
	c.set(etcdStatusOf("33", "33", "6"))
	a := <-done
	if a.err != nil {
		t.Fatal(a.err)
	}
	if a.at.Before(elected) {
		t.Errorf("newLeader saw the election at %v, before it happened at %v", a.at, elected)
	}
	if n := old.pollCount(); n != 0 {
		t.Errorf("the stopped leader was polled %d times", n)
	}
}

func TestEtcdPut(t *testing.T) {
	m := newFakeMember(t, etcdStatusOf("1", "1", "1"))
	p := fakePeer(t, m)
	if err := p.put(t.Context(), rangeKey, "value"); err != nil {
		t.Fatal(err)
	}
	m.mu.Lock()
	got := m.puts[rangeKey]
	m.mu.Unlock()
	if got != "value" {
		t.Errorf("put stored %q under %q, want %q", got, rangeKey, "value")
	}
	if len(rangeKey) != keySize {
		t.Errorf("rangeKey %q is %d bytes, want %d", rangeKey, len(rangeKey), keySize)
	}
}
