package projections

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// indexes manages the physical indexes and aliases of the projections.
// Physical names are <alias>-v<mapping version>-<UTC timestamp>; readers
// and the live projector only ever name the alias.
type indexes struct {
	es   *elasticsearch.Client
	name func(string) string // namespacing, config.Config.Index
}

// Alias is the name every reader uses for a projection.
func (ix indexes) alias(n Name) string { return ix.name(string(n)) }

// rebuildAlias names the target of a running rebuild; the live projector
// writes to it as well, so nothing appended during the rebuild is lost.
func (ix indexes) rebuildAlias(n Name) string { return ix.name(string(n) + "-rebuild") }

// pattern matches every physical index of a projection.
func (ix indexes) pattern(n Name) string { return ix.alias(n) + "-v*" }

func (ix indexes) newIndexName(d *definition, at time.Time) string {
	at = at.UTC()
	return fmt.Sprintf("%s-v%d-%s%03d", ix.alias(d.name), d.mappingVersion, at.Format("20060102150405"), at.Nanosecond()/int(time.Millisecond))
}

// create makes a physical index from d's mapping, with replicas and
// refresh interval set, and the given aliases pointing at it from the
// start. It fails with resource_already_exists_exception if the name is
// taken.
func (ix indexes) create(ctx context.Context, d *definition, index string, replicas int, refreshInterval string, aliases ...string) error {
	settings := map[string]any{"number_of_replicas": replicas}
	if refreshInterval != "" {
		settings["refresh_interval"] = refreshInterval
	}
	body, err := indexBody(d.mappingFile, settings)
	if err != nil {
		return err
	}
	if len(aliases) > 0 {
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		as := map[string]any{}
		for _, a := range aliases {
			as[a] = map[string]any{}
		}
		m["aliases"] = as
		body, _ = json.Marshal(m)
	}
	if err := do(ctx, ix.es, esapi.IndicesCreateRequest{Index: index, Body: bytes.NewReader(body)}, nil); err != nil {
		return fmt.Errorf("create index %s: %w", index, err)
	}
	return nil
}

// aliasIndexes returns the indexes alias points at; none when the alias
// does not exist.
func (ix indexes) aliasIndexes(ctx context.Context, alias string) ([]string, error) {
	var rows []struct {
		Alias string `json:"alias"`
		Index string `json:"index"`
	}
	req := esapi.CatAliasesRequest{Name: []string{alias}, Format: "json"}
	if err := do(ctx, ix.es, req, &rows); err != nil {
		return nil, fmt.Errorf("look up alias %s: %w", alias, err)
	}
	var out []string
	for _, r := range rows {
		if r.Alias == alias && !slices.Contains(out, r.Index) {
			out = append(out, r.Index)
		}
	}
	slices.Sort(out)
	return out, nil
}

// aliasAction is one action of an atomic _aliases request.
type aliasAction struct {
	add    bool
	index  string
	alias  string
	ignore bool // a remove that may find nothing to remove
}

// updateAliases applies every action in one request: all or none, and no
// reader ever sees an intermediate state.
func (ix indexes) updateAliases(ctx context.Context, actions ...aliasAction) error {
	var list []map[string]any
	for _, a := range actions {
		body := map[string]any{"index": a.index, "alias": a.alias}
		kind := "add"
		if !a.add {
			kind = "remove"
			body["must_exist"] = !a.ignore
		}
		list = append(list, map[string]any{kind: body})
	}
	payload, _ := json.Marshal(map[string]any{"actions": list})
	if err := do(ctx, ix.es, esapi.IndicesUpdateAliasesRequest{Body: bytes.NewReader(payload)}, nil); err != nil {
		return fmt.Errorf("update aliases: %w", err)
	}
	return nil
}

func (ix indexes) putSettings(ctx context.Context, index string, settings map[string]any) error {
	payload, _ := json.Marshal(map[string]any{"index": settings})
	req := esapi.IndicesPutSettingsRequest{Index: []string{index}, Body: bytes.NewReader(payload)}
	if err := do(ctx, ix.es, req, nil); err != nil {
		return fmt.Errorf("update settings of %s: %w", index, err)
	}
	return nil
}

func (ix indexes) refresh(ctx context.Context, index string) error {
	if err := do(ctx, ix.es, esapi.IndicesRefreshRequest{Index: []string{index}}, nil); err != nil {
		return fmt.Errorf("refresh %s: %w", index, err)
	}
	return nil
}

func (ix indexes) exists(ctx context.Context, index string) (bool, error) {
	err := do(ctx, ix.es, esapi.IndicesExistsRequest{Index: []string{index}}, nil)
	switch {
	case err == nil:
		return true, nil
	case IsNotFound(err):
		return false, nil
	default:
		return false, fmt.Errorf("check index %s: %w", index, err)
	}
}

// IndexInfo describes one physical index of a projection.
type IndexInfo struct {
	Name string
	// Live is true for the index the projection's alias points at.
	Live bool
	// Rebuilding is true for the target of a running rebuild.
	Rebuilding bool
	Docs       int64
	Health     string
	// Created is when the index was created.
	Created time.Time
}

// list returns the physical indexes of a projection, newest first.
func (ix indexes) list(ctx context.Context, n Name) ([]IndexInfo, error) {
	var rows []struct {
		Index        string `json:"index"`
		Health       string `json:"health"`
		DocsCount    string `json:"docs.count"`
		CreationDate string `json:"creation.date"`
	}
	req := esapi.CatIndicesRequest{Index: []string{ix.pattern(n)}, Format: "json", H: []string{"index", "health", "docs.count", "creation.date"}}
	if err := do(ctx, ix.es, req, &rows); err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", n, err)
	}
	live, err := ix.aliasIndexes(ctx, ix.alias(n))
	if err != nil {
		return nil, err
	}
	rebuilding, err := ix.aliasIndexes(ctx, ix.rebuildAlias(n))
	if err != nil {
		return nil, err
	}
	out := make([]IndexInfo, 0, len(rows))
	for _, r := range rows {
		docs, _ := strconv.ParseInt(r.DocsCount, 10, 64)
		ms, _ := strconv.ParseInt(r.CreationDate, 10, 64)
		out = append(out, IndexInfo{
			Name: r.Index, Health: r.Health, Docs: docs, Created: time.UnixMilli(ms).UTC(),
			Live: slices.Contains(live, r.Index), Rebuilding: slices.Contains(rebuilding, r.Index),
		})
	}
	slices.SortFunc(out, func(a, b IndexInfo) int { return strings.Compare(b.Name, a.Name) })
	return out, nil
}

// ErrIndexInUse refuses to drop an index a reader or a rebuild still uses.
var ErrIndexInUse = errors.New("index is in use")

// drop deletes a physical index of projection n unless an alias of it
// points there.
func (ix indexes) drop(ctx context.Context, n Name, index string) error {
	if !strings.HasPrefix(index, ix.alias(n)+"-v") {
		return fmt.Errorf("drop index %s: not an index of projection %s", index, n)
	}
	for _, alias := range []string{ix.alias(n), ix.rebuildAlias(n)} {
		idx, err := ix.aliasIndexes(ctx, alias)
		if err != nil {
			return err
		}
		if slices.Contains(idx, index) {
			return fmt.Errorf("drop index %s: alias %s points at it: %w", index, alias, ErrIndexInUse)
		}
	}
	if err := do(ctx, ix.es, esapi.IndicesDeleteRequest{Index: []string{index}}, nil); err != nil {
		return fmt.Errorf("drop index %s: %w", index, err)
	}
	return nil
}
