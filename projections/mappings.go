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

// mappingRefreshInterval is the refresh interval a mapping file asks for,
// restored on a rebuilt index before it goes live.
func mappingRefreshInterval(file string) string {
	raw, err := mappingFS.ReadFile("mappings/" + file)
	if err != nil {
		return "1s"
	}
	var body struct {
		Settings struct {
			Index struct {
				RefreshInterval string `json:"refresh_interval"`
			} `json:"index"`
		} `json:"settings"`
	}
	if json.Unmarshal(raw, &body) != nil || body.Settings.Index.RefreshInterval == "" {
		return "1s"
	}
	return body.Settings.Index.RefreshInterval
}
