// Package selfhealing holds the end-to-end tests of orderflow's failure
// handling (issue 13): dependencies failing behind in-test TCP proxies or
// injected faults while orders flow, with the retry levels, dead letters
// and circuit breakers doing their work. It has no code of its own.
package selfhealing
