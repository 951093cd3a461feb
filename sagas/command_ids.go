package sagas

import "github.com/orderflow/orderflow/messages"

// CommandIDs are the message ids of every command the saga of st may have
// sent under its usual ids and under those of its re-drives (not the fresh
// ids of a Resend), so a reader can find what each context's inbox recorded
// for the order: handled when, and refused with which code. The first is
// the placement's own id, the order id.
func CommandIDs(orderID string, st State) []string {
	keys := []string{"authorize", "capture", "confirm", "void:authorized", "void:pending", "cancel:timeout", "fail",
		"step:" + string(messages.StepInventoryReserved), "step:" + string(messages.StepPaymentAuthorized)}
	for _, l := range st.Lines {
		keys = append(keys, "reserve:"+l.ProductID, "release:"+l.ProductID, "commit:"+l.ProductID)
	}
	keys = append(keys, "fail:compensation", "cancel", "compensated:payment", "compensated:inventory")
	ids := []string{orderID}
	for _, k := range keys {
		ids = append(ids, CommandID(orderID, k))
	}
	for _, nonce := range st.Redrives {
		for _, k := range keys {
			ids = append(ids, redrivenID(CommandID(orderID, k), nonce))
		}
	}
	return ids
}
