package e2e

import (
	"fmt"
	"maps"
	"slices"
)

// chaosFinalReport is what checkChaosFinal found.
type chaosFinalReport struct {
	problems []string // one line per key whose final value cannot be right
	lastRule int      // keys the last-write rule applied to
}

// checkChaosFinal checks each key's final read against the writes to it,
// independently of porcupine:
//
//   - a value read must have been written by a put that was acknowledged
//     or uncertain; absent is allowed only if no put was acknowledged or a
//     delete was acknowledged or uncertain;
//   - when the key saw no uncertain write (one would be pending forever,
//     so it could land after anything) and one acknowledged write was
//     called after every other acknowledged write to the key returned,
//     that write is the last in real time and the final read must show it.
//
// recorded holds every operation, final the final read of each key.
func checkChaosFinal(recorded []chaosOp, final map[string]chaosOp) chaosFinalReport {
	byKey := map[string][]chaosOp{}
	for _, op := range recorded {
		if op.kind != chaosGet {
			byKey[op.key] = append(byKey[op.key], op)
		}
	}
	var rep chaosFinalReport
	for _, key := range slices.Sorted(maps.Keys(final)) {
		if p := checkChaosKey(final[key], byKey[key], &rep); p != "" {
			rep.problems = append(rep.problems, fmt.Sprintf("%s: %s", key, p))
		}
	}
	return rep
}

// checkChaosKey checks one key's final read r against its writes and
// describes what is wrong, or returns "".
func checkChaosKey(r chaosOp, writes []chaosOp, rep *chaosFinalReport) string {
	var (
		ackedPut, anyDelete, uncertain bool
		writer, failedWriter           *chaosOp // the put of the value read
	)
	for i := range writes {
		w := &writes[i]
		switch {
		case w.outcome == chaosUncertain:
			uncertain = true
		case w.outcome == chaosOK && w.kind == chaosPut:
			ackedPut = true
		}
		if w.kind == chaosDelete && w.outcome != chaosFailed {
			anyDelete = true
		}
		if w.kind == chaosPut && r.found && w.value == r.value {
			if w.outcome == chaosFailed {
				failedWriter = w
			} else {
				writer = w
			}
		}
	}
	switch {
	case r.found && writer == nil && failedWriter != nil:
		return fmt.Sprintf("final read %q was written only by a put that certainly did not happen: %s", r.value, failedWriter)
	case r.found && writer == nil:
		return fmt.Sprintf("final read %q was never written", r.value)
	case !r.found && ackedPut && !anyDelete:
		return "final read found the key absent, but a put of it was acknowledged and no delete was attempted"
	}
	if uncertain {
		return ""
	}
	last := lastChaosWrite(writes)
	if last == nil {
		return ""
	}
	rep.lastRule++
	want := last.kind == chaosPut
	if r.found != want || (want && r.value != last.value) {
		return fmt.Sprintf("final read %s, but the last write in real time was acknowledged: %s", readValue(r.value, r.found), last)
	}
	return ""
}

// lastChaosWrite is the acknowledged write called after every other
// acknowledged write returned, or nil when the last ones overlap (or there
// is none).
func lastChaosWrite(writes []chaosOp) *chaosOp {
	var last *chaosOp
	for i := range writes {
		if w := &writes[i]; w.outcome == chaosOK && (last == nil || w.call > last.call) {
			last = w
		}
	}
	if last == nil {
		return nil
	}
	for i := range writes {
		if w := &writes[i]; w != last && w.outcome == chaosOK && w.ret >= last.call {
			return nil
		}
	}
	return last
}
