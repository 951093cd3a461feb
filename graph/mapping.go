package graph

import (
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/internal/breaker"
	"github.com/orderflow/orderflow/internal/deadletter"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections"
	"github.com/orderflow/orderflow/query"
	"github.com/orderflow/orderflow/reconcile"
)

// This file is the only place that knows both the GraphQL models and the
// application's types: inputs become application commands, read models
// become GraphQL models.

func createProductCommand(in model.CreateProductInput) app.CreateProduct {
	return app.CreateProduct{SKU: in.Sku, Name: in.Name, Price: in.Price, InitialStock: in.InitialStock}
}

func registerCustomerCommand(in model.RegisterCustomerInput) app.RegisterCustomer {
	cmd := app.RegisterCustomer{Email: in.Email, Name: in.Name}
	if in.InitialCredit != nil {
		cmd.InitialCredit = *in.InitialCredit
	}
	return cmd
}

func placeOrderCommand(in model.PlaceOrderInput) app.PlaceOrder {
	cmd := app.PlaceOrder{
		CustomerID:      deref(in.CustomerID),
		IdempotencyKey:  in.IdempotencyKey,
		Items:           make([]app.OrderItem, len(in.Items)),
		ShippingAddress: address(in.ShippingAddress),
		BillingAddress:  address(in.BillingAddress),
	}
	for i, item := range in.Items {
		cmd.Items[i] = app.OrderItem{ProductID: item.ProductID, Quantity: item.Quantity, StatedUnitPrice: item.UnitPrice}
	}
	if in.PaymentMethod != nil {
		cmd.PaymentMethod = messages.PaymentMethod{Type: in.PaymentMethod.Type, Token: in.PaymentMethod.Token}
	}
	return cmd
}

// address maps an optional address; nil becomes the zero Address, which
// for the billing address means "same as shipping".
func address(in *model.AddressInput) messages.Address {
	if in == nil {
		return messages.Address{}
	}
	return messages.Address{Street: in.Street, City: in.City, Zip: in.Zip, Country: in.Country, State: deref(in.State)}
}

func productModel(p query.Product) *model.Product {
	return &model.Product{ID: p.ID, Sku: p.SKU, Name: p.Name, Price: p.Price, Available: p.Available, Reserved: p.Reserved}
}

func customerModel(c query.Customer) *model.Customer {
	return &model.Customer{ID: c.ID, Email: c.Email, Name: c.Name, Balance: c.Balance, Held: c.Held}
}

func orderModel(o query.Order) *model.Order {
	m := &model.Order{
		ID:             o.ID,
		CustomerID:     o.CustomerID,
		Status:         model.OrderStatus(o.Status),
		CurrentStep:    optionalStep(o.CurrentStep),
		CompletedSteps: steps(o.CompletedSteps),
		PendingSteps:   steps(o.PendingSteps),
		Items:          make([]model.OrderItem, len(o.Items)),
		TotalAmount:    o.Total,
		Currency:       o.Currency,
		CreatedAt:      o.CreatedAt,
		UpdatedAt:      o.UpdatedAt,
		Version:        o.Version,
	}
	for i, line := range o.Items {
		m.Items[i] = model.OrderItem{ProductID: line.ProductID, Quantity: line.Quantity, UnitPrice: line.UnitPrice}
	}
	if f := o.Failure; f != nil {
		m.Failure = &model.OrderFailure{Code: string(f.Code), Message: f.Message, Step: optionalStep(f.Step)}
	}
	return m
}

// orderTimes is what the completion estimate reads of an order: its
// status and when it was placed and last changed.
func orderTimes(o *model.Order) query.Order {
	return query.Order{Status: messages.OrderStatus(o.Status), CreatedAt: o.CreatedAt, UpdatedAt: o.UpdatedAt}
}

func orderEventModels(events []query.OrderEvent) []model.OrderEvent {
	out := make([]model.OrderEvent, len(events))
	for i, e := range events {
		out[i] = model.OrderEvent{
			Type:          e.Type,
			Version:       e.Version,
			OccurredAt:    e.OccurredAt,
			Data:          e.Data,
			CorrelationID: optional(e.CorrelationID),
			CausationID:   optional(e.CausationID),
			Context:       e.Context,
			StreamID:      e.StreamID,
		}
	}
	return out
}

// steps never returns nil: the lists are non-null in the schema.
func steps(in []messages.SagaStep) []model.SagaStep {
	out := make([]model.SagaStep, len(in))
	for i, s := range in {
		out[i] = model.SagaStep(s)
	}
	return out
}

