package main

import (
	"os"
	"runtime/debug"
)

// defaultGCPercent is the garbage collector's target when GOGC is not set.
// A process's live heap is small (tens of MiB: caches, connections,
// batches in flight) and short-lived garbage is most of what it allocates
// (decoded events, GraphQL documents, Kafka batches), so Go's default of
// 100 collects often for little: about 7% of orderflow's CPU under load
// went to marking. 400 trades a few more MiB of heap for a quarter of the
// collections. GOGC, and GOMEMLIMIT for a container with a memory limit,
// still decide when they are set.
const defaultGCPercent = 400

func tuneGC() {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(defaultGCPercent)
	}
}
