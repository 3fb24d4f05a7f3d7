package kvmap_test

import (
	"fmt"

	"github.com/easykv/easykv/kvmap"
)

// A client's write is applied once even when the log holds it twice, as
// happens when the client retried after a leader change.
func ExampleMap_Apply() {
	m := kvmap.New(kvmap.Options{})
	write := kvmap.Command{Op: kvmap.OpPut, Key: "user:1", Value: "alice", ClientID: 7, Seq: 1}
	fmt.Println(write)

	fmt.Printf("%+v\n", m.Apply(1, write.Encode()))
	fmt.Printf("%+v\n", m.Apply(2, kvmap.Command{Op: kvmap.OpPut, Key: "user:1", Value: "bob"}.Encode()))
	fmt.Printf("%+v\n", m.Apply(3, write.Encode())) // the retry
	v, _ := m.Get("user:1")
	fmt.Println(v, m.AppliedIndex())
	// Output:
	// PUT user:1 alice
	// {Existed:false Duplicate:false Stale:false Err:<nil>}
	// {Existed:true Duplicate:false Stale:false Err:<nil>}
	// {Existed:false Duplicate:true Stale:false Err:<nil>}
	// bob 3
}
