package testkit

import (
	"fmt"
	"net"
)

// FreePorts asks the OS for n distinct free loopback ports. They are free
// only until someone else takes them: a caller that starts servers on
// them must expect a bind to fail and say so, or retry.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		// Held open until all are picked, so that the ports are distinct.
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}
