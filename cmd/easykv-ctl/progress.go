package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/x/term"
)

// progressEvery is how often the progress bar is redrawn: often enough to
// look alive, rarely enough to cost nothing.
const progressEvery = 100 * time.Millisecond

// progressWidth is the bar's width in cells.
const progressWidth = 30

// isTerminal reports whether w is a terminal; only then is a progress bar
// drawn, so logs and pipes get none of its carriage returns.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(f.Fd())
}

// startProgress redraws a bar of done out of total on stderr every
// progressEvery, when a.progress is set. The returned stop erases the bar
// and returns once nothing more will be drawn.
func (a *app) startProgress(total int64, done *atomic.Int64) (stop func()) {
	if !a.progress {
		return func() {}
	}
	quit := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		start := time.Now()
		for {
			select {
			case <-quit:
				fmt.Fprint(a.stderr, "\r\x1b[K")
				return
			case <-t.C:
				fmt.Fprint(a.stderr, progressLine(done.Load(), total, time.Since(start)))
			}
		}
	}()
	return func() {
		close(quit)
		<-finished
	}
}

// progressLine is one frame of the bar, drawn over the previous one.
func progressLine(done, total int64, elapsed time.Duration) string {
	done = min(max(done, 0), total)
	filled := int(done * progressWidth / max(total, 1))
	rate := 0.0
	if elapsed > 0 {
		rate = float64(done) / elapsed.Seconds()
	}
	return fmt.Sprintf("\r[%s%s] %3d%% %d/%d ops  %.0f ops/s\x1b[K",
		strings.Repeat("#", filled), strings.Repeat(".", progressWidth-filled),
		done*100/max(total, 1), done, total, rate)
}
