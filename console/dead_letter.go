package console

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// deadLetterPage is the data of an entry's page shell: only the id, from
// the URL.
type deadLetterPage struct{ ID string }

func deadLetterPageData(r *http.Request) (string, any) {
	id := r.PathValue("id")
	return "Dead letter " + id, deadLetterPage{ID: id}
}

const deadLetterFields = `id handler topic partition offset aggregateId messageId type payload headers { key value }
    errorClass error attempts level firstFailedAt lastFailedAt nextAttemptAt status resolvedAt resolvedBy
    actions { action actor reason at }`

const deadLetterQuery = `query ConsoleDeadLetter($id: ID!) { deadLetter(id: $id) { ` + deadLetterFields + ` } }`

// deadLetterView is one entry with everything the store keeps of it.
type deadLetterView struct {
	deadLetterRow
	Topic         string     `json:"topic"`
	Partition     int        `json:"partition"`
	Offset        string     `json:"offset"`
	MessageID     string     `json:"messageId"`
	Payload       string     `json:"payload"`
	Level         int        `json:"level"`
	NextAttemptAt *time.Time `json:"nextAttemptAt"`
	ResolvedAt    *time.Time `json:"resolvedAt"`
	ResolvedBy    *string    `json:"resolvedBy"`
	Headers       []struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	} `json:"headers"`
	Actions []struct {
		Action string    `json:"action"`
		Actor  string    `json:"actor"`
		Reason string    `json:"reason"`
		At     time.Time `json:"at"`
	} `json:"actions"`
}

// PrettyPayload is the payload indented when it is JSON, as it is
// otherwise (a payload that does not decode is often why it is here).
func (d deadLetterView) PrettyPayload() string {
	var v any
	if err := json.Unmarshal([]byte(d.Payload), &v); err != nil {
		return d.Payload
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return d.Payload
	}
	return string(b)
}

// deadLetterDetail is the data of an entry's fragment.
type deadLetterDetail struct {
	Error *APIError
	Entry deadLetterView
	// AggregateURL lists every entry of the entry's aggregate.
	AggregateURL string
}

func (c *Console) deadLetterFragment(w http.ResponseWriter, r *http.Request) {
	var d deadLetterDetail
	var data struct {
		DeadLetter deadLetterView `json:"deadLetter"`
	}
	if err := c.query(r, deadLetterQuery, map[string]any{"id": r.PathValue("id")}, &data); err != nil {
		d.Error = c.asAPIError(err)
	} else {
		d.Entry = data.DeadLetter
		d.AggregateURL = deadLetterFilter{Aggregate: d.Entry.AggregateID}.PageURL()
	}
	c.fragment(w, "dead-letter-detail", d)
}

const replayDeadLettersMutation = `mutation ConsoleReplay($ids: [ID!], $aggregateId: ID) {
  replayDeadLetters(ids: $ids, aggregateId: $aggregateId) { id status }
}`

// replayDeadLetter asks the handlers to try one entry again now.
func (c *Console) replayDeadLetter(w http.ResponseWriter, r *http.Request) {
	c.replay(w, r, map[string]any{"ids": []string{r.PathValue("id")}})
}

// replayAggregate asks the handlers to try every open entry of an
// aggregate (the form's aggregateId) again now, in order.
func (c *Console) replayAggregate(w http.ResponseWriter, r *http.Request) {
	c.replay(w, r, map[string]any{"aggregateId": strings.TrimSpace(r.FormValue("aggregateId"))})
}

func (c *Console) replay(w http.ResponseWriter, r *http.Request, vars map[string]any) {
	var res actionResult
	var data struct {
		ReplayDeadLetters []struct {
			ID string `json:"id"`
		} `json:"replayDeadLetters"`
	}
	if err := c.query(r, replayDeadLettersMutation, vars, &data); err != nil {
		res.Error = c.asAPIError(err)
		c.fragment(w, "action-result", res)
		return
	}
	switch n := len(data.ReplayDeadLetters); n {
	case 0:
		res.Message = "Nothing to replay: no open entry (they were replayed or discarded already)."
	case 1:
		res.Message = "Replay requested for 1 entry: its handler tries it again now; the entries waiting behind it follow."
	default:
		res.Message = fmt.Sprintf("Replay requested for %d entries: their handlers try them again now, in order.", n)
	}
	w.Header().Set("HX-Trigger", "dead-letters-changed")
	c.fragment(w, "action-result", res)
}

const discardDeadLetterMutation = `mutation ConsoleDiscard($id: ID!, $reason: String!) {
  discardDeadLetter(id: $id, reason: $reason) { id status }
}`

// discardDeadLetter gives an entry up for good, with the operator's
// reason; the entries waiting behind it follow.
func (c *Console) discardDeadLetter(w http.ResponseWriter, r *http.Request) {
	var res actionResult
	vars := map[string]any{"id": r.PathValue("id"), "reason": r.FormValue("reason")}
	if err := c.query(r, discardDeadLetterMutation, vars, nil); err != nil {
		res.Error = c.asAPIError(err)
	} else {
		res.Message = "Discarded: the entry is given up for good; the entries waiting behind it follow."
		w.Header().Set("HX-Trigger", "dead-letters-changed")
	}
	c.fragment(w, "action-result", res)
}
