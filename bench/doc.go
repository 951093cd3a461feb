// Package bench is the load and consistency benchmark behind
// `orderflow bench`. It drives a running orderflow through its public
// GraphQL API only — POST /graphql and websocket subscriptions at the same
// path — with bearer tokens it signs itself with the server's
// ORDERFLOW_JWT_SECRET, so it measures what a client sees and can run
// against any deployment.
//
// A run has four phases:
//
//  1. Set-up (admin token): N products with the chosen stock and price, one
//     scarce product with a few units, M customers with the chosen credit
//     and a few customers without any. Everything is new, so the
//     invariants can account for every unit and cent.
//  2. Load: orders at a fixed arrival rate (open model, --rate) or from a
//     fixed number of workers (closed model, --concurrency), mixed from
//     the scenarios in mix.go, each with its own idempotency key and
//     placed with its customer's token. Placement latency is measured from
//     the moment an order was due (open model: its scheduled time, so a
//     stalled server cannot hide the orders it delayed) to the placeOrder
//     answer; end-to-end latency to the moment the bench first sees the
//     order final, through orderStatusChanged subscriptions
//     (--e2e=subscription, the default; graphql-transport-ws, falling back
//     to polling for an order whose subscription fails) or by polling the
//     order query (--e2e=poll). Polls are spaced by a tenth of the order's age
//     and at most --poll-concurrency are in flight, so they never become
//     the load; the price is resolution when the server is slow. Hence a
//     second end-to-end figure, "e2e committed": the time of the order's
//     final event in orderEvents (the server's clock) minus the scheduled
//     time, exact whatever the polling, when bench and server clocks agree;
//     those reads come after the load, so they do not add to it.
//  3. Settle: placements that got no definite answer (timeouts, lost
//     connections, INTERNAL) are sent again with their idempotency key to
//     learn their order, for up to --resend-for (5 min) at growing
//     intervals, as a client riding out an outage would; then the bench waits, up to --settle-timeout, for
//     every order to be final and every reservation and hold released.
//  4. Check: the invariants in invariants.go, read back through the API.
//     Any violation fails the run (non-zero exit).
//
// Results print as a table and can be written as JSON (--out) and compared
// (--compare a.json b.json).
//
// Faults are injected on the server, never by the bench: the payment
// provider's failure rate and latency are set by an environment variable
// (and flag) of `orderflow all`, documented with that command. The bench
// only reports what the server answers — failure codes such as
// PAYMENT_FAILED or SAGA_TIMEOUT in the outcomes, error codes per
// operation. An order the system gave up on (FAILED with SAGA_TIMEOUT or
// COMPENSATION_FAILED, the latter also for a parked saga) fails the run
// (invariant "no order failed by the system") unless
// --allow-system-failures says the run injects such faults on purpose.
// It records a free --label (e.g. the fault settings) in its
// results so runs can be told apart.
package bench