func optionalStep(s messages.SagaStep) *model.SagaStep {
	if s == "" {
		return nil
	}
	m := model.SagaStep(s)
	return &m
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// deref is the value behind an optional argument, its zero value if absent.
func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func orderSearch(f *model.OrderSearchFilter, first *int, after *string, sort *model.OrderSort) query.OrderSearch {
	s := query.OrderSearch{First: deref(first), After: deref(after), Sort: query.OrderSort(deref(sort))}
	if f == nil {
		return s
	}
	s.Text = deref(f.Text)
	s.CustomerID = deref(f.CustomerID)
	s.ProductID = deref(f.ProductID)
	s.CreatedFrom = deref(f.CreatedFrom)
	s.CreatedTo = deref(f.CreatedTo)
	s.MinTotal, s.MaxTotal = f.MinTotal, f.MaxTotal
	s.FailureCode = errcode.Code(deref(f.FailureCode))
	for _, st := range f.Status {
		s.Statuses = append(s.Statuses, messages.OrderStatus(st))
	}
	for _, st := range f.CurrentStep {
		s.CurrentSteps = append(s.CurrentSteps, messages.SagaStep(st))
	}
	return s
}

func orderSearchResultModel(r query.OrderSearchResult) *model.OrderSearchResult {
	out := &model.OrderSearchResult{
		Total:        r.Total,
		Orders:       make([]model.Order, len(r.Orders)),
		EndCursor:    optional(r.EndCursor),
		HasNextPage:  r.HasNextPage,
		StatusFacets: facets(r.StatusFacets),
		StepFacets:   facets(r.StepFacets),
	}
	for i, o := range r.Orders {
		out.Orders[i] = *orderModel(o)
	}
	return out
}

func facets(in []query.FacetCount) []model.FacetCount {
	out := make([]model.FacetCount, len(in))
	for i, f := range in {
		out[i] = model.FacetCount{Value: f.Value, Count: f.Count}
	}
	return out
}

func projectionStatusModels(in []projections.Status) []model.ProjectionStatus {
	out := make([]model.ProjectionStatus, len(in))
	for i, st := range in {
		m := model.ProjectionStatus{
			Name: string(st.Projection), Alias: st.Alias, Index: st.Index, Rebuilding: st.Rebuild != nil,
			LagEvents: int(st.LagEvents), LagSeconds: st.LagSeconds,
			Partitions: make([]model.PartitionCheckpoint, len(st.Partitions)),
		}
		for j, p := range st.Partitions {
			m.Partitions[j] = model.PartitionCheckpoint{Partition: int(p.Partition), Committed: int(p.Committed), End: int(p.End), Lag: int(p.Lag)}
		}
		out[i] = m
	}
	return out
}

func reconciliationModel(r reconcile.Report) *model.ReconciliationReport {
	m := &model.ReconciliationReport{
		StartedAt: r.StartedAt, FinishedAt: r.FinishedAt, Healing: r.Healing, Grace: time.Duration(r.Grace).String(),
		CheckedOrders: r.Checked.Orders, CheckedProducts: r.Checked.Products, CheckedCustomers: r.Checked.Customers,
		CheckedSagas: r.Checked.Sagas, Healed: r.Healed, NeedsPerson: r.NeedsPerson, Healable: r.Healable,
		Findings: make([]model.Divergence, len(r.Findings)), Omitted: r.Omitted, Since: r.Since,
	}
	if !r.FullAt.IsZero() {
		m.FullAt = &r.FullAt
	}
	for _, k := range reconcile.Kinds() {
		m.Counts = append(m.Counts, model.DivergenceCount{Kind: string(k), Count: r.Counts[k]})
	}
	for i, f := range r.Findings {
		m.Findings[i] = model.Divergence{
			Kind: string(f.Kind), OrderID: optional(f.OrderID), ProductID: optional(f.ProductID), CustomerID: optional(f.CustomerID),
			Context: optional(f.Context), EventID: optional(f.EventID), Expected: f.Expected, Found: f.Found,
			Resolution: divergenceResolutions[f.Resolution], Action: f.Action,
		}
	}
	return m
}

var divergenceResolutions = map[reconcile.Resolution]model.DivergenceResolution{
	reconcile.Healed:      model.DivergenceResolutionHealed,
	reconcile.NeedsPerson: model.DivergenceResolutionNeedsPerson,
	reconcile.Healable:    model.DivergenceResolutionHealable,
}

func deadLetterFilter(in *model.DeadLetterFilter) deadletter.Filter {
	var f deadletter.Filter
	if in == nil {
		return f
	}
	f.Handler, f.AggregateID, f.Type = deref(in.Handler), deref(in.AggregateID), deref(in.Type)
	if in.Status != nil {
		f.Status = deadletter.Status(strings.ToLower(string(*in.Status)))
	}
	if in.ErrorClass != nil {
		f.Class = deadletter.Class(strings.ToLower(string(*in.ErrorClass)))
	}
	if in.From != nil {
		f.From = *in.From
	}
	if in.To != nil {
		f.To = *in.To
	}
	return f
}

// deadLetterID parses a dead letter's id (or a page cursor, which is one).
func deadLetterID(field, s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, errcode.New(errcode.InvalidOrderData, "%s: %q is not a dead letter id", field, s).With("field", field)
	}
	return id, nil
}

