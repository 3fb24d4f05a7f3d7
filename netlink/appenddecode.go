package netlink

import (
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/easykv/easykv/netlink/pb"
)

// decodeAppend decodes body into m when it is an AppendEntries request
// holding only the fields a leader sends, in a few blocks — the entries,
// their pointers, their data — where proto.Unmarshal makes two allocations
// per entry (BenchmarkReadFrame/append-64x256B: 142 allocations, now 8).
// For anything else, or anything it would decode differently (unknown
// fields, a repeated message field, a string that is not UTF-8, a
// malformed field), it reports false without touching m, and
// proto.Unmarshal decodes the frame as before; FuzzDecodeAppend checks
// that the two always agree.
func decodeAppend(body []byte, m *pb.RaftKvMessage) bool {
	var (
		typ              uint64
		nodeID, to, req  []byte
		requestID        uint64
		seenAppend       bool
		haveNode, haveTo bool
	)
	for b := body; len(b) > 0; {
		num, wt, n := protowire.ConsumeTag(b)
		if n < 0 {
			return false
		}
		b = b[n:]
		switch {
		case num == 1 && wt == protowire.VarintType:
			typ, n = protowire.ConsumeVarint(b)
		case num == 17 && wt == protowire.VarintType:
			requestID, n = protowire.ConsumeVarint(b)
		case num == 2 && wt == protowire.BytesType:
			nodeID, n = protowire.ConsumeBytes(b)
			haveNode = true
			if n >= 0 && !utf8.Valid(nodeID) {
				return false // proto.Unmarshal checks every occurrence
			}
		case num == 18 && wt == protowire.BytesType:
			to, n = protowire.ConsumeBytes(b)
			haveTo = true
			if n >= 0 && !utf8.Valid(to) {
				return false
			}
		case num == 7 && wt == protowire.BytesType && !seenAppend:
			req, n = protowire.ConsumeBytes(b)
			seenAppend = true
		default:
			return false
		}
		if n < 0 {
			return false
		}
		b = b[n:]
	}
	if !seenAppend {
		return false
	}
	ae, ok := decodeAppendRequest(req)
	if !ok {
		return false
	}
	proto.Reset(m)
	m.Type = pb.RaftKvMessage_MessageType(int32(typ))
	m.RequestId = requestID
	if haveNode {
		m.NodeId = string(nodeID)
	}
	if haveTo {
		m.To = string(to)
	}
	m.AppendEntriesRequest = ae
	return true
}

// decodeAppendRequest decodes an AppendEntriesRequest's fields, or reports
// false. A first pass checks them and counts the entries and their data
// bytes, so that the second fills blocks allocated once.
func decodeAppendRequest(b []byte) (*pb.AppendEntriesRequest, bool) {
	ae := &pb.AppendEntriesRequest{}
	entries, dataBytes := 0, 0
	for rest := b; len(rest) > 0; {
		num, wt, n := protowire.ConsumeTag(rest)
		if n < 0 {
			return nil, false
		}
		rest = rest[n:]
		switch {
		case wt == protowire.VarintType && num >= 1 && num <= 7 && num != 2 && num != 5:
			var v uint64
			v, n = protowire.ConsumeVarint(rest)
			switch num {
			case 1:
				ae.Term = int64(v)
			case 3:
				ae.PrevLogIndex = int64(v)
			case 4:
				ae.PrevLogTerm = int64(v)
			case 6:
				ae.LeaderCommit = int64(v)
			case 7:
				ae.ReadCtx = v
			}
		case num == 2 && wt == protowire.BytesType:
			var id []byte
			id, n = protowire.ConsumeBytes(rest)
			if n >= 0 && !utf8.Valid(id) {
				return nil, false
			}
			ae.LeaderId = string(id)
		case num == 5 && wt == protowire.BytesType:
			var e []byte
			e, n = protowire.ConsumeBytes(rest)
			if n >= 0 {
				size, ok := entryDataSize(e)
				if !ok {
					return nil, false
				}
				entries++
				dataBytes += size
			}
		default:
			return nil, false
		}
		if n < 0 {
			return nil, false
		}
		rest = rest[n:]
	}
	if entries == 0 {
		return ae, true
	}
	block := make([]pb.LogEntry, entries)
	ae.Entries = make([]*pb.LogEntry, entries)
	data := make([]byte, 0, dataBytes)
	for i := 0; len(b) > 0; {
		// Every field was checked above.
		num, wt, n := protowire.ConsumeTag(b)
		b = b[n:]
		n = protowire.ConsumeFieldValue(num, wt, b)
		if num == 5 {
			e, _ := protowire.ConsumeBytes(b)
			ae.Entries[i] = &block[i]
			data = fillEntry(&block[i], e, data)
			i++
		}
		b = b[n:]
	}
	return ae, true
}

// entryDataSize checks that e is a LogEntry of known fields and returns
// the bytes its data fields hold.
func entryDataSize(e []byte) (int, bool) {
	size := 0
	for len(e) > 0 {
		num, wt, n := protowire.ConsumeTag(e)
		if n < 0 {
			return 0, false
		}
		e = e[n:]
		switch {
		case wt == protowire.VarintType && (num == 1 || num == 2 || num == 5):
			_, n = protowire.ConsumeVarint(e)
		case wt == protowire.BytesType && (num == 3 || num == 4):
			var v []byte
			v, n = protowire.ConsumeBytes(e)
			if n >= 0 && num == 3 && !utf8.Valid(v) {
				return 0, false
			}
			if num == 4 {
				size += len(v)
			}
		default:
			return 0, false
		}
		if n < 0 {
			return 0, false
		}
		e = e[n:]
	}
	return size, true
}

// fillEntry decodes e, checked by entryDataSize, into le; its data goes
// at the end of data, which has room for it. The last of a repeated field
// wins, as with proto.Unmarshal.
func fillEntry(le *pb.LogEntry, e, data []byte) []byte {
	for len(e) > 0 {
		num, wt, n := protowire.ConsumeTag(e)
		e = e[n:]
		if wt == protowire.VarintType {
			v, n := protowire.ConsumeVarint(e)
			e = e[n:]
			switch num {
			case 1:
				le.Term = int64(v)
			case 2:
				le.Index = int64(v)
			case 5:
				le.Type = pb.EntryType(int32(v))
			}
			continue
		}
		v, n := protowire.ConsumeBytes(e)
		e = e[n:]
		if num == 3 {
			le.Command = string(v)
			continue
		}
		start := len(data)
		data = append(data, v...)
		le.Data = data[start:len(data):len(data)]
	}
	return data
}
