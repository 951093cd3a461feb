// Package errcode gives every error that can reach a user or a saga a stable,
// machine-readable code. Codes, not messages, are what the GraphQL layer maps
// to error extensions and what the saga records when it ends an order, so they
// must survive wrapping and never change spelling.
package errcode

import (
	"errors"
	"fmt"
	"maps"
)

// Code classifies an error. The string values are part of the public API
// (GraphQL extensions, stored OrderCancelled/OrderFailed events), so they are
// never renamed.
type Code string

// The complete set of codes. The first five are the saga outcomes named in the
// design; the rest classify request and infrastructure failures.
const (
	// InvalidOrderData marks input that can never succeed as sent. The set
	// has no generic "invalid argument" code, so every validation failure
	// (orders, products, customers) uses this one and names the offending
	// field in Details["field"].
	InvalidOrderData Code = "INVALID_ORDER_DATA"
	// InventoryUnavailable ends an order whose stock could not be reserved.
	InventoryUnavailable Code = "INVENTORY_UNAVAILABLE"
	// PaymentFailed ends an order whose payment could not be authorized.
	PaymentFailed Code = "PAYMENT_FAILED"
	// SagaTimeout ends an order whose saga missed a deadline.
	SagaTimeout Code = "SAGA_TIMEOUT"
	// CompensationFailed ends an order whose compensation could not finish,
	// which needs an operator.
	CompensationFailed Code = "COMPENSATION_FAILED"
	// NotFound reports a missing aggregate or document.
	NotFound Code = "NOT_FOUND"
	// Conflict reports a request that contradicts the current state, such as
	// confirming a cancelled order or placing the same order twice.
	Conflict Code = "CONFLICT"
	// Unauthenticated reports a caller without valid credentials.
	Unauthenticated Code = "UNAUTHENTICATED"
	// Forbidden reports an authenticated caller lacking permission.
	Forbidden Code = "FORBIDDEN"
	// Internal is the code of every error that carries no code of its own,
	// so unknown failures are never mistaken for domain refusals.
	Internal Code = "INTERNAL"
)

// Codes lists every defined code, for exhaustive mappings and tests.
func Codes() []Code {
	return []Code{
		InvalidOrderData, InventoryUnavailable, PaymentFailed, SagaTimeout,
		CompensationFailed, NotFound, Conflict, Unauthenticated, Forbidden, Internal,
	}
}

// Valid reports whether c is one of the defined codes, so values decoded
// from storage or the wire can be checked before they are trusted.
func (c Code) Valid() bool {
	for _, known := range Codes() {
		if c == known {
			return true
		}
	}
	return false
}

// String returns the code's wire spelling.
func (c Code) String() string { return string(c) }

// Error is an error with a code. Message is meant for humans (it may be shown
// to API clients); Details carries structured context such as the invalid
// field. It may wrap a cause, reachable through errors.Is and errors.As.
type Error struct {
	Code    Code
	Message string
	Details map[string]any

	// cause is the fmt error built by New when the format used %w; keeping
	// it makes wrapped sentinels visible to errors.Is.
	cause error
}

// New builds an Error with a formatted message. A %w verb in format wraps
// its argument, exactly as with fmt.Errorf, and the wrapped error's text
// becomes part of Message.
func New(code Code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	e := &Error{Code: code, Message: err.Error()}
	switch err.(type) {
	case interface{ Unwrap() error }, interface{ Unwrap() []error }:
		e.cause = err
	}
	return e
}

// Error implements error as "CODE: message".
func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Message
}

// Unwrap exposes the error wrapped through %w in New, if any.
func (e *Error) Unwrap() error { return e.cause }

// With returns a copy of e with one more detail, leaving e untouched so a
// shared error value can never be modified by accident.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Details = maps.Clone(e.Details)
	if c.Details == nil {
		c.Details = make(map[string]any, 1)
	}
	c.Details[key] = value
	return &c
}

// RetryableDetail marks a refusal the caller may simply retry later
// (orderflow at capacity): nothing was recorded. It reaches clients as
// extensions.retryable (GraphQL) or details.retryable (REST).
const RetryableDetail = "retryable"

// Retryable returns a copy of e marked retryable.
func (e *Error) Retryable() *Error { return e.With(RetryableDetail, true) }

// IsRetryable reports whether err's chain holds an *Error marked
// retryable.
func IsRetryable(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Details[RetryableDetail] == true
}

// Of returns the code of the first *Error in err's chain, Internal when the
// chain holds none, and "" for a nil error.
func Of(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// Is reports whether err carries the given code, the usual check in handlers
// deciding between retry, dead-letter and refusal.
func Is(err error, code Code) bool {
	return err != nil && Of(err) == code
}