func deadLetterModel(e deadletter.Entry) model.DeadLetter {
	m := model.DeadLetter{
		ID: strconv.FormatInt(e.ID, 10), Handler: e.Handler, Topic: e.Topic, Partition: int(e.Partition),
		Offset: strconv.FormatInt(e.Offset, 10), AggregateID: e.Key, MessageID: e.MessageID, Type: e.Type,
		Payload: strings.ToValidUTF8(string(e.Payload), "\uFFFD"), ErrorClass: model.DeadLetterErrorClass(strings.ToUpper(string(e.Class))),
		Error: e.Error, Attempts: e.Attempts, Level: e.Level, FirstFailedAt: e.FirstFailedAt, LastFailedAt: e.LastFailedAt,
		NextAttemptAt: e.NextAttemptAt, Status: model.DeadLetterStatus(strings.ToUpper(string(e.Status))), ResolvedAt: e.ResolvedAt,
		Headers: []model.DeadLetterHeader{}, Actions: []model.DeadLetterAction{},
	}
	if e.ResolvedBy != "" {
		m.ResolvedBy = &e.ResolvedBy
	}
	keys := slices.Sorted(maps.Keys(e.Headers))
	for _, k := range keys {
		m.Headers = append(m.Headers, model.DeadLetterHeader{Key: k, Value: strings.ToValidUTF8(e.Headers[k], "\uFFFD")})
	}
	for _, a := range e.Actions {
		m.Actions = append(m.Actions, model.DeadLetterAction{Action: a.Action, Actor: a.Actor, Reason: a.Reason, At: a.At})
	}
	return m
}

func deadLetterPageModel(p deadletter.Page) *model.DeadLetterPage {
	out := &model.DeadLetterPage{Total: p.Total, HasNextPage: p.HasNext, DeadLetters: []model.DeadLetter{}, Counts: []model.DeadLetterCount{}}
	for _, e := range p.Entries {
		out.DeadLetters = append(out.DeadLetters, deadLetterModel(e))
	}
	if p.HasNext && len(p.Entries) > 0 {
		c := strconv.FormatInt(p.Entries[len(p.Entries)-1].ID, 10)
		out.EndCursor = &c
	}
	for _, c := range p.Counts {
		out.Counts = append(out.Counts, model.DeadLetterCount{Handler: c.Handler, ErrorClass: model.DeadLetterErrorClass(strings.ToUpper(string(c.Class))), Count: c.Count})
	}
	return out
}

func sagaRedriveModel(r app.SagaRedrive) *model.SagaRedrive {
	out := &model.SagaRedrive{OrderID: r.OrderID, Phase: string(r.Phase), PhaseAfter: string(r.Now), Commands: []model.RedrivenCommand{}}
	if r.Outcome != "" {
		outcome := strings.ToUpper(string(r.Outcome))
		out.Outcome = &outcome
	}
	for _, c := range r.Sent {
		out.Commands = append(out.Commands, model.RedrivenCommand{MessageID: c.ID, Type: c.Message.CommandName()})
	}
	return out
}

func circuitBreakerModels(in []breaker.Status) []model.CircuitBreaker {
	out := make([]model.CircuitBreaker, len(in))
	for i, st := range in {
		out[i] = model.CircuitBreaker{
			Name: st.Name, State: model.CircuitBreakerState(strings.ToUpper(string(st.State))),
			ConsecutiveFailures: st.ConsecutiveFailures, Since: st.Since,
		}
		if !st.LastFailure.IsZero() {
			at := st.LastFailure
			out[i].LastFailureAt = &at
		}
	}
	return out
}
