package rest

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/query"
)

// IdempotencyKeyHeader carries the placement's idempotency key; the body's
// idempotency_key is the alternative, and when both are given they must
// agree. Without either, the placement is not idempotent: it gets a key
// of its own, so a retry places another order.
const IdempotencyKeyHeader = "Idempotency-Key"

// placeOrder answers 201 with the placed order's id, status, estimated
// completion and links, and its Location. A retry with the same key
// answers the order the first request placed. A malformed request is 400,
// a well-formed order the domain refuses 422. ?wait=5s (at most 30s) makes
// the checkout synchronous: the answer comes once the order is final, or
// when the wait ends with still_running true.
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
	cmd, err := req.command(r.Header.Get(IdempotencyKeyHeader))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	o, err := s.app.Commands.PlaceOrder.Handle(r.Context(), actor(r), cmd)
	if err != nil {
		status := 0
		if errcode.Is(err, errcode.InvalidOrderData) {
			status = http.StatusUnprocessableEntity
		}
		s.writeErrorStatus(w, r, status, err)
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
	links := linksOf(o.ID)
	w.Header().Set("Location", links.Self)
	writeJSON(w, http.StatusCreated, placedOrderJSON{
		OrderID:             o.ID,
		Status:              placementStatus(o.Status),
		EstimatedCompletion: s.app.Queries.EstimateCompletion.Handle(o),
		// The saga of an order is keyed by the order id.
		SagaID:       o.ID,
		Links:        links,
		Version:      o.Version,
		StillRunning: running,
	})
}

func (s *server) order(w http.ResponseWriter, r *http.Request) {
	o, err := s.readOrder(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, orderResponse(o))
}

func (s *server) orderStatus(w http.ResponseWriter, r *http.Request) {
	o, err := s.readOrder(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, statusResponse(o, s.app.Queries.EstimateCompletion.Handle(o)))
}

// readOrder reads the order of the path, after ?min_version= if given.
func (s *server) readOrder(r *http.Request) (query.Order, error) {
	v, err := minVersion(r)
	if err != nil {
		return query.Order{}, err
	}
	return s.app.Queries.Order.Handle(r.Context(), actor(r), r.PathValue("id"), v)
}

// decodeJSON reads exactly one JSON object of at most MaxBodyBytes into v,
// refusing unknown fields. Failures are INVALID_ORDER_DATA naming the
// field where possible; the status is 413 for an oversized body and 400
// otherwise.
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
		coded     *errcode.Error
	)
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &coded):
		return http.StatusBadRequest, coded
	case errors.As(err, &maxErr):
		return http.StatusRequestEntityTooLarge, tooLarge()
	case errors.Is(err, io.EOF):
		return http.StatusBadRequest, errcode.New(errcode.InvalidOrderData, "request body is empty: want a JSON object")
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "request body"
		}
		return http.StatusBadRequest, errcode.New(errcode.InvalidOrderData, "%s must be a JSON %s, got %s", field, jsonKind(typeErr.Type), typeErr.Value).
			With("field", field)
	case errors.As(err, &syntaxErr), errors.Is(err, io.ErrUnexpectedEOF):
		return http.StatusBadRequest, errcode.New(errcode.InvalidOrderData, "request body is not valid JSON: %v", err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return http.StatusBadRequest, errcode.New(errcode.InvalidOrderData, "unknown field %q", field).With("field", field)
	default:
		return http.StatusBadRequest, errcode.New(errcode.InvalidOrderData, "request body could not be decoded: %v", err)
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

// command maps the request onto the application's use case, with the
// Idempotency-Key header's key (or the body's, or a key of its own).
func (req placeOrderRequest) command(headerKey string) (app.PlaceOrder, error) {
	key := req.IdempotencyKey
	if headerKey != "" {
		if body := strings.TrimSpace(key); body != "" && body != strings.TrimSpace(headerKey) {
			return app.PlaceOrder{}, errcode.New(errcode.InvalidOrderData,
				"the %s header and idempotency_key differ", IdempotencyKeyHeader).With("field", "idempotency_key")
		}
		key = headerKey
	}
	if key == "" {
		// No key at all: this request is its own placement. (A key of
		// only white space is the domain's to refuse.)
		key = "rest-" + uuid.NewString()
	}
	customer := req.UserID
	if req.CustomerID != "" {
		if customer != "" && customer != req.CustomerID {
			return app.PlaceOrder{}, errcode.New(errcode.InvalidOrderData,
				"user_id and customer_id (its earlier name) differ").With("field", "user_id")
		}
		customer = req.CustomerID
	}
	cmd := app.PlaceOrder{
		CustomerID:      customer,
		IdempotencyKey:  key,
		Items:           make([]app.OrderItem, len(req.Items)),
		ShippingAddress: req.ShippingAddress.address(),
		BillingAddress:  req.BillingAddress.address(),
	}
	for i, item := range req.Items {
		price, err := item.statedPrice(i)
		if err != nil {
			return app.PlaceOrder{}, err
		}
		cmd.Items[i] = app.OrderItem{ProductID: item.ProductID, Quantity: item.Quantity, StatedUnitPrice: price}
	}
	if req.PaymentMethod != nil {
		cmd.PaymentMethod = req.PaymentMethod.paymentMethod()
	}
	return cmd, nil
}

// minVersion reads the optional ?min_version= (read-your-writes: the
// version a placement returned); absent is 0, anything but a whole number
// of at least 0 is refused.
func minVersion(r *http.Request) (int, error) {
	raw := r.URL.Query().Get("min_version")
	if raw == "" {
		return 0, nil
	}
	v, err := strconv.Atoi(raw)
	if err != nil || v < 0 {
		return 0, errcode.New(errcode.InvalidOrderData, "min_version must be a whole number of at least 0, got %.40q", raw).
			With("field", "min_version")
	}
	return v, nil
}
