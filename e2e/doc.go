// Package e2e holds end-to-end tests that run real easykv-node processes on
// loopback ports and drive them through the netlink client and the
// easykv-ctl binary: elections, pause and resume, kill -9 and restart,
// signals and bad configuration.
//
// TestMain builds both binaries once (with -race when the tests run with
// -race, so data races inside the node fail its exit status). Each test
// starts its own cluster in t.TempDir(); node logs are dumped when it fails.
//
//	go test ./e2e/ -run TestPauseLeaderElectsNewOne -v
//
// -short skips the package.
package e2e
