package projections

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
)

// ResponseError is a non-2xx answer of Elasticsearch.
type ResponseError struct {
	Status int
	Type   string
	Reason string
}

func (e *ResponseError) Error() string {
	return fmt.Sprintf("elasticsearch %d %s: %s", e.Status, e.Type, e.Reason)
}

// do runs req and decodes a 2xx JSON answer into out (unless nil). Any
// other status is a *ResponseError carrying Elasticsearch's error type.
func do(ctx context.Context, es *elasticsearch.Client, req esapi.Request, out any) error {
	res, err := req.Do(ctx, es)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.IsError() {
		return responseError(res.StatusCode, res.Body)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, res.Body)
		return nil
	}
	if err := json.NewDecoder(res.Body).Decode(out); err != nil {
		return fmt.Errorf("decode elasticsearch answer: %w", err)
	}
	return nil
}

func responseError(status int, body io.Reader) error {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(body, 64<<10))
	re := &ResponseError{Status: status, Reason: string(raw)}
	if json.Unmarshal(raw, &e) == nil && len(e.Error) > 0 {
		var detail struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal(e.Error, &detail) == nil && detail.Type != "" {
			re.Type, re.Reason = detail.Type, detail.Reason
		}
	}
	return re
}

// IsNotFound reports a 404 answer (missing index, alias or document).
func IsNotFound(err error) bool {
	var re *ResponseError
	return errors.As(err, &re) && re.Status == http.StatusNotFound
}

// docRef names one document.
type docRef struct {
	index string
	id    string
}

// storedDoc is a document as read back, with its external version.
type storedDoc struct {
	found   bool
	version int64
	source  json.RawMessage
}

