package inventory

import (
	"strings"

	"github.com/orderflow/orderflow/internal/errcode"
)

// invalid builds the validation error every decision returns, naming the
// field so the API can point at it.
func invalid(field, msg string) error {
	return errcode.New(errcode.InvalidOrderData, "%s", msg).With("field", field)
}

func blank(s string) bool { return strings.TrimSpace(s) == "" }
