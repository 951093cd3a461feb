// Package projections is the write side of the read models: projectors that
// fold the event topics into Elasticsearch documents, the index layout they
// write (versioned mappings behind aliases), the job that rebuilds an index
// from the PostgreSQL event store without downtime, and the status of each
// projection.
//
// Every document is a pure fold of one aggregate stream (package
// documents, which the read side imports without linking this one) and is
// written whole, with the stream version of the last applied event as its
// external version. A duplicate or late event therefore never moves a
// document backwards: Elasticsearch answers 409 and the projector counts it
// as stale. An event that skips versions (a gap) is never applied on top of
// the hole; the projector re-reads the stream from the event store, the
// source of truth, and projects it whole.
//
// Each projection is reached through an alias (orders, products,
// customers). While a rebuild runs, a second alias (<alias>-rebuild) names
// its target index and the live projector writes to both, so the rebuild
// can never lose an event that commits while it runs; the alias then moves
// to the finished index in one atomic _aliases request.
package projections
