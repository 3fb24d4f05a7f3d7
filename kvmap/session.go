package kvmap

// session is what the map remembers about one client: its last applied
// write and when it was last seen.
type session struct {
	id        uint64   // client id, the key in sessionTable.byID
	lastSeq   uint64   // Seq of the client's last applied write
	existed   bool     // Result.Existed of that write, answered again to a retry of it
	lastIndex uint64   // log index at which the client was last seen; expiry counts from here
	prev      *session // neighbour seen earlier, nil for the oldest
	next      *session // neighbour seen later, nil for the newest
}

// sessionTable holds the sessions in a map for lookup and in a list ordered
// by lastIndex for expiry. Log indexes only grow, so a session seen now
// always moves to the newest end, and the sessions to expire are always at
// the oldest end: touching and expiring are both O(1), and what expires
// depends only on the log, never on map iteration order.
type sessionTable struct {
	byID   map[uint64]*session // every live session by client id
	oldest *session            // list head: smallest lastIndex
	newest *session            // list tail: largest lastIndex
}

func newSessionTable() sessionTable {
	return sessionTable{byID: make(map[uint64]*session)}
}

func (t *sessionTable) get(id uint64) *session { return t.byID[id] }

func (t *sessionTable) len() int { return len(t.byID) }

// add inserts s as the newest session. s.lastIndex must be no smaller than
// that of any session already in the table.
func (t *sessionTable) add(s *session) {
	t.byID[s.id] = s
	t.pushNewest(s)
}

// touch records that s was seen at index, the largest index so far.
func (t *sessionTable) touch(s *session, index uint64) {
	s.lastIndex = index
	if s == t.newest {
		return
	}
	t.unlink(s)
	t.pushNewest(s)
}

// expire forgets every session last seen more than ttl indexes before index.
func (t *sessionTable) expire(index, ttl uint64) {
	for s := t.oldest; s != nil && index-s.lastIndex > ttl; s = t.oldest {
		t.unlink(s)
		delete(t.byID, s.id)
	}
}

func (t *sessionTable) pushNewest(s *session) {
	s.prev, s.next = t.newest, nil
	if t.newest != nil {
		t.newest.next = s
	} else {
		t.oldest = s
	}
	t.newest = s
}

func (t *sessionTable) unlink(s *session) {
	if s.prev != nil {
		s.prev.next = s.next
	} else {
		t.oldest = s.next
	}
	if s.next != nil {
		s.next.prev = s.prev
	} else {
		t.newest = s.prev
	}
	s.prev, s.next = nil, nil
}
