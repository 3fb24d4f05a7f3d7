// Package pb holds easykv's wire schema (kv_raft.proto) and the Go code
// protoc-gen-go generates from it. Run `make proto` after editing the schema;
// `make test` fails when the committed code is stale.
package pb
