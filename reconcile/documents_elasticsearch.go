package reconcile

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// readModels reads read-model documents from Elasticsearch, a page at a
// time, through the aliases readers use.
type readModels struct {
	es *elasticsearch.Client
}

// get returns the sources of the documents ids found behind alias, by id,
// read in realtime (a document written a moment ago is seen before any
// refresh); with fields, only those fields of each source. A missing
// alias is an error: the projections were never set up.
func (r readModels) get(ctx context.Context, alias string, ids []string, fields ...string) (map[string]json.RawMessage, error) {
	out := make(map[string]json.RawMessage, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	body, err := json.Marshal(map[string][]string{"ids": ids})
	if err != nil {
		return nil, err
	}
	realtime := true
	res, err := esapi.MgetRequest{Index: alias, Body: bytes.NewReader(body), Realtime: &realtime, SourceIncludes: fields}.Do(ctx, r.es)
	if err != nil {
		return nil, fmt.Errorf("read %d documents of %s: %w", len(ids), alias, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("read %d documents of %s: %w", len(ids), alias, err)
	}
	if res.IsError() {
		return nil, fmt.Errorf("read %d documents of %s: elasticsearch %s: %.512s", len(ids), alias, res.Status(), raw)
	}
	var answer struct {
		Docs []struct {
			ID     string          `json:"_id"`
			Found  bool            `json:"found"`
			Source json.RawMessage `json:"_source"`
			Error  json.RawMessage `json:"error"`
		} `json:"docs"`
	}
	if err := json.Unmarshal(raw, &answer); err != nil {
		return nil, fmt.Errorf("decode %d documents of %s: %w", len(ids), alias, err)
	}
	for _, d := range answer.Docs {
		if len(d.Error) > 0 {
			return nil, fmt.Errorf("read document %s of %s: %s", d.ID, alias, d.Error)
		}
		if d.Found {
			out[d.ID] = d.Source
		}
	}
	return out, nil
}
