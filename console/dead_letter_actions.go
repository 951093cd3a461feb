package console

import (
	"fmt"
	"net/http"
	"strings"
)

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
