package reconcile

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/orderflow/orderflow/command/domain/ordering"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/projections"
	"github.com/orderflow/orderflow/projections/documents"
)

// checkOrders compares every order (or those changed since ru.since), a
// page at a time, with its document and, once final, with what inventory
// and payments recorded for it.
func (r *Reconciler) checkOrders(ctx context.Context, ru *runState) error {
	return r.pages(ctx, ru, r.ordering, handlers.OrderStream, func(ids []string) error {
		if err := r.checkOrderPage(ctx, ru, ids); err != nil {
			return err
		}
		ru.report.Checked.Orders += len(ids)
		return nil
	})
}

// orderDocumentFields are the fields of an order document that
// orderDocumentView reads: a page's check fetches only these, since the
// rest (items, timeline: one entry per event) was 23% of a run's CPU in
// decoding alone.
var orderDocumentFields = []string{"version", "status", "completedSteps"}

func decodeOrderDocument(raw json.RawMessage) (document, error) {
	var d documents.Order
	if err := json.Unmarshal(raw, &d); err != nil {
		return document{}, fmt.Errorf("decode order document: %w", err)
	}
	return orderDocumentView(d), nil
}

func (r *Reconciler) checkOrderPage(ctx context.Context, ru *runState, ids []string) error {
	raw, err := r.docs.get(ctx, r.aliases[projections.Orders], ids, orderDocumentFields...)
	if err != nil {
		return err
	}
	orders := make(map[string]*tracker[*ordering.Order], len(ids))
	for _, id := range ids {
		var doc document
		if src, ok := raw[id]; ok {
			if doc, err = decodeOrderDocument(src); err != nil {
				return fmt.Errorf("order %s: %w", id, err)
			}
		}
		orders[id] = newTracker(&ordering.Order{}, orderAggregateView, doc)
	}
	err = r.ordering.read(ctx, ids, r.cfg.ChunkSize, func(e storedEvent) error {
		orders[e.stream].apply(e.at, e.event)
		return nil
	})
	if err != nil {
		return err
	}

	var checks []docCheck
	var finished []finishedOrder
	for _, id := range ids {
		t := orders[id]
		if expected, found, diverged := t.judge(ru.cutoff); diverged {
			kind := DocumentStale
			if !t.doc.found {
				kind = DocumentMissing
			}
			checks = append(checks, docCheck{
				f:        finding{Finding: Finding{Kind: kind, OrderID: id, Expected: expected, Found: found}, reproject: projections.Orders},
				id:       id,
				healedBy: t.healedBy,
			})
		}
		if t.agg.Status().Terminal() && t.lastAt.Before(ru.cutoff) {
			finished = append(finished, newFinishedOrder(t.agg))
		}
	}
	if err := r.healDocuments(ctx, ru, projections.Orders, decodeOrderDocument, checks); err != nil {
		return err
	}
	return r.checkSettlements(ctx, ru, finished)
}

// checkSettlements judges final orders against the events of inventory
// and payments that name them, and hands what their sagas can heal to
// them.
func (r *Reconciler) checkSettlements(ctx context.Context, ru *runState, orders []finishedOrder) error {
	if len(orders) == 0 {
		return nil
	}
	ids := make([]string, len(orders))
	for i, o := range orders {
		ids[i] = o.id
	}
	stock, err := r.inventory.naming(ctx, ids)
	if err != nil {
		return err
	}
	payment, err := r.payments.naming(ctx, ids)
	if err != nil {
		return err
	}
	stockClaims, paymentClaims := claims(stock), claims(payment)
	for _, o := range orders {
		fs := judgeSettlement(o, stockClaims[o.id], paymentClaims[o.id], ru.cutoff)
		if len(fs) == 0 {
			continue
		}
		if err := r.healBySaga(ctx, ru, o.id, fs); err != nil {
			return err
		}
	}
	return nil
}
