package projections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/orderflow/orderflow/command/eventstore"
	"github.com/orderflow/orderflow/internal/config"
	"github.com/orderflow/orderflow/projections/documents"
)

// Name names a projection; it is also the base name of its alias.
type Name string

// The projections.
const (
	Orders    Name = "orders"
	Products  Name = "products"
	Customers Name = "customers"
)

// Names lists every projection.
func Names() []Name { return []Name{Orders, Products, Customers} }

// ParseName accepts a projection name as typed by an operator.
func ParseName(s string) (Name, error) {
	n := Name(s)
	if !slices.Contains(Names(), n) {
		return "", fmt.Errorf("unknown projection %q: want one of %v", s, Names())
	}
	return n, nil
}

// Handler names of the live projectors, one per projection. They are the
// Kafka consumer group names (namespaced by the subscriber factory): never
// rename one, a new name replays every event of its topic.
const (
	OrdersHandlerName    = "projections.orders"
	ProductsHandlerName  = "projections.products"
	CustomersHandlerName = "projections.customers"
)

// Stream types the projections fold, as the command side stores them.
const (
	orderStream    = "Order"
	productStream  = "Product"
	customerStream = "Customer"
)

// definition is everything about one projection that is not its document
// type: where its events come from and how its index looks.
type definition struct {
	name           Name
	context        config.Context
	streamType     string
	handlerName    string
	mappingFile    string
	mappingVersion int
	engine         engine
}

// engine folds and writes documents of one type; docEngine implements it
// for each document type.
type engine interface {
	project(ctx context.Context, p *Projector, d *definition, targets []target, events []documents.Event, opts projectOptions) (outcome, error)
	// reproject folds one stream from the event store alone and overwrites
	// its document in every target, even at an equal version.
	reproject(ctx context.Context, p *Projector, d *definition, targets []target, id string) (outcome, error)
}

// target is where documents are written: an alias (the live projector,
// which must never create an index by writing to a vanished alias) or a
// concrete index (the rebuild).
type target struct {
	index string
	alias bool
	// optional marks the rebuild alias: when it vanished (the rebuild
	// swapped or was cancelled since the view was taken) the target is
	// dropped instead of failing the write.
	optional bool
}

type projectOptions struct {
	// versionType is "external" unless a repair overwrites equal versions.
	versionType string
	// cache, when set, supplies and receives documents, so a rebuild or
	// the live projector reads few documents back.
	cache *docCache
}

// outcome counts what one projection call did.
type outcome struct {
	events  int
	written int
	stale   int
	healed  int
	// failed maps stream ids to why their documents were not written; the
	// events of those streams must be offered again.
	failed map[string]error
	// refused maps stream ids to documents Elasticsearch refused for good
	// (bulkResult.refused): offering the events again cannot help, so
	// they are not in failed.
	refused map[string]refusal
}

// refusal is a document write Elasticsearch refused for good.
type refusal struct {
	index string
	// version is the document's (stream) version; eventType the type of
	// the newest event folded into it.
	version   int
	eventType string
	err       *ResponseError
}

