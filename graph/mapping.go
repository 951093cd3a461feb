package graph

import (
	"time"

	"github.com/orderflow/orderflow/app"
	"github.com/orderflow/orderflow/graph/model"
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
		cmd.Items[i] = app.OrderItem{ProductID: item.ProductID, Quantity: item.Quantity}
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
		Findings: make([]model.Divergence, len(r.Findings)), Omitted: r.Omitted,
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
