package query

import (
	"context"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/orderflow/orderflow/projections/documents"
)

// CustomersIndex reads customer accounts from the Elasticsearch read
// model.
type CustomersIndex struct {
	es    *elasticsearch.Client
	alias string
}

// NewCustomersIndex reads through alias (config.Config.Index("customers")).
func NewCustomersIndex(es *elasticsearch.Client, alias string) *CustomersIndex {
	return &CustomersIndex{es: es, alias: alias}
}

// Customer returns the account, or NOT_FOUND.
func (ix *CustomersIndex) Customer(ctx context.Context, id string) (Customer, error) {
	var d documents.Customer
	if err := getDocument(ctx, ix.es, ix.alias, "customer", id, &d); err != nil {
		return Customer{}, err
	}
	return customerFromDocument(d), nil
}

func customerFromDocument(d documents.Customer) Customer {
	return Customer{ID: d.ID, Email: d.Email, Name: d.Name, Balance: d.Balance, Held: d.Held, Captured: d.Captured, Version: d.Version}
}