func (o outcome) err() error {
	if len(o.failed) == 0 {
		return nil
	}
	ids := make([]string, 0, len(o.failed))
	for id := range o.failed {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	errs := make([]error, 0, len(ids))
	for _, id := range ids {
		errs = append(errs, fmt.Errorf("stream %s: %w", id, o.failed[id]))
	}
	return errors.Join(errs...)
}

// docEngine is the fold and write path of one document type D.
type docEngine[D any] struct {
	id     func(D) string
	newDoc func(id string) D
	// fold is the document's pure fold (package documents).
	fold    func(D, ...documents.Event) (D, error)
	version func(D) int
	// enrich adds data from outside the stream (the customer's name on an
	// order); nil when there is none.
	enrich func(ctx context.Context, p *Projector, doc D) (D, error)
}

// project folds events into the documents behind each target and writes
// the documents that changed, whole, with their stream version as external
// version. Events already reflected are skipped; a gap is healed from the
// event store. Per-stream failures are in outcome.failed; only a failure of
// the whole call is an error.
func (g *docEngine[D]) project(ctx context.Context, p *Projector, d *definition, targets []target, events []documents.Event, opts projectOptions) (outcome, error) {
	out := outcome{events: len(events), failed: map[string]error{}, refused: map[string]refusal{}}
	streams, order := groupByStream(events)
	if opts.versionType == "" {
		opts.versionType = "external"
	}

	base := map[docRef]D{}
	stored, targets, err := g.read(ctx, p, d, targets, order, streams, opts, base)
	if err != nil {
		return out, err
	}
	for ref, s := range stored {
		doc := g.newDoc(ref.id)
		if s.found {
			if err := json.Unmarshal(s.source, &doc); err != nil {
				return out, fmt.Errorf("decode %s document %s: %w", d.name, ref.id, err)
			}
		}
		base[ref] = doc
	}
	byIndex := map[string]target{}
	for _, t := range targets {
		byIndex[t.index] = t
	}

	var (
		ops    []bulkOp
		docs   []D
		healer = &storeReader{}
	)
	for _, t := range targets {
		for _, id := range order {
			if out.failed[id] != nil {
				continue
			}
			doc := base[docRef{index: t.index, id: id}]
			next, err := g.fold(doc, streams[id]...)
			if _, gap := errors.AsType[*documents.GapError](err); gap {
				out.healed++
				next, err = g.heal(ctx, p, d, healer, doc)
			}
			if err == nil && g.version(next) < maxVersion(streams[id]) {
				err = fmt.Errorf("event store stream is at version %d, behind event version %d", g.version(next), maxVersion(streams[id]))
			}
			if err == nil && g.enrich != nil && g.version(next) != g.version(doc) {
				next, err = g.enrich(ctx, p, next)
			}
			if err != nil {
				out.failed[id] = err
				continue
			}
			if g.version(next) == g.version(doc) {
				continue // nothing new for this target
			}
			source, err := json.Marshal(next)
			if err != nil {
				out.failed[id] = fmt.Errorf("encode document: %w", err)
				continue
			}
			ops = append(ops, bulkOp{index: t.index, id: id, version: g.version(next), versionType: opts.versionType, requireAlias: t.alias, source: source})
			docs = append(docs, next)
		}
	}

	results, err := bulk(ctx, p.es, ops)
	if err != nil {
		return out, fmt.Errorf("write %s documents: %w", d.name, err)
	}
	for i, r := range results {
		op := ops[i]
		switch {
		case r.ok():
			out.written++
			if opts.cache != nil {
				opts.cache.put(docRef{index: op.index, id: op.id}, docs[i])
			}
		case r.stale():
			// The index already holds this version or a newer one: a
			// duplicate, or another writer got there first. Forget the
			// cached copy so the next batch reads the newer one.
			out.stale++
			if opts.cache != nil {
				opts.cache.remove(docRef{index: op.index, id: op.id})
			}
		case r.missingIndex() && byIndex[op.index].optional:
			p.forgetTargets(d.name) // the rebuild alias is gone: the rebuild swapped or was cancelled
		case r.refused():
			if opts.cache != nil {
				opts.cache.remove(docRef{index: op.index, id: op.id})
			}
			if _, ok := out.refused[op.id]; !ok {
				out.refused[op.id] = r.refusal(op.index, op.version, newest(streams[op.id]).Type)
			}
		default:
			if opts.cache != nil {
				opts.cache.remove(docRef{index: op.index, id: op.id})
			}
			if out.failed[op.id] == nil {
				out.failed[op.id] = fmt.Errorf("write %s/%s version %d: %w", op.index, op.id, op.version, r.err())
			}
		}
	}
	return out, nil
}

// read fetches, in one realtime mget, the stored documents that base does
// not already provide. An optional target that no longer exists is
// dropped; the targets that remain are returned.
func (g *docEngine[D]) read(ctx context.Context, p *Projector, d *definition, targets []target, order []string, streams map[string][]documents.Event, opts projectOptions, base map[docRef]D) (map[docRef]storedDoc, []target, error) {
	for {
		var refs []docRef
		for _, t := range targets {
			for _, id := range order {
				ref := docRef{index: t.index, id: id}
				switch {
				case minVersion(streams[id]) == 1:
					// The fold starts from scratch, so the stored document is
					// not needed: if it is already there, it is at least as
					// new and the write comes back stale.
					base[ref] = g.newDoc(id)
				case opts.cache != nil:
					if doc, ok := opts.cache.get(ref); ok {
						base[ref] = doc.(D)
						continue
					}
					refs = append(refs, ref)
				default:
					refs = append(refs, ref)
				}
			}
		}
		stored, err := mget(ctx, p.es, refs)
		if missing, ok := errors.AsType[*indexMissingError](err); ok {
			kept := slices.DeleteFunc(slices.Clone(targets), func(t target) bool { return t.optional && t.index == missing.index })
			if len(kept) < len(targets) {
				p.forgetTargets(d.name)
				targets = kept
				continue
			}
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read %s documents: %w", d.name, err)
		}
		return stored, targets, nil
	}
}

// reproject folds the stream id from the event store onto an empty
// document and writes it with version_type external_gte: a repair that also
// replaces a damaged document of the same version, while a newer document
// still wins.
func (g *docEngine[D]) reproject(ctx context.Context, p *Projector, d *definition, targets []target, id string) (outcome, error) {
	out := outcome{failed: map[string]error{}, refused: map[string]refusal{}}
	events, err := (&storeReader{}).read(ctx, p, d, id, 0)
	if err != nil {
		return out, fmt.Errorf("reproject %s %s: %w", d.name, id, err)
	}
	if len(events) == 0 {
		return out, fmt.Errorf("reproject %s %s: %w", d.name, id, ErrStreamNotFound)
	}
	doc, err := g.fold(g.newDoc(id), events...)
	if err == nil && g.enrich != nil {
		doc, err = g.enrich(ctx, p, doc)
	}
	if err != nil {
		return out, fmt.Errorf("reproject %s %s: %w", d.name, id, err)
	}
	source, err := json.Marshal(doc)
	if err != nil {
		return out, err
	}
	ops := make([]bulkOp, len(targets))
	for i, t := range targets {
		ops[i] = bulkOp{index: t.index, id: id, version: g.version(doc), versionType: "external_gte", requireAlias: t.alias, source: source}
	}
	results, err := bulk(ctx, p.es, ops)
	if err != nil {
		return out, fmt.Errorf("reproject %s %s: %w", d.name, id, err)
	}
	for i, r := range results {
		switch {
		case r.ok():
			out.written++
		case r.stale():
			out.stale++
		case r.refused():
			out.refused[id] = r.refusal(ops[i].index, ops[i].version, newest(events).Type)
		default:
			out.failed[id] = fmt.Errorf("write %s/%s: %w", ops[i].index, id, r.err())
		}
	}
	return out, nil
}

// ErrStreamNotFound reports a stream without events.
var ErrStreamNotFound = errors.New("stream has no events")

// heal folds the rest of the stream, read from the event store, onto doc.
func (g *docEngine[D]) heal(ctx context.Context, p *Projector, d *definition, r *storeReader, doc D) (D, error) {
	events, err := r.read(ctx, p, d, g.id(doc), g.version(doc))
	if err != nil {
		return doc, fmt.Errorf("heal gap: %w", err)
	}
	next, err := g.fold(doc, events...)
	if err != nil {
		return doc, fmt.Errorf("heal from event store: %w", err)
	}
	return next, nil
}

// storeReader reads streams from the event store for one projection call,
// remembering what it read so two targets with the same hole read once.
type storeReader struct {
	streams map[string][]documents.Event
}

func (r *storeReader) read(ctx context.Context, p *Projector, d *definition, id string, after int) ([]documents.Event, error) {
	key := fmt.Sprintf("%s@%d", id, after)
	if events, ok := r.streams[key]; ok {
		return events, nil
	}
	pool := p.pool(d.context)
	if pool == nil {
		return nil, fmt.Errorf("no database for context %s", d.context)
	}
	store := eventstore.New(pool, string(d.context))
	records, err := store.ReadStream(ctx, pool, id, after)
	if err != nil {
		return nil, err
	}
	events, err := recordsToEvents(records)
	if err != nil {
		return nil, err
	}
	if r.streams == nil {
		r.streams = map[string][]documents.Event{}
	}
	r.streams[key] = events
	return events, nil
}

// groupByStream returns the events per stream and the streams in order of
// first appearance.
func groupByStream(events []documents.Event) (map[string][]documents.Event, []string) {
	streams := map[string][]documents.Event{}
	var order []string
	for _, e := range events {
		if _, ok := streams[e.StreamID]; !ok {
			order = append(order, e.StreamID)
		}
		streams[e.StreamID] = append(streams[e.StreamID], e)
	}
	return streams, order
}

func minVersion(events []documents.Event) int {
	v := 0
	for i, e := range events {
		if i == 0 || e.Version < v {
			v = e.Version
		}
	}
	return v
}

// newest is the event of the highest version (the zero Event for none).
func newest(events []documents.Event) documents.Event {
	var last documents.Event
	for _, e := range events {
		if e.Version > last.Version {
			last = e
		}
	}
	return last
}

func maxVersion(events []documents.Event) int {
	v := 0
	for _, e := range events {
		v = max(v, e.Version)
	}
	return v
}
