// Package ptyterm runs a program in a pseudo-terminal (github.com/creack/pty)
// and reads its screen through a terminal emulator
// (github.com/charmbracelet/x/vt), in-process, as a terminal window would
// show it: what the e2e tests of the dashboard and benchrun's measurement
// of it share. Start starts the program in a pty of a given size; from then
// on a goroutine feeds everything it writes to the emulator, and another
// sends the emulator's answers to its queries (cursor position, background
// colour) back through the pty, as a real terminal's would. Screen and Line
// read the screen, Wait waits for it to show something, Send types keys,
// and Close stops the program and releases the pty.
//
// It holds no policy of its callers: how long to wait, and whether a
// failure fails a test or is returned, is theirs.
package ptyterm