// mget reads documents in realtime (from the translog, so a document
// written a moment ago is seen before any refresh). A missing index or
// alias fails the whole request.
func mget(ctx context.Context, es *elasticsearch.Client, refs []docRef) (map[docRef]storedDoc, error) {
	out := make(map[docRef]storedDoc, len(refs))
	if len(refs) == 0 {
		return out, nil
	}
	type item struct {
		Index string `json:"_index"`
		ID    string `json:"_id"`
	}
	body := struct {
		Docs []item `json:"docs"`
	}{Docs: make([]item, len(refs))}
	for i, r := range refs {
		body.Docs[i] = item{Index: r.index, ID: r.id}
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	var res struct {
		Docs []struct {
			Index   string          `json:"_index"`
			ID      string          `json:"_id"`
			Found   bool            `json:"found"`
			Version int64           `json:"_version"`
			Source  json.RawMessage `json:"_source"`
			Error   json.RawMessage `json:"error"`
		} `json:"docs"`
	}
	realtime := true
	if err := do(ctx, es, esapi.MgetRequest{Body: bytes.NewReader(payload), Realtime: &realtime}, &res); err != nil {
		return nil, fmt.Errorf("mget %d documents: %w", len(refs), err)
	}
	if len(res.Docs) != len(refs) {
		return nil, fmt.Errorf("mget %d documents: got %d answers", len(refs), len(res.Docs))
	}
	// Answers come in request order; the _index of an answer is the
	// concrete index behind an alias, so match by position.
	for i, d := range res.Docs {
		if len(d.Error) > 0 && string(d.Error) != "null" {
			var e struct {
				Type string `json:"type"`
			}
			if json.Unmarshal(d.Error, &e) == nil && e.Type == "index_not_found_exception" {
				return nil, &indexMissingError{index: refs[i].index}
			}
			return nil, fmt.Errorf("mget %s/%s: %s", refs[i].index, refs[i].id, d.Error)
		}
		out[refs[i]] = storedDoc{found: d.Found, version: d.Version, source: d.Source}
	}
	return out, nil
}

// indexMissingError says an index or alias named in a request does not
// exist (any more).
type indexMissingError struct{ index string }

func (e *indexMissingError) Error() string { return "index or alias " + e.index + " does not exist" }

// bulkOp writes one whole document with an external version.
type bulkOp struct {
	index string
	id    string
	// version is the stream version of the last event in the document.
	version int
	// versionType is "external" (write only if newer) or "external_gte"
	// (also overwrite the same version, to repair a document).
	versionType string
	// requireAlias makes a write to an alias that disappeared fail
	// instead of creating an index of that name.
	requireAlias bool
	source       []byte
}

// bulkResult is one item's outcome.
type bulkResult struct {
	status int
	kind   string
	reason string
}

func (r bulkResult) ok() bool { return r.status >= 200 && r.status < 300 }

// stale is a version conflict: the index already holds this version or a
// newer one, which external versioning makes the expected outcome of a
// duplicate, a late event or a concurrent writer.
func (r bulkResult) stale() bool { return r.status == http.StatusConflict }

// refused is a write Elasticsearch will answer the same way every time:
// 400 Bad Request, such as document_parsing_exception or
// mapper_parsing_exception (a value the mapping cannot hold, e.g. beyond
// an integer field) or illegal_argument_exception (a keyword term over
// 32766 bytes). Retrying the document cannot help. 409 (stale), 429 (busy),
// 404 (alias missing) and 5xx are other stories.
func (r bulkResult) refused() bool { return r.status == http.StatusBadRequest }

// missingIndex is a write to an alias that does not exist (any more).
func (r bulkResult) missingIndex() bool { return r.kind == "index_not_found_exception" }

func (r bulkResult) err() error {
	return &ResponseError{Status: r.status, Type: r.kind, Reason: r.reason}
}

// maxRefusalReason bounds the reason kept for a refused document:
// Elasticsearch quotes the offending value, which may be the 40 KB
// keyword that caused the refusal.
const maxRefusalReason = 1024

// refusal describes a refused write of a document at version into index.
func (r bulkResult) refusal(index string, version int, eventType string) refusal {
	reason := r.reason
	if len(reason) > maxRefusalReason {
		reason = strings.ToValidUTF8(reason[:maxRefusalReason], "") + "…"
	}
	return refusal{index: index, version: version, eventType: eventType,
		err: &ResponseError{Status: r.status, Type: r.kind, Reason: reason}}
}

// bulk sends ops in one request and returns each item's outcome, in op
// order. Only a failed request is an error; item failures are for the
// caller to judge.
func bulk(ctx context.Context, es *elasticsearch.Client, ops []bulkOp) ([]bulkResult, error) {
	if len(ops) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	for _, op := range ops {
		buf.WriteString(`{"index":{"_index":`)
		writeJSONString(&buf, op.index)
		buf.WriteString(`,"_id":`)
		writeJSONString(&buf, op.id)
		buf.WriteString(`,"version":`)
		buf.WriteString(strconv.Itoa(op.version))
		buf.WriteString(`,"version_type":"`)
		buf.WriteString(op.versionType)
		buf.WriteByte('"')
		if op.requireAlias {
			buf.WriteString(`,"require_alias":true`)
		}
		buf.WriteString("}}\n")
		buf.Write(op.source)
		buf.WriteByte('\n')
	}
	var res struct {
		Errors bool `json:"errors"`
		Items  []map[string]struct {
			Status int `json:"status"`
			Error  *struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"error"`
		} `json:"items"`
	}
	req := esapi.BulkRequest{Body: &buf, FilterPath: []string{"errors", "items.*.status", "items.*.error.type", "items.*.error.reason"}}
	if err := do(ctx, es, req, &res); err != nil {
		return nil, fmt.Errorf("bulk write %d documents: %w", len(ops), err)
	}
	if len(res.Items) != len(ops) {
		return nil, fmt.Errorf("bulk write %d documents: got %d item results", len(ops), len(res.Items))
	}
	out := make([]bulkResult, len(ops))
	for i, item := range res.Items {
		for _, r := range item { // one key: the action
			out[i].status = r.Status
			if r.Error != nil {
				out[i].kind, out[i].reason = r.Error.Type, r.Error.Reason
			}
		}
	}
	return out, nil
}

func writeJSONString(buf *bytes.Buffer, s string) {
	b, _ := json.Marshal(s)
	buf.Write(b)
}
