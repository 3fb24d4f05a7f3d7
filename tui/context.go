package tui

import "time"

// programContext is what every component needs to draw itself: the screen
// size, the styles and the time of the frame. The model owns it and updates
// it; components only read it.
type programContext struct {
	// width and height are the terminal's size in cells.
	width, height int
	// styles are built once, in New.
	styles Styles
	// now is the injected clock's reading at the latest Update; every
	// countdown on screen is measured against it, so a frame is consistent.
	now time.Time
	// quorum is how many votes win an election in this cluster.
	quorum int
	// ids are the cluster's node ids, in the cluster file's order, for the
	// vote tallies.
	ids []string
}

const (
	// defaultWidth and defaultHeight are used until the terminal reports
	// its size.
	defaultWidth  = 80
	defaultHeight = 24
)
