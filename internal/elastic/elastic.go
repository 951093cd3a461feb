// Package elastic creates the Elasticsearch client every read-side component
// shares and checks that a real cluster answers.
package elastic

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
)

// NewClient returns a typed-less client for url. go-elasticsearch checks the
// X-Elastic-Product header on the first response, so anything that is not
// Elasticsearch fails loudly instead of half-working.
func NewClient(url string) (*elasticsearch.Client, error) {
	return NewClientWith(url, nil)
}

// NewClientWith is NewClient with the HTTP transport wrapped by wrap (a
// circuit breaker, for instance); nil wraps nothing.
func NewClientWith(url string, wrap func(http.RoundTripper) http.RoundTripper) (*elasticsearch.Client, error) {
	var transport http.RoundTripper = &http.Transport{
		MaxIdleConnsPerHost:   32,
		ResponseHeaderTimeout: 30 * time.Second,
	}
	if wrap != nil {
		transport = wrap(transport)
	}
	client, err := elasticsearch.NewClient(elasticsearch.Config{
		Addresses:     []string{url},
		MaxRetries:    3,
		RetryOnStatus: []int{502, 503, 504, 429},
		Transport:     transport,
	})
	if err != nil {
		return nil, fmt.Errorf("create elasticsearch client: %w", err)
	}
	return client, nil
}

// Ping fails unless the cluster reports at least yellow health. (The
// cluster health API rather than "GET /": the integration-test distribution
// deploy/local runs ships without the module that serves the root.)
func Ping(ctx context.Context, client *elasticsearch.Client) error {
	res, err := client.Cluster.Health(client.Cluster.Health.WithContext(ctx),
		client.Cluster.Health.WithWaitForStatus("yellow"), client.Cluster.Health.WithTimeout(5*time.Second))
	if err != nil {
		return fmt.Errorf("elasticsearch is not reachable: %w", err)
	}
	defer res.Body.Close()
	if res.IsError() {
		return fmt.Errorf("elasticsearch cluster health: %s", res.Status())
	}
	return nil
}
