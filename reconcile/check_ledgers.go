package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/orderflow/orderflow/command/domain/inventory"
	"github.com/orderflow/orderflow/command/domain/payments"
	"github.com/orderflow/orderflow/command/handlers"
	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections"
	"github.com/orderflow/orderflow/projections/documents"
)

// ledger is a context whose streams hold what orders claim: inventory's
// products (stock reserved per order) and payments' customers (money held
// per order). Both are checked the same way: each stream folded by its
// aggregate against its document, and every claim still held against the
// order it is for.
type ledger[A aggregate] struct {
	store      eventStore
	streamType string
	projection projections.Name
	// diverged is the kind of a document that disagrees, orphaned of a
	// claim held for an order that does not exist.
	diverged, orphaned Kind
	newAgg             func() A
	view               func(A) string
	decode             func(json.RawMessage) (document, error)
	// held is what the aggregate still holds for an order ("" if nothing).
	held func(agg A, orderID string) string
	// words names the claims in the context's terms.
	words vocabulary
	// finding returns a finding naming the stream.
	finding func(kind Kind, streamID string) Finding
}

func (r *Reconciler) products() ledger[*inventory.Product] {
	return ledger[*inventory.Product]{
		store: r.inventory, streamType: handlers.ProductStream, projection: projections.Products,
		diverged: ProductReadModelDiverged, orphaned: ReservationOrphaned,
		newAgg: func() *inventory.Product { return &inventory.Product{} },
		view: func(p *inventory.Product) string {
			return productView(p.Available(), p.Reserved())
		},
		decode: func(raw json.RawMessage) (document, error) {
			var d documents.Product
			if err := json.Unmarshal(raw, &d); err != nil {
				return document{}, fmt.Errorf("decode product document: %w", err)
			}
			return document{found: true, version: d.Version, view: productView(d.Available, d.Reserved)}, nil
		},
		held: func(p *inventory.Product, orderID string) string {
			if n := p.ReservedFor(orderID); n > 0 {
				return units(n)
			}
			return ""
		},
		words:   stockWords,
		finding: func(kind Kind, id string) Finding { return Finding{Kind: kind, ProductID: id} },
	}
}

func (r *Reconciler) customers() ledger[*payments.Customer] {
	return ledger[*payments.Customer]{
		store: r.payments, streamType: handlers.CustomerStream, projection: projections.Customers,
		diverged: CustomerReadModelDiverged, orphaned: HoldOrphaned,
		newAgg: func() *payments.Customer { return &payments.Customer{} },
		view: func(c *payments.Customer) string {
			return customerView(c.Balance().String(), c.Held().String())
		},
		decode: func(raw json.RawMessage) (document, error) {
			var d documents.Customer
			if err := json.Unmarshal(raw, &d); err != nil {
				return document{}, fmt.Errorf("decode customer document: %w", err)
			}
			return document{found: true, version: d.Version, view: customerView(d.Balance.String(), d.Held.String())}, nil
		},
		held: func(c *payments.Customer, orderID string) string {
			if a := c.HeldFor(orderID); a > 0 {
				return a.String()
			}
			return ""
		},
		words:   paymentWords,
		finding: func(kind Kind, id string) Finding { return Finding{Kind: kind, CustomerID: id} },
	}
}

func productView(available, reserved int) string {
	return fmt.Sprintf("available %d, reserved %d", available, reserved)
}

func customerView(balance, held string) string {
	return fmt.Sprintf("balance %s, held %s", balance, held)
}

// checkProducts compares every product with its document and its
// reservations with their orders.
func (r *Reconciler) checkProducts(ctx context.Context, ru *runState) error {
	return checkLedger(ctx, r, ru, r.products(), &ru.report.Checked.Products)
}

// checkCustomers compares every customer with its document and its holds
// with their orders.
func (r *Reconciler) checkCustomers(ctx context.Context, ru *runState) error {
	return checkLedger(ctx, r, ru, r.customers(), &ru.report.Checked.Customers)
}

