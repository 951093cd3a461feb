package console

import "net/http"

// session checks a token the operator pasted (in the Authorization header,
// as every later request sends it) with an admin-only query: the console
// keeps the token only if the API would show it orders. 204 when it
// would; otherwise the refusal, with its code.
func (c *Console) session(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") == "" {
		c.fragment(w, "action-result", actionResult{Error: &APIError{Code: "UNAUTHENTICATED", Message: "paste a token first"}})
		return
	}
	if err := c.query(r, `query ConsoleSession { searchOrders(first: 1) { total } }`, nil, nil); err != nil {
		c.fragment(w, "action-result", actionResult{Error: c.asAPIError(err)})
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusNoContent)
}
