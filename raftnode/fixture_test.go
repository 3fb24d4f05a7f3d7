package raftnode

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/easykv/easykv/kvmap"
	"github.com/easykv/easykv/netlink/pb"
)

// writeDataDir, when set, makes TestWriteDataDir write a node's data
// directory there: the fixture e2e's TestOpensDataDirV1 guards the
// on-disk format with, written by
//
//	go test ./raftnode -run TestWriteDataDir -write-datadir ../e2e/testdata/datadir-v1
var writeDataDir = flag.String("write-datadir", "", "write a one-node data directory, with this code's on-disk format, to this path")

// fixtureKeys is how many keys TestWriteDataDir puts, each once with
// fixtureValue; then it deletes every tenth.
const fixtureKeys = 600

// fixtureValue is the value of key i in the fixture.
func fixtureValue(i int) string { return fmt.Sprintf("value-%03d-%0180d", i, i) }

// TestWriteDataDir writes, under the -write-datadir directory, n1/: the
// data directory of node n1 of a one-node cluster, laid out as
// easykv-node lays out data_dir/<id> (hardstate, wal/ with 64 KiB segments
// so that there are several, snap/ with snapshots every 10 entries),
// holding fixtureKeys keys of which every tenth was deleted; and
// expected.txt, every key that must be there with its value, one
// "key value" per line. It runs only with -write-datadir: the directory
// it wrote is committed, and must stay readable by every later version.
func TestWriteDataDir(t *testing.T) {
	if *writeDataDir == "" {
		t.Skip("writes a fixture only with -write-datadir DIR")
	}
	dir := filepath.Join(*writeDataDir, "n1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n, stop := diskNode(t, dir, kvmap.NewSnapshotDir(filepath.Join(dir, "snap"), kvmap.Options{}))
	seq := uint64(0)
	for i := range fixtureKeys {
		seq++
		putUntilOK(t, n, fmt.Sprintf("key-%03d", i), fixtureValue(i), seq)
	}
	for i := 0; i < fixtureKeys; i += 10 {
		seq++
		req := &pb.KvRequest{OpType: pb.KvRequest_DELETE, Key: fmt.Sprintf("key-%03d", i), ClientId: 3, Sequence: seq}
		if resp := kvWhileElecting(t, n, req); resp.GetCode() != pb.ErrorCode_OK {
			t.Fatalf("delete: %v", resp)
		}
	}
	st := n.Status()
	stop()
	var expected strings.Builder
	for i := range fixtureKeys {
		if i%10 != 0 {
			fmt.Fprintf(&expected, "key-%03d %s\n", i, fixtureValue(i))
		}
	}
	if err := os.WriteFile(filepath.Join(*writeDataDir, "expected.txt"), []byte(expected.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s: last index %d, applied %d, term %d", dir, st.GetLastIndex(), st.GetAppliedIndex(), st.GetTerm())
}