func checkLedger[A aggregate](ctx context.Context, r *Reconciler, ru *runState, l ledger[A], checked *int) error {
	return r.pages(ctx, ru, l.store, l.streamType, func(ids []string) error {
		if err := checkLedgerPage(ctx, r, ru, l, ids); err != nil {
			return err
		}
		*checked += len(ids)
		return nil
	})
}

// heldClaim is a claim an aggregate still holds for an order.
type heldClaim struct {
	stream, orderID, amount string
}

// checkLedgerPage folds the page's streams one after the other (only the
// stream being folded is in memory, read a chunk at a time), then judges
// their documents and the claims they still hold.
func checkLedgerPage[A aggregate](ctx context.Context, r *Reconciler, ru *runState, l ledger[A], ids []string) error {
	raw, err := r.docs.get(ctx, r.aliases[l.projection], ids)
	if err != nil {
		return err
	}
	var (
		checks []docCheck
		held   []heldClaim
		cur    *tracker[A]
		curID  string
		// claimedAt holds when each order's claim on the current stream
		// began, for the claims it still holds.
		claimedAt map[string]time.Time
	)
	finish := func() {
		if expected, found, diverged := cur.judge(ru.cutoff); diverged {
			f := l.finding(l.diverged, curID)
			f.Expected, f.Found = expected, found
			checks = append(checks, docCheck{f: finding{Finding: f, reproject: l.projection}, id: curID, healedBy: cur.healedBy})
		}
		for orderID, at := range claimedAt {
			if at.Before(ru.cutoff) {
				held = append(held, heldClaim{stream: curID, orderID: orderID, amount: l.held(cur.agg, orderID)})
			}
		}
	}
	err = l.store.read(ctx, ids, r.cfg.ChunkSize, func(e storedEvent) error {
		if cur == nil || e.stream != curID {
			if cur != nil {
				finish()
			}
			var doc document
			if src, ok := raw[e.stream]; ok {
				var err error
				if doc, err = l.decode(src); err != nil {
					return fmt.Errorf("%s %s: %w", l.streamType, e.stream, err)
				}
			}
			cur, curID, claimedAt = newTracker(l.newAgg(), l.view, doc), e.stream, map[string]time.Time{}
		}
		cur.apply(e.at, e.event)
		if orderID := messages.OrderOf(e.event); orderID != "" {
			if l.held(cur.agg, orderID) == "" {
				delete(claimedAt, orderID)
			} else if _, ok := claimedAt[orderID]; !ok {
				claimedAt[orderID] = e.at
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if cur != nil {
		finish()
	}
	if err := r.healDocuments(ctx, ru, l.projection, l.decode, checks); err != nil {
		return err
	}
	return checkOrphans(ctx, r, ru, l, held)
}

// checkOrphans reports the claims held for orders that do not exist. The
// claims of orders that exist are judged with their order once it is
// final (checkSettlements).
func checkOrphans[A aggregate](ctx context.Context, r *Reconciler, ru *runState, l ledger[A], held []heldClaim) error {
	if len(held) == 0 {
		return nil
	}
	var orderIDs []string
	for _, h := range held {
		if !slices.Contains(orderIDs, h.orderID) {
			orderIDs = append(orderIDs, h.orderID)
		}
	}
	exists, err := r.ordering.existing(ctx, orderIDs)
	if err != nil {
		return err
	}
	for _, h := range held {
		if exists[h.orderID] {
			continue
		}
		f := l.finding(l.orphaned, h.stream)
		f.OrderID = h.orderID
		f.Expected = "nothing: no such order"
		f.Found = l.words.held + " (" + h.amount + ")"
		f.Resolution = NeedsPerson
		f.Action = "find who wrote it into stream " + h.stream + " and give it back by hand"
		r.record(ru, f)
	}
	return nil
}
