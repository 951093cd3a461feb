package rest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/errcode"
)

// IdempotencyKeyHeader may carry the idempotency key instead of the body's
// idempotency_key; when both are given they must agree.
const IdempotencyKeyHeader = "Idempotency-Key"

// placeOrder answers 201 with {order, saga_id} and the order's Location.
// A retry with the same key answers the order the first request placed.
// ?wait=5s (at most 30s) makes the checkout synchronous: the answer comes
// once the order is final, or when the wait ends with still_running true.
func (s *server) placeOrder(w http.ResponseWriter, r *http.Request) {
	wait, err := app.ParseFinalWait("wait", r.URL.Query().Get("wait"))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req placeOrderRequest
	if status, err := decodeJSON(w, r, &req); err != nil {
		s.writeErrorStatus(w, r, status, err)
		return
	}
	if key := strings.TrimSpace(r.Header.Get(IdempotencyKeyHeader)); key != "" {
		if body := strings.TrimSpace(req.IdempotencyKey); body != "" && body != key {
			s.writeError(w, r, errcode.New(errcode.InvalidOrderData,
				"the %s header and idempotency_key differ", IdempotencyKeyHeader).With("field", "idempotency_key"))
			return
		}
		req.IdempotencyKey = key
	}
	o, err := s.app.Commands.PlaceOrder.Handle(r.Context(), actor(r), req.command())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var running *bool
	if wait > 0 {
		var final bool
		if o, final, err = s.app.Queries.AwaitFinalOrder.Handle(r.Context(), actor(r), o.ID, wait); err != nil {
			s.writeError(w, r, err)
			return
		}
		running = new(!final)
	}
	w.Header().Set("Location", "/api/v1/orders/"+o.ID)
	// The saga of an order is keyed by the order id.
	writeJSON(w, http.StatusCreated, placeOrderResponse{Order: orderResponse(o), SagaID: o.ID, StillRunning: running})
}

func (s *server) order(w http.ResponseWriter, r *http.Request) {
	o, err := s.app.Queries.Order.Handle(r.Context(), actor(r), r.PathValue("id"), minVersion(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, orderResponse(o))
}

func (s *server) orderStatus(w http.ResponseWriter, r *http.Request) {
	o, err := s.app.Queries.Order.Handle(r.Context(), actor(r), r.PathValue("id"), minVersion(r))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, statusResponse(o))
}

// decodeJSON reads exactly one JSON object of at most MaxBodyBytes into v,
// refusing unknown fields. Failures are INVALID_ORDER_DATA naming the
// field where possible; the status is 413 for an oversized body and 0
// (the code's) otherwise.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) (int, error) {
	if r.ContentLength > MaxBodyBytes {
		return http.StatusRequestEntityTooLarge, tooLarge()
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, next := dec.Token(); next != io.EOF {
			err = errors.New("trailing data after the JSON object")
		}
	}
	var (
		maxErr    *http.MaxBytesError
		typeErr   *json.UnmarshalTypeError
		syntaxErr *json.SyntaxError
	)
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &maxErr):
		return http.StatusRequestEntityTooLarge, tooLarge()
	case errors.Is(err, io.EOF):
		return 0, errcode.New(errcode.InvalidOrderData, "request body is empty: want a JSON object")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "request body"
		}
		return 0, errcode.New(errcode.InvalidOrderData, "%s must be a JSON %s, got %s", field, jsonKind(typeErr.Type), typeErr.Value).
			With("field", field)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return 0, errcode.New(errcode.InvalidOrderData, "request body is not valid JSON: %v", err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return 0, errcode.New(errcode.InvalidOrderData, "unknown field %q", field).With("field", field)
	default:
		return 0, errcode.New(errcode.InvalidOrderData, "request body could not be decoded: %v", err)
	}
}

func tooLarge() error {
	return errcode.New(errcode.InvalidOrderData, "request body exceeds the limit of %d bytes", MaxBodyBytes)
}

// jsonKind names the JSON type a Go type decodes from.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "value"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Bool:
		return "boolean"
	case reflect.String:
		return "string"
	default:
		return "value"
	}
}

// command maps the request onto the application's use case.
func (req placeOrderRequest) command() app.PlaceOrder {
	cmd := app.PlaceOrder{
		CustomerID:      req.CustomerID,
		IdempotencyKey:  req.IdempotencyKey,
		Items:           make([]app.OrderItem, len(req.Items)),
		ShippingAddress: req.ShippingAddress.address(),
		BillingAddress:  req.BillingAddress.address(),
	}
	for i, item := range req.Items {
		cmd.Items[i] = app.OrderItem{ProductID: item.ProductID, Quantity: item.Quantity}
	}
	if req.PaymentMethod != nil {
		cmd.PaymentMethod = req.PaymentMethod.paymentMethod()
	}
	return cmd
}

// minVersion reads the optional ?min_version= (read-your-writes: the version
// a placement returned); anything but a positive number means none.
func minVersion(r *http.Request) int {
	v, err := strconv.Atoi(r.URL.Query().Get("min_version"))
	if err != nil || v < 0 {
		return 0
	}
	return v
}
