// Package documents holds the read models: the documents the projector
// stores in Elasticsearch (Order, Product, Customer) and the pure folds that
// build each one from its aggregate stream (FoldOrder, FoldProduct,
// FoldCustomer).
//
// It is the read side's published shape, shared by the writer (projections,
// the projector and the rebuild) and the readers (query, reconcile). It
// imports only the domain and the standard library, so a reader links no
// Kafka, PostgreSQL or Elasticsearch client through it
// (internal/architecture checks that).
//
// The JSON names of the documents are the indexes' mappings
// (projections/mappings/*.json): add a field with a new mapping version,
// never rename one in place.
package documents
