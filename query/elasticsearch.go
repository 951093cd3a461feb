package query

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"

	"github.com/orderflow/orderflow/internal/errcode"
)

// getDocument reads one document by id in realtime (it sees a write
// before any refresh) and decodes its source into out. A missing document
// is NOT_FOUND; a missing index or any other failure is an internal
// error.
func getDocument(ctx context.Context, es *elasticsearch.Client, index, kind, id string, out any) error {
	realtime := true
	res, err := esapi.GetRequest{Index: index, DocumentID: id, Realtime: &realtime}.Do(ctx, es)
	if err != nil {
		return fmt.Errorf("read %s %s: %w", kind, id, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		return fmt.Errorf("read %s %s: %w", kind, id, err)
	}
	var doc struct {
		Found  bool            `json:"found"`
		Source json.RawMessage `json:"_source"`
		Error  json.RawMessage `json:"error"`
	}
	_ = json.Unmarshal(body, &doc)
	switch {
	case res.StatusCode == http.StatusNotFound && len(doc.Error) == 0:
		return errcode.New(errcode.NotFound, "%s %s not found", kind, id)
	case res.IsError():
		return fmt.Errorf("read %s %s from %s: elasticsearch %s: %s", kind, id, index, res.Status(), truncate(body))
	}
	if err := json.Unmarshal(doc.Source, out); err != nil {
		return fmt.Errorf("decode %s %s: %w", kind, id, err)
	}
	return nil
}

func truncate(b []byte) string {
	if len(b) > 512 {
		return string(b[:512]) + "..."
	}
	return string(b)
}
