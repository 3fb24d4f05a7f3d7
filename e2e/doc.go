// Package e2e holds end-to-end tests that run real easykv-node processes on
// loopback ports and drive them through the netlink client, the easykv-ctl
// binary and the easykv-tui dashboard: elections, pause and resume,
// replicated writes, kill -9 and restart, a corrupt log, hostile input,
// authentication, signals and bad configuration.
//
// The dashboard runs as the real binary in a pseudo-terminal
// (github.com/creack/pty) driven from Go; its screen is read cell by cell,
// characters and colours, through a terminal emulator
// (github.com/charmbracelet/x/vt). See terminal_test.go. Nothing but Go is
// needed: no tmux.
//
// TestMain builds the binaries once (with -race when the tests run with
// -race, so data races inside the node fail its exit status). Each test
// starts its own cluster in t.TempDir(); node logs are dumped when it fails.
//
//	go test ./e2e/ -run TestPauseLeaderElectsNewOne -v
//
// TestChaos runs only when CHAOS_DURATION is set (`make test` sets 60s,
// `make chaos` 10m): five nodes, ten clients and a fault every few seconds,
// checked for linearizability with porcupine. CHAOS_SEED replays a run;
// CHAOS_OUT (default chaos-out/) receives the HTML visualization, the fault
// timeline and the node logs of a failed run.
//
// -short skips the tests that start processes.
package e2e
