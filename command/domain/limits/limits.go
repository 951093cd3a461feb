// Package limits states how large every input of orderflow may be and
// checks values against those bounds. The aggregates of the three contexts
// (ordering, inventory, payments) call it whenever they decide, so every
// port (GraphQL, REST, the command bus) gets the same bounds from this one
// place; the GraphQL schema repeats them in its descriptions for clients.
//
// The bounds serve three ends. A request no person would send (a 1 MB
// street, a line of two billion units) is refused rather than recorded.
// Every event stays far below what Kafka carries (messages.MaxEventBytes):
// an order with every field at its limit, in the characters JSON escapes
// widest, is well under 256 KiB. And every number stays within the type it
// is stored and served as after the operation: stock counts within a
// GraphQL Int and the read models' Elasticsearch integer (32 bits), money
// within int64 minor units.
//
// Lengths count characters (Unicode code points), not bytes, so a name in
// any script gets the same room. A refusal is INVALID_ORDER_DATA whose
// message names the field and the bound; Details carries them as "field"
// and "limit".
package limits

import (
	"math"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/internal/money"
)

// Lengths of text fields, in characters.
const (
	// MaxIDLength bounds the ids a client names (product, customer,
	// order); orderflow's own ids are 36-character UUIDs.
	MaxIDLength = 64
	// MaxIdempotencyKeyLength bounds a placement's idempotency key.
	MaxIdempotencyKeyLength = 200
	// MaxSKULength bounds a product's stock keeping unit.
	MaxSKULength = 64
	// MaxProductNameLength bounds a product's display name.
	MaxProductNameLength = 200
	// MaxCustomerNameLength bounds a customer's name.
	MaxCustomerNameLength = 200
	// MaxEmailLength is the longest address SMTP can deliver to (RFC 5321).
	MaxEmailLength = 254
	// MaxStreetLength bounds an address's street line.
	MaxStreetLength = 200
	// MaxCityLength bounds an address's city.
	MaxCityLength = 100
	// MaxStateLength bounds an address's state or region.
	MaxStateLength = 100
	// MaxZipLength bounds an address's postal code.
	MaxZipLength = 20
	// MaxCountryLength bounds an address's country.
	MaxCountryLength = 100
	// MaxPaymentTypeLength bounds a payment method's type ("card").
	MaxPaymentTypeLength = 32
	// MaxPaymentTokenLength bounds a payment method's token.
	MaxPaymentTokenLength = 200
	// MaxReasonLength bounds a cancellation's reason.
	MaxReasonLength = 500
)

// Bounds of counts and amounts.
const (
	// MaxOrderLines is the most lines one order may have. Each product
	// appears on one line at most.
	MaxOrderLines = 50
	// MaxLineQuantity is the most units of one product one order may ask
	// for.
	MaxLineQuantity = 10_000
	// MaxStock bounds a product's initial stock and its lifetime stock
	// (initial stock plus every restock): on-hand, reserved, available and
	// committed units never exceed it, so each fits a GraphQL Int and the
	// read model's integer fields.
	MaxStock = math.MaxInt32
	// MaxAmount bounds every single amount: a price, an initial credit,
	// funds added at once and an order's total (1,000,000,000.00).
	MaxAmount money.Amount = 1_000_000_000_00
	// MaxBalance bounds the money an account has ever received (balance,
	// held and captured together: 10,000,000,000,000.00). That keeps each
	// of them below 2^53 minor units, exact even for a client that reads
	// stored numbers as float64, and far inside int64.
	MaxBalance money.Amount = 10_000_000_000_000_00
)

// Invalid is the refusal of a value outside its bound: INVALID_ORDER_DATA
// naming field, with the bound as Details["limit"].
func Invalid(field string, limit any, format string, args ...any) error {
	return errcode.New(errcode.InvalidOrderData, format, args...).With("field", field).With("limit", limit)
}

// RequiredText checks a text field that must be given: not empty and not
// only white space, otherwise as Text.
func RequiredText(field, value string, maxLen int) error {
	if strings.TrimSpace(value) == "" {
		return errcode.New(errcode.InvalidOrderData, "%s is required", field).With("field", field)
	}
	return Text(field, value, maxLen)
}

// Text checks an optional text field. The empty string passes; anything
// else must be valid UTF-8, hold something besides white space, contain no
// control characters (line breaks and tabs included: every field is one
// line) and have at most maxLen characters.
func Text(field, value string, maxLen int) error {
	if value == "" {
		return nil
	}
	// A string longer than maxLen in the widest encoding is too long
	// whatever it holds: refuse it without reading it all.
	if len(value) > utf8.UTFMax*maxLen {
		return tooLong(field, len(value), maxLen, "bytes")
	}
	if !utf8.ValidString(value) {
		return errcode.New(errcode.InvalidOrderData, "%s is not valid UTF-8", field).With("field", field)
	}
	if n := utf8.RuneCountInString(value); n > maxLen {
		return tooLong(field, n, maxLen, "characters")
	}
	if strings.TrimSpace(value) == "" {
		return errcode.New(errcode.InvalidOrderData, "%s must not be only white space", field).With("field", field)
	}
	for _, r := range value {
		if unicode.IsControl(r) {
			return errcode.New(errcode.InvalidOrderData, "%s must not contain control characters, found %U", field, r).With("field", field)
		}
	}
	return nil
}

func tooLong(field string, n, maxLen int, unit string) error {
	return Invalid(field, maxLen, "%s has %d %s, at most %d characters are allowed", field, n, unit, maxLen)
}

// Email checks a required email address: text of at most MaxEmailLength
// characters, of the form local@domain, without white space.
func Email(field, value string) error {
	if err := RequiredText(field, value, MaxEmailLength); err != nil {
		return err
	}
	at := strings.LastIndexByte(value, '@')
	if at <= 0 || at == len(value)-1 || strings.IndexFunc(value, unicode.IsSpace) >= 0 {
		return errcode.New(errcode.InvalidOrderData, "%s must be an address of the form name@domain", field).With("field", field)
	}
	return nil
}

// Count checks that n lies within [lowest, highest].
func Count(field string, n, lowest, highest int) error {
	switch {
	case n < lowest:
		return Invalid(field, lowest, "%s must be at least %d, got %d", field, lowest, n)
	case n > highest:
		return Invalid(field, highest, "%s must be at most %d, got %d", field, highest, n)
	}
	return nil
}

// Amount checks that a lies within [lowest, highest].
func Amount(field string, a, lowest, highest money.Amount) error {
	switch {
	case a < lowest:
		return Invalid(field, lowest.String(), "%s must be at least %s, got %s", field, lowest, a)
	case a > highest:
		return Invalid(field, highest.String(), "%s must be at most %s, got %s", field, highest, a)
	}
	return nil
}
