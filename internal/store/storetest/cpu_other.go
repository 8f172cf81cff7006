//go:build !unix

package storetest

import "time"

// processCPU reports 0: the CPU time is measured on unix systems only.
func processCPU() time.Duration { return 0 }
