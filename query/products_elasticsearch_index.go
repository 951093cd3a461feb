package query

import (
	"context"

	"github.com/elastic/go-elasticsearch/v8"

	"github.com/orderflow/orderflow/projections/documents"
)

// ProductsIndex reads products from the Elasticsearch read model.
type ProductsIndex struct {
	es    *elasticsearch.Client
	alias string
}

// NewProductsIndex reads through alias (config.Config.Index("products")).
func NewProductsIndex(es *elasticsearch.Client, alias string) *ProductsIndex {
	return &ProductsIndex{es: es, alias: alias}
}

// Product returns the product, or NOT_FOUND.
func (ix *ProductsIndex) Product(ctx context.Context, id string) (Product, error) {
	var d documents.Product
	if err := getDocument(ctx, ix.es, ix.alias, "product", id, &d); err != nil {
		return Product{}, err
	}
	return productFromDocument(d), nil
}

func productFromDocument(d documents.Product) Product {
	return Product{
		ID: d.ID, SKU: d.SKU, Name: d.Name, Price: d.Price,
		Available: d.Available, Reserved: d.Reserved, OnHand: d.OnHand, Committed: d.Committed, Version: d.Version,
	}
}
