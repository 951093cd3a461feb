// Package money represents amounts as whole minor units (cents) so that
// totals, holds and balances add up exactly; floating point never touches a
// price.
package money

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// DefaultCurrency is the only currency the catalog prices in. Amount carries
// no currency of its own; messages that need one name it next to the amount.
const DefaultCurrency = "USD"

// Amount is a signed number of minor units (cents for USD). It marshals to
// JSON as a plain integer, so stored events never depend on decimal parsing.
type Amount int64

var (
	// ErrSyntax reports a string that is not a decimal amount with at most
	// two fraction digits.
	ErrSyntax = errors.New("money: invalid amount")
	// ErrOverflow reports an amount or a result outside the int64 range of
	// minor units.
	ErrOverflow = errors.New("money: amount out of range")
)

// Parse reads a decimal amount in major units: "29.99", "5", "0.5", "-1.20",
// "+3". It accepts an optional sign and rejects everything else: spaces,
// exponents, a missing integer part (".5"), a dangling point ("5."), more
// than two fraction digits and values that do not fit. Sign checks belong to
// the caller, which knows whether a negative amount makes sense. Errors
// quote at most the first 40 characters of s, so a huge input is never
// echoed back whole.
func Parse(s string) (Amount, error) {
	neg := false
	rest := s
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		neg = rest[0] == '-'
		rest = rest[1:]
	}

	intPart, fracPart := rest, ""
	for i := 0; i < len(rest); i++ {
		if rest[i] == '.' {
			intPart, fracPart = rest[:i], rest[i+1:]
			if fracPart == "" {
				return 0, fmt.Errorf("parse %.40q: %w", s, ErrSyntax)
			}
			break
		}
	}
	if intPart == "" || len(fracPart) > 2 || !digits(intPart) || !digits(fracPart) {
		return 0, fmt.Errorf("parse %.40q: %w", s, ErrSyntax)
	}

	// Build the magnitude in uint64 so the most negative amount, whose
	// magnitude is one more than the largest positive one, still parses.
	major, err := strconv.ParseUint(intPart, 10, 64)
	if err != nil || major > math.MaxUint64/100 {
		return 0, fmt.Errorf("parse %.40q: %w", s, ErrOverflow)
	}
	var minor uint64
	if fracPart != "" {
		minor, _ = strconv.ParseUint(fracPart, 10, 64)
		if len(fracPart) == 1 {
			minor *= 10
		}
	}
	mag := major*100 + minor

	limit := uint64(math.MaxInt64)
	if neg {
		limit++
	}
	if mag < major*100 || mag > limit {
		return 0, fmt.Errorf("parse %.40q: %w", s, ErrOverflow)
	}
	if neg {
		return Amount(-mag), nil // wraps to MinInt64 for the largest magnitude
	}
	return Amount(mag), nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats a in major units with exactly two fraction digits
// ("29.99", "0.05", "-1.20"), the form Parse reads back unchanged.
func (a Amount) String() string {
	sign := ""
	mag := uint64(a)
	if a < 0 {
		sign = "-"
		mag = -mag // two's complement: correct even for MinInt64
	}
	return fmt.Sprintf("%s%d.%02d", sign, mag/100, mag%100)
}

// Add returns a+b, or ErrOverflow instead of silently wrapping around.
func (a Amount) Add(b Amount) (Amount, error) {
	sum := a + b
	if (b > 0 && sum < a) || (b < 0 && sum > a) {
		return 0, fmt.Errorf("add %s and %s: %w", a, b, ErrOverflow)
	}
	return sum, nil
}

// Sub returns a-b, or ErrOverflow instead of silently wrapping around.
func (a Amount) Sub(b Amount) (Amount, error) {
	diff := a - b
	if (b > 0 && diff > a) || (b < 0 && diff < a) {
		return 0, fmt.Errorf("subtract %s from %s: %w", b, a, ErrOverflow)
	}
	return diff, nil
}

// Mul returns a*n, typically a unit price times a quantity, or ErrOverflow.
func (a Amount) Mul(n int64) (Amount, error) {
	if a == 0 || n == 0 {
		return 0, nil
	}
	p := a * Amount(n)
	if p/Amount(n) != a || (a == -1 && n == math.MinInt64) || (n == -1 && a == math.MinInt64) {
		return 0, fmt.Errorf("multiply %s by %d: %w", a, n, ErrOverflow)
	}
	return p, nil
}
