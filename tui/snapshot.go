package tui

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/charmbracelet/x/ansi"

	"github.com/easykv/easykv/netlink/pb"
)

// The marks of snapshots and log compaction (Raft §5.3), readable without
// colour.
const (
	// sendGlyph and recvGlyph mark an InstallSnapshot under way: this node
	// sends it, or receives it.
	sendGlyph, recvGlyph = "⇡", "⇣"
	// compactedText follows "≤N" in the log view's cell for the entries
	// compacted away: they live on only in the node's snapshot.
	compactedText = "snap"
	// lostGlyph opens the event line of a follower that lost entries it
	// had acknowledged.
	lostGlyph = "⚠"
	// peerSnapshotState is PeerProgress.state while the leader sends the
	// peer a snapshot.
	peerSnapshotState = "snapshot"
)

// sizeUnit is the binary unit that shows b bytes best, and its size.
func sizeUnit(b int64) (string, int64) {
	switch {
	case b >= 1<<30:
		return "GiB", 1 << 30
	case b >= 1<<20:
		return "MiB", 1 << 20
	case b >= 1<<10:
		return "KiB", 1 << 10
	default:
		return "B", 1
	}
}

// sizeNum is b in units of size: one decimal below ten ("3.1", but "3"
// for 3.0), none from ten up ("12").
func sizeNum(b, size int64) string {
	v := float64(b) / float64(size)
	if v >= 10 || size == 1 {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0")
}

// sizeText is b bytes in words: "3.1 MiB", "512 B".
func sizeText(b int64) string {
	unit, size := sizeUnit(b)
	return sizeNum(b, size) + " " + unit
}

// sizeSuffix is b bytes in brackets after an event's words, " (3.1 MiB)",
// or "" when the size is not known.
func sizeSuffix(b int64) string {
	if b <= 0 {
		return ""
	}
	return " (" + sizeText(b) + ")"
}

// progressText is done out of total bytes, both in total's unit:
// "3.1/12 MiB"; done alone when the total is unknown.
func progressText(done, total int64) string {
	if total <= 0 {
		return sizeText(done)
	}
	unit, size := sizeUnit(total)
	return sizeNum(done, size) + "/" + sizeNum(total, size) + " " + unit
}

// percent is done out of total as a whole percentage, "26%", or "" when
// the total is unknown.
func percent(done, total int64) string {
	if total <= 0 {
		return ""
	}
	return fmt.Sprintf("%d%%", min(100, max(0, done*100/total)))
}

// transferLines are a card's lines for one InstallSnapshot under way,
// inner cells wide: "⇡ snapshot → n3 3.1/12 MiB 40 MiB/s" on the sender's
// card, "⇣ snapshot 3.1/12 MiB 40 MiB/s from n1" on the receiver's. When
// that is too wide, who it goes to or comes from is the first line and
// the progress the next, indented: "⇣ snapshot from n1" / "  3.1/12 MiB
// 40 MiB/s".
func transferLines(st *Styles, t *pb.SnapshotTransfer, inner int) []string {
	progress := progressText(t.GetBytesDone(), t.GetTotalBytes())
	if bps := t.GetBytesPerSecond(); bps > 0 {
		progress += " " + sizeText(bps) + "/s"
	}
	peer := clean(t.GetPeer())
	var line, head string
	if t.GetSending() {
		head = st.Snapshot.Render(sendGlyph+" snapshot") + " → " + peer
		line = head + " " + progress
	} else {
		mark := st.Snapshot.Render(recvGlyph + " snapshot")
		head = mark + " from " + peer
		line = mark + " " + progress + " from " + peer
	}
	if ansi.StringWidth(line) <= inner {
		return []string{line}
	}
	return []string{head, "  " + progress}
}

// transferMark is the node table's short form of transferText: "⇡snap→n3
// 26%", "⇣snap 26%".
func transferMark(st *Styles, t *pb.SnapshotTransfer) string {
	mark := recvGlyph + "snap"
	if t.GetSending() {
		mark = sendGlyph + "snap→" + clean(t.GetPeer())
	}
	if p := percent(t.GetBytesDone(), t.GetTotalBytes()); p != "" {
		mark += " " + p
	}
	return st.Snapshot.Render(mark)
}

// snapText is a node's newest snapshot for its card, "1200@3" (index and
// term), or "" without one.
func snapText(s *pb.NodeStatus) string {
	if s.GetSnapshotIndex() <= 0 {
		return ""
	}
	return fmt.Sprintf("%d@%d", s.GetSnapshotIndex(), s.GetSnapshotTerm())
}

// compacted is how many cells of a log row from index left, count of
// them, hold entries the node has compacted away: those before its first
// index. 0 when its log was never compacted (first index 0 or 1).
func compacted(s *pb.NodeStatus, left int64, count int) int {
	first := s.GetFirstIndex()
	if first <= 1 || first <= left {
		return 0
	}
	return int(min(first-left, int64(count)))
}

// compactedCell draws the entries before a node's first index as one cell
// width characters wide (the cells it stands for): "≤1200 snap" against
// the first entry still in the log, or as much of it as fits. The number
// is the last compacted index, which is the snapshot's unless the node
// keeps some entries the snapshot covers too.
func compactedCell(st *Styles, s *pb.NodeStatus, width int) string {
	upTo := "≤" + strconv.FormatInt(s.GetFirstIndex()-1, 10)
	text := "≤"
	for _, t := range []string{upTo + " " + compactedText, upTo} {
		// One space before it, like every cell's separator.
		if len([]rune(t))+1 <= width {
			text = t
			break
		}
	}
	pad := max(0, width-len([]rune(text)))
	return strings.Repeat(" ", pad) + st.Snapshot.Render(text)
}
