// Package segmentlog is easykv's durable storage: the Raft hard state (current
// term, vote, commit index) in a small file replaced atomically, and the
// write-ahead log of entries in mmap'd segment files.
//
// The hard state is durable when Save returns, and the log when Sync (or a
// truncation) returns: the Raft runtime relies on it to never answer an RPC
// before the state that answer depends on is on disk. Append only copies
// into the mapping; the caller batches appends and calls Sync once per batch
// (group commit). After a failed write or sync the log returns ErrFailed for
// every write: the kernel may have dropped the pages it could not write, so
// a later sync that succeeds would prove nothing (fail-stop).
//
// # Segment files
//
// The log is a directory of segment files, each named by the index of its
// first entry in twenty decimal digits, e.g. 00000000000000000001.seg. A
// segment is created at its full size (Options.SegmentSize, 64 MiB by
// default; a record bigger than that gets a segment of its own sized to fit)
// under a temporary name, its blocks reserved with fallocate(2) and then
// every byte written as zero and synced, then renamed into place. Writes
// then go through a shared mapping into blocks that already exist, so a
// full disk is an error from Append when a segment is created, never a
// SIGBUS on a mapped page. The zeros matter: a block fallocate reserved is
// "unwritten" until first written, and recording that it now holds data is
// a metadata update that each sync of a new page would pay for (on ext4
// with a journal, a second journal commit and cache flush per sync);
// written zeros cost one extra write of each segment instead, off the
// Append path (see zeroFill).
//
// That write happens ahead of need: once the active segment is a quarter
// full (or the log is empty), a goroutine makes the next segment file under
// the name spare.seg.tmp, and the rotation renames it into place, waiting
// only if it is not finished yet. A spare that failed (a full disk) is made
// again at the rotation, whose error, if it fails too, fails the log. Close
// abandons an unfinished spare, and Open deletes one left by a crash, like
// any other temporary file: it never held a record.
//
// A record that does not fit in the space left starts the next segment; the
// previous one is synced first, so only the last segment ever holds records
// that are not yet durable. Sync is an msync(MS_SYNC) of the range written
// since the last one, which Linux carries out as an fdatasync of that
// range: measured against fdatasync of the whole file, it issues the same
// writes and cache flushes, and neither was faster.
//
// # Records
//
// Records are aligned to 8 bytes, little endian, and never cross segments:
//
//	offset size field
//	     0    4 length   header + payload bytes (32 + len(Data)); 0 = no more records
//	     4    4 crc      CRC-32C (Castagnoli) of bytes [0,4) and [8,length)
//	     8    8 term
//	    16    8 index
//	    24    1 type     opaque to the log (raft's entry type)
//	    25    3 reserved zero
//	    28    4 batch    records appended before this one since the log was last durable
//	    32    n payload  Data
//	  32+n  0-7 zero padding to a multiple of 8
//
// The CRC covers every byte of the record but itself, the length included,
// so a torn or damaged record cannot pass for a different valid one; a
// length is checked against the space left in the segment before anything
// it claims is read. An empty entry still has a nonzero length (32), so a
// zero length marks the end of the records: the unused rest of a segment is
// zeros, from preallocation. Where the log was cut on purpose (TruncateSuffix,
// or repair on open) the zero length carries the cut mark 0x21747563
// ("cut!") in the crc field, written and synced before the bytes after it
// are zeroed, so that a crash in between cannot make the leftovers look
// like damage.
//
// # Recovery
//
// Open reads every record of every segment, checking its CRC, to rebuild an
// in-memory table of record offsets, which makes Term and Entry O(1). The
// segments are read in parallel, on as many cores as the process may use,
// and judged in log order afterwards, so the error names the first damage
// and nothing is repaired in a log that is refused. About 300 MB of
// 256-byte entries (1,000,000) open in 100-250 ms on the development
// machine (BenchmarkOpen). A segment before the last
// was synced before the log moved on, so any bad record in it (checksum,
// length, an index that does not follow) or a gap between segments is
// corruption: Open returns an error wrapping ErrCorrupt that names the file
// and byte offset, and the node refuses to start.
//
// In the last segment a bad record may be a write torn by a crash. Only the
// batch appended since the last successful Sync can be torn, and a crash
// leaves some of its sectors unwritten, reading as zeros. Every record says
// where its batch began (its index minus its batch field), so the valid
// records found after a bad one tell whether it had already been synced. A
// bad record is taken for a torn write, and the segment is cut there (the
// cut mark synced first, then the rest zeroed and synced), when:
//
//   - no valid record follows it in the segment, or
//   - every valid record after it belongs to its own batch, and it has a
//     checksum error and a sector's worth of zeros (a lost 512-byte sector).
//
// A zero length without the cut mark ends the records the same way, unless
// records of a later batch follow it. Anything else — a damaged record or a
// zeroed header followed by records appended after it was synced, or damage
// without the hole a lost sector leaves — is corruption.
//
// # Compaction and Reset
//
// TruncatePrefix deletes whole segment files from the oldest, below a
// snapshot; Open then finds the log starting at its first segment's first
// index. Reset deletes every segment, newest first with a directory sync
// after each, for a snapshot received from the leader that replaces the
// whole log: a crash part way leaves a shorter prefix, never a gap, and
// Open of a log Reset to next finds it empty and starting at 1, since the
// index is not written anywhere: the Raft runtime knows it from its
// snapshot and calls Reset again.
//
// Limits: nothing shows whether the last batch's Sync completed, so damage
// in the last batch that looks like a lost sector (including a zeroed
// header) is taken for a torn write and that batch is dropped from the
// damaged record on, as etcd's WAL does.
package segmentlog
