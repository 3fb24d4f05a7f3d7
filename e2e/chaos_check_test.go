package e2e

import (
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"time"

	"github.com/anishathalye/porcupine"
)

// chaosInput is the input of one operation in the porcupine history.
type chaosInput struct {
	kind  chaosOpKind // get, put or delete
	key   string      // the register operated on
	value string      // put: the value written
}

// chaosOutput is the output of one operation in the porcupine history.
type chaosOutput struct {
	value     string // get: what it read, encoded as a model state (chaosState)
	uncertain bool   // write: the client never learned whether it happened
}

// chaosFoundEmpty is the model state a read reports when the node says the
// key exists but holds "". No write produces it (every put writes a
// non-empty unique value), so such a read can never be explained.
const chaosFoundEmpty = "\x00found-but-empty"

// chaosState encodes what a read saw as a model state: the value, or ""
// for an absent key, which is also every register's initial state.
func chaosState(value string, found bool) string {
	switch {
	case !found:
		return ""
	case value == "":
		return chaosFoundEmpty
	default:
		return value
	}
}

// chaosModel is a register per key: Partition splits the history by key
// (a key-value store is linearizable iff each key is), and the per-key
// state is the key's value, "" while absent.
var chaosModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			key := op.Input.(chaosInput).key
			byKey[key] = append(byKey[key], op)
		}
		var parts [][]porcupine.Operation
		for _, key := range slices.Sorted(maps.Keys(byKey)) {
			parts = append(parts, byKey[key])
		}
		return parts
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(chaosInput)
		switch in.kind {
		case chaosPut:
			return true, in.value
		case chaosDelete:
			return true, ""
		default:
			return output.(chaosOutput).value == state.(string), state
		}
	},
	Hash: func(state any) uint64 {
		h := fnv.New64a()
		h.Write([]byte(state.(string)))
		return h.Sum64()
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(chaosInput), output.(chaosOutput)
		var s string
		switch in.kind {
		case chaosPut:
			s = fmt.Sprintf("put(%s, %s)", in.key, in.value)
		case chaosDelete:
			s = fmt.Sprintf("delete(%s)", in.key)
		default:
			return fmt.Sprintf("get(%s) -> %s", in.key, describeChaosState(out.value))
		}
		if out.uncertain {
			s += " ?"
		}
		return s
	},
	DescribeState: func(state any) string { return describeChaosState(state.(string)) },
}

func describeChaosState(s string) string {
	switch s {
	case "":
		return "(absent)"
	case chaosFoundEmpty:
		return `(found, "")`
	default:
		return s
	}
}

// chaosCheckInput is a recorded history turned into porcupine operations.
type chaosCheckInput struct {
	ops           []porcupine.Operation // what porcupine checks
	end           int64                 // after every recorded return: "never returned"
	keptUncertain int                   // uncertain writes in ops
	prunedUnseen  int                   // uncertain puts left out: nobody read their value
}

// chaosOperations turns recorded operations into a porcupine history.
//
// Acknowledged writes and answered reads keep their call and return
// times. Failed reads and writes that certainly did not happen are left
// out. A write whose outcome is uncertain may take effect at any time
// after its call, so it never returns: its return time is the end of the
// history, after every other operation.
//
// Two rewrites make the search cheap without changing the verdict, as
// etcd's robustness tests do; both rest on every put writing a value no
// other put writes. An uncertain put whose value no read returned is left
// out: in any linearization it can be moved to the very end, where it
// changes nothing observed, and without it the rest stays legal. An
// uncertain put whose value a read returned must take effect before that
// read returns, so its return time becomes the earliest such read's (or
// stays the end when that read returned before the put was even called,
// which porcupine then reports as illegal).
func chaosOperations(recorded []chaosOp) chaosCheckInput {
	var in chaosCheckInput
	seen := map[string]int64{} // value → earliest return of a read that saw it
	for _, op := range recorded {
		in.end = max(in.end, op.ret+1)
		if op.kind == chaosGet && op.outcome == chaosOK && op.found {
			if t, ok := seen[op.value]; !ok || op.ret < t {
				seen[op.value] = op.ret
			}
		}
	}
	for _, op := range recorded {
		if op.outcome == chaosFailed {
			continue
		}
		ret := op.ret
		if op.outcome == chaosUncertain {
			ret = in.end
			if op.kind == chaosPut {
				t, ok := seen[op.value]
				if !ok {
					in.prunedUnseen++
					continue
				}
				if t >= op.call {
					ret = t
				}
			}
			in.keptUncertain++
		}
		in.ops = append(in.ops, porcupine.Operation{
			ClientId: op.client,
			Input:    chaosInput{kind: op.kind, key: op.key, value: op.value},
			Call:     op.call,
			Output:   chaosOutput{value: chaosState(op.value, op.found), uncertain: op.outcome == chaosUncertain},
			Return:   ret,
		})
	}
	return in
}

// chaosCheck is the verdict on one history.
type chaosCheck struct {
	chaosCheckInput
	result  porcupine.CheckResult       // Ok, Illegal, or Unknown when it ran out of time
	info    porcupine.LinearizationInfo // for the visualization; only for a failed check
	elapsed time.Duration               // how long porcupine took
}

// checkChaosHistory runs porcupine over the recorded operations; a check
// that takes longer than timeout is Unknown. Only a history that fails is
// checked again, verbosely, for the visualization: keeping partial
// linearizations slows the search, and a passing check needs none.
func checkChaosHistory(recorded []chaosOp, timeout time.Duration) chaosCheck {
	c := chaosCheck{chaosCheckInput: chaosOperations(recorded)}
	start := time.Now()
	c.result = porcupine.CheckOperationsTimeout(chaosModel, c.ops, timeout)
	c.elapsed = time.Since(start)
	if c.result != porcupine.Ok {
		_, c.info = porcupine.CheckOperationsVerbose(chaosModel, c.ops, timeout)
	}
	return c
}
