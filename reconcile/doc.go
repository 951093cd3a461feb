// Package reconcile finds where the services' data disagree, heals what is
// safe to heal and reports the rest to a person (orderflow reconcile, and
// the worker that holds the reconciliation lock, every
// ORDERFLOW_RECONCILE_INTERVAL).
//
// The event stores are the truth. A full run (orderflow reconcile, and a
// periodic one every ORDERFLOW_RECONCILE_FULL_INTERVAL) compares, in pages
// of streams, what follows; the periodic runs between compare only the
// orders, products and customers with an event since the run before began
// to count, and those its unhealed findings named (Config.FullInterval),
// and rest after each page (Config.PageRest,
// ORDERFLOW_RECONCILE_PAGE_REST):
//
//   - every order's read-model document with its stream folded by the
//     Order aggregate (version, status, completed steps);
//   - every finished order with what the other contexts recorded for it
//     (the events naming it, found through an index on data->>'orderId'):
//     a CONFIRMED order's stock committed and payment captured exactly
//     once, a CANCELLED or FAILED order's stock released and hold voided,
//     and nothing held for it at a product or account it does not use;
//   - every product and customer document with its stream folded by the
//     Product and Customer aggregates (available and reserved, balance
//     and held), and every reservation or hold still held with the order
//     it is for, which must exist;
//   - the sagas open past their deadline, and those parked for a person;
//   - the events of each context's outbox older than the grace period that
//     the relay has not published.
//
// Anything younger than the grace period is in flight and left alone: a
// document the projector has not written yet, a compensation on its way.
// A document is judged at its own version while the events after it are
// in flight, so a busy aggregate is still checked.
//
// Healing: a document is re-projected from the event store and read back;
// a missing settlement or compensation, or a saga whose deadline passed
// unnoticed, is handed to the order's saga, which sends it again under a
// new message id (sagas.Processor.Resend). Everything else (an orphaned
// reservation or hold, a double commit or capture, a parked saga, an
// unpublished event, a heal that did not take) needs a person, and the
// finding says what was expected, what was found and what to look at.
package reconcile
