// Package deadletter decides what happens to a message a consumer cannot
// handle, in one place for every consumer (the command handlers, the order
// saga, the projectors): its error class, the retry levels it goes
// through, and the PostgreSQL store where it is parked, dead-lettered,
// replayed or discarded, with every later message of its aggregate parked
// behind it, in order.
package deadletter

import (
	"errors"
	"fmt"
)

// Class is what kind of failure an error is; it decides where the message
// goes (see ClassOf).
type Class string

// The error classes.
const (
	// Transient failures may pass: a short retry in place, then the retry
	// levels, then the dead letters. Any error not marked otherwise.
	Transient Class = "transient"
	// Permanent failures can never pass as the message is (an undecodable
	// payload, an unknown message type): dead-lettered at once.
	Permanent Class = "permanent"
	// Unavailable means a dependency is known to be down (its circuit
	// breaker is open): the consumer pauses on the message and probes
	// again, instead of parking one copy of the outage per message.
	Unavailable Class = "unavailable"
	// Waiting is not a failure of the message itself: an earlier message
	// of its aggregate is parked or dead, and it waits behind it.
	Waiting Class = "waiting"
)

// Domain refusals (stock out, payment declined) are not errors at all:
// handlers record them as outcomes and return nil, and the saga
// compensates. A handler never returns one as an error.

// classified is an error carrying its class.
type classified struct {
	class Class
	err   error
}

func (e *classified) Error() string { return e.err.Error() }
func (e *classified) Unwrap() error { return e.err }

// PermanentError marks err as permanent: its message is dead-lettered at
// once, without retries.
func PermanentError(err error) error {
	if err == nil {
		return nil
	}
	return &classified{class: Permanent, err: err}
}

// Permanentf is PermanentError of a formatted error.
func Permanentf(format string, args ...any) error {
	return PermanentError(fmt.Errorf(format, args...))
}

// UnavailableError marks err as the failure of a dependency that is down
// (an open circuit breaker): the consumer waits and tries again in place.
func UnavailableError(err error) error {
	if err == nil {
		return nil
	}
	return &classified{class: Unavailable, err: err}
}

// ClassOf is the class of err: the one it was marked with (the outermost
// mark wins), else Transient.
func ClassOf(err error) Class {
	var c *classified
	if errors.As(err, &c) {
		return c.class
	}
	return Transient
}
