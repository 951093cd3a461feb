package console

import (
	"encoding/json"
	"net/http"
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
