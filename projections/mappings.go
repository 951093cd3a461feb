package projections

import (
	"embed"
	"encoding/json"
	"fmt"
)

// mappingFS holds the versioned index definitions, one file per
// projection and mapping version (orders_v1.json). A changed mapping is a
// new file and a new version: the rebuild job creates an index from it and
// moves the alias, and the old index stays untouched.
//
//go:embed mappings/*.json
var mappingFS embed.FS

// indexBody returns the create-index body of a mapping file with settings
// overridden (replicas, refresh interval).
func indexBody(file string, settings map[string]any) ([]byte, error) {
	raw, err := mappingFS.ReadFile("mappings/" + file)
	if err != nil {
		return nil, fmt.Errorf("read mapping %s: %w", file, err)
	}
	var body map[string]any
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, fmt.Errorf("parse mapping %s: %w", file, err)
	}
	s, _ := body["settings"].(map[string]any)
	if s == nil {
		s = map[string]any{}
		body["settings"] = s
	}
	idx, _ := s["index"].(map[string]any)
	if idx == nil {
		idx = map[string]any{}
		s["index"] = idx
	}
	for k, v := range settings {
		idx[k] = v
	}
	return json.Marshal(body)
}

// mappingRefreshInterval is the refresh interval a rebuilt index gets back
// before it goes live: the one its mapping file sets, or nil, which resets
// the setting to Elasticsearch's default.
//
// The mapping files set none, on purpose. With the interval left unset, a
// shard that has seen no search for 30 s (index.search.idle.after) skips
// its periodic refresh until the next search, which then waits for one
// (up to a second); shards being searched refresh every second, as with an
// explicit 1s. The projectors write a few documents per order, a product's
// and a customer's many times a second, and while nobody searches, a
// refresh every second turned those writes into a small segment per second
// per index and the merges behind them: at 100 orders/s, an explicit 1s
// cost Elasticsearch 2.5-3.8 ms of CPU per order, the default 1.2-1.4
// (docs/benchmarks.md, "2026-12-02, early"). Reads by id (orders, the
// projectors' and the reconciliation's reads) are realtime and do not
// depend on refreshes.
func mappingRefreshInterval(file string) any {
	raw, err := mappingFS.ReadFile("mappings/" + file)
	if err != nil {
		return nil
	}
	var body struct {
		Settings struct {
			Index struct {
				RefreshInterval string `json:"refresh_interval"`
			} `json:"index"`
		} `json:"settings"`
	}
	if json.Unmarshal(raw, &body) != nil || body.Settings.Index.RefreshInterval == "" {
		return nil
	}
	return body.Settings.Index.RefreshInterval
}
