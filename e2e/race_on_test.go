//go:build race

package e2e

// raceEnabled says the tests run with -race, so the binaries under test are
// built with it too.
const raceEnabled = true
