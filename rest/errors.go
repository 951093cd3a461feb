package rest

import (
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
)

const internalMessage = "internal error"

// RetryAfterSeconds is the Retry-After of a retryable refusal (503): at
// capacity, or a read model a moment behind.
const RetryAfterSeconds = "1"

// errorEnvelope is the one error shape of the REST API:
// {"error": {code, message, details, timestamp, request_id}}.
type errorEnvelope struct {
	Error errorBody `json:"error"`
}

type errorBody struct {
	// Code is one of errcode.Codes, the same as GraphQL's
	// extensions.code.
	Code    errcode.Code   `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details"`
	// Timestamp is when the error was answered (UTC).
	Timestamp time.Time `json:"timestamp"`
	RequestID string    `json:"request_id"`
}

// statusOf maps a contract code to its HTTP status. INVALID_ORDER_DATA is
// 400 here: the request itself is malformed; a well-formed order the
// domain refuses is answered 422 by the placement (see placeOrder). The
// saga outcomes never come back from a request synchronously; they are
// mapped for completeness.
func statusOf(code errcode.Code) int {
	switch code {
	case errcode.InvalidOrderData:
		return http.StatusBadRequest
	case errcode.Unauthenticated:
		return http.StatusUnauthorized
	case errcode.Forbidden:
		return http.StatusForbidden
	case errcode.NotFound:
		return http.StatusNotFound
	case errcode.Conflict:
		return http.StatusConflict
	case errcode.InventoryUnavailable, errcode.PaymentFailed:
		return http.StatusUnprocessableEntity
	case errcode.SagaTimeout:
		return http.StatusGatewayTimeout
	default:
		return http.StatusInternalServerError
	}
}

// writeError answers err: coded errors with their code, message and
// details; anything else as INTERNAL, logged with the request id and
// answered without details.
func (s *server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	s.writeErrorStatus(w, r, 0, err)
}

// writeErrorStatus is writeError with an explicit status (0: the code's).
// A retryable refusal is always 503 with Retry-After.
func (s *server) writeErrorStatus(w http.ResponseWriter, r *http.Request, status int, err error) {
	id := requestID(r.Context())
	body := errorBody{Code: errcode.Of(err), Details: map[string]any{}, RequestID: id}
	var coded *errcode.Error
	retryable := errcode.IsRetryable(err)
	if retryable {
		// A deliberate refusal (at capacity, read model behind): nothing
		// was recorded, the client may retry.
		status = http.StatusServiceUnavailable
		w.Header().Set("Retry-After", RetryAfterSeconds)
	}
	if (body.Code != errcode.Internal || retryable) && errors.As(err, &coded) {
		body.Message = coded.Message
		for k, v := range coded.Details {
			body.Details[k] = v
		}
	} else {
		body.Code = errcode.Internal
		body.Message = internalMessage
		s.logger.ErrorContext(r.Context(), "rest request failed",
			"request_id", id, "method", r.Method, "path", r.URL.Path, "error", err.Error())
	}
	if body.Code == errcode.Unauthenticated {
		var tokenErr *errcode.Error
		if errors.As(auth.TokenError(r.Context()), &tokenErr) {
			body.Message = tokenErr.Message
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="orderflow"`)
	}
	if status == 0 {
		status = statusOf(body.Code)
	}
	writeErrorBody(w, status, body)
}

// writeErrorBody stamps body with the time and writes its envelope.
func writeErrorBody(w http.ResponseWriter, status int, body errorBody) {
	body.Timestamp = time.Now().UTC()
	writeJSON(w, status, errorEnvelope{Error: body})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
