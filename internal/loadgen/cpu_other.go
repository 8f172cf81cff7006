//go:build !unix

package loadgen

import "time"

// processCPU reports that this system's CPU time is not measured: only unix
// systems are.
func processCPU() (used time.Duration, ok bool) { return 0, false }
