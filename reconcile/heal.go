package reconcile

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/orderflow/orderflow/messages"
	"github.com/orderflow/orderflow/projections"
	"github.com/orderflow/orderflow/sagas"
)

// docCheck is a document finding and how to tell it healed.
type docCheck struct {
	f        finding
	id       string
	healedBy func(document) bool
}

// healDocuments re-projects the documents of checks from the event store,
// reads them back and records each finding: healed when the document now
// matches its stream, for a person otherwise.
func (r *Reconciler) healDocuments(ctx context.Context, ru *runState, n projections.Name, decode func(json.RawMessage) (document, error), checks []docCheck) error {
	if len(checks) == 0 {
		return nil
	}
	if !ru.heal {
		for _, c := range checks {
			c.f.Resolution = Healable
			c.f.Action = fmt.Sprintf("re-project it: orderflow rebuild --order %s %s", c.id, n)
			r.record(ru, c.f.Finding)
		}
		return nil
	}
	failed := map[string]error{}
	ids := make([]string, 0, len(checks))
	for _, c := range checks {
		ids = append(ids, c.id)
		if err := r.reproject.Reproject(ctx, n, c.id); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			failed[c.id] = err
		}
	}
	docs, err := r.docs.get(ctx, r.aliases[n], ids)
	if err != nil {
		return err
	}
	for _, c := range checks {
		f := c.f.Finding
		f.Resolution = NeedsPerson
		var doc document
		if raw, ok := docs[c.id]; ok {
			if doc, err = decode(raw); err != nil {
				return err
			}
		}
		switch {
		case failed[c.id] != nil:
			f.Action = fmt.Sprintf("re-projecting it failed: %v", failed[c.id])
		case c.healedBy(doc):
			f.Resolution, f.Action = Healed, "re-projected from the event store"
		case !doc.found:
			f.Action = "re-projected, yet the document is still missing: after a delete by hand Elasticsearch refuses older versions for index.gc_deletes (60 s by default); the next run tries again"
		default:
			f.Action = fmt.Sprintf("re-projected, yet the document shows version %d: %s; see projections.held_documents and the projector's log", doc.version, doc.view)
		}
		r.record(ru, f)
	}
	return nil
}

// healBySaga records the findings of one order, handing those its saga can
// heal to the saga in one Resend: the missing settlement or compensation
// commands and, for an overdue saga, what its phase waits on.
func (r *Reconciler) healBySaga(ctx context.Context, ru *runState, orderID string, fs []finding) error {
	var missing []messages.Command
	var healable []finding
	for _, f := range fs {
		if !f.healable() {
			f.Resolution = NeedsPerson
			r.record(ru, f.Finding)
			continue
		}
		healable = append(healable, f)
		if f.resend != nil {
			missing = append(missing, f.resend)
		}
	}
	if len(healable) == 0 {
		return nil
	}
	resolve := func(res Resolution, action string) {
		for _, f := range healable {
			f.Resolution, f.Action = res, action
			r.record(ru, f.Finding)
		}
	}
	switch sent, done := ru.resent[orderID]; {
	case !ru.heal:
		resolve(Healable, "have the order's saga send what is missing again, under new message ids")
		return nil
	case done && len(missing) == 0:
		resolve(Healed, "the saga re-sent "+sent+" earlier in this run")
		return nil
	}
	sent, err := r.resender.Resend(ctx, orderID, missing...)
	switch {
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		resolve(NeedsPerson, fmt.Sprintf("the saga would not send it again: %v", err))
	case len(sent) == 0:
		resolve(NeedsPerson, "the saga had nothing to send: see its state in sagas.order_sagas")
	default:
		ru.resent[orderID] = describeCommands(sent)
		resolve(Healed, "the saga re-sent "+ru.resent[orderID]+" under new message ids; the next run shows whether it landed")
	}
	return nil
}

// record adds f to the report and logs it.
func (r *Reconciler) record(ru *runState, f Finding) {
	ru.record(f)
	attrs := []any{"kind", f.Kind, "order_id", f.OrderID, "product_id", f.ProductID, "customer_id", f.CustomerID,
		"event_id", f.EventID, "expected", f.Expected, "found", f.Found, "action", f.Action}
	if f.Resolution == NeedsPerson {
		r.logger.Warn("divergence needs a person", attrs...)
	} else {
		r.logger.Info("divergence found", append(attrs, "resolution", f.Resolution)...)
	}
}

func describeCommands(cmds []sagas.Command) string {
	parts := make([]string, len(cmds))
	for i, c := range cmds {
		parts[i] = c.Message.CommandName() + " for " + c.Message.AggregateID()
	}
	return strings.Join(parts, ", ")
}
