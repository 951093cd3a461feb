package elastic_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/testenv"
)

// Index a document and find it through a search on a real cluster. The
// client's product check (X-Elastic-Product header) runs on the first
// request, so this fails against anything that is not Elasticsearch.
func TestIndexAndSearchOnRealElasticsearch(t *testing.T) {
	t.Parallel()
	env := testenv.New(t)
	es := env.Elastic
	index := env.Config.Index("smoke")

	res, err := es.Index(index, strings.NewReader(`{"sku":"SKU-1","name":"Blue mug"}`),
		es.Index.WithDocumentID("p1"), es.Index.WithRefresh("true"))
	require.NoError(t, err)
	require.False(t, res.IsError(), res.String())
	require.Equal(t, "Elasticsearch", res.Header.Get("X-Elastic-Product"))
	res.Body.Close()

	res, err = es.Search(es.Search.WithIndex(index),
		es.Search.WithBody(strings.NewReader(`{"query":{"match":{"name":"mug"}}}`)),
		es.Search.WithContext(context.Background()))
	require.NoError(t, err)
	defer res.Body.Close()
	require.False(t, res.IsError(), res.String())
	var body struct {
		Hits struct {
			Total struct{ Value int } `json:"total"`
			Hits  []struct {
				ID string `json:"_id"`
			} `json:"hits"`
		} `json:"hits"`
	}
	require.NoError(t, json.NewDecoder(res.Body).Decode(&body))
	require.Equal(t, 1, body.Hits.Total.Value)
	require.Equal(t, "p1", body.Hits.Hits[0].ID)
}
