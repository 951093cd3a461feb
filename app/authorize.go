package app

import (
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
)

// requireAdmin refuses anyone but an admin.
func requireAdmin(p auth.Principal) error {
	if p.Subject == "" {
		return errcode.New(errcode.Unauthenticated, "authentication required")
	}
	if !p.IsAdmin() {
		return errcode.New(errcode.Forbidden, "admin role required")
	}
	return nil
}

// requireCustomer lets admins act for anyone and customers for themselves.
func requireCustomer(p auth.Principal, customerID string) error {
	if p.Subject == "" {
		return errcode.New(errcode.Unauthenticated, "authentication required")
	}
	if p.IsAdmin() || p.Subject == customerID {
		return nil
	}
	return errcode.New(errcode.Forbidden, "customer %s may not act for customer %s", p.Subject, customerID)
}
