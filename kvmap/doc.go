// Package kvmap will be easykv's state machine: it applies committed put and
// delete commands in log order, deterministically, keeps per-client sessions
// so a retried write applies once, and snapshots itself.
//
// It is empty until log replication lands; the directory holds its place in
// the layout DESIGN.md describes.
package kvmap
