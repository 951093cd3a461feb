package console

import (
	"net/http"
	"strings"
)

const redriveOrderSagaMutation = `mutation ConsoleRedrive($id: ID!) {
  redriveOrderSaga(orderId: $id) { orderId phase commands { messageId type } }
}`

// redriveOrderSaga asks the API to re-drive the order's saga: send again,
// under new message ids, what it waits on or what is left to settle or
// compensate. A saga that is done is refused (CONFLICT).
func (c *Console) redriveOrderSaga(w http.ResponseWriter, r *http.Request) {
	var res actionResult
	var data struct {
		RedriveOrderSaga struct {
			Phase    string `json:"phase"`
			Commands []struct {
				Type string `json:"type"`
			} `json:"commands"`
		} `json:"redriveOrderSaga"`
	}
	if err := c.query(r, redriveOrderSagaMutation, map[string]any{"id": r.PathValue("id")}, &data); err != nil {
		res.Error = c.asAPIError(err)
		c.fragment(w, "action-result", res)
		return
	}
	d := data.RedriveOrderSaga
	var sent []string
	for _, cmd := range d.Commands {
		sent = append(sent, cmd.Type)
	}
	if len(sent) == 0 {
		res.Message = "Saga re-driven (phase " + d.Phase + "): nothing needed sending again."
	} else {
		res.Message = "Saga re-driven (phase " + d.Phase + "): sent again " + strings.Join(sent, ", ") + "."
	}
	w.Header().Set("HX-Trigger", `{"order-changed": {"version": 0}}`)
	c.fragment(w, "action-result", res)
}
