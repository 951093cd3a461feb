package bench

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeSubscriptionServer speaks graphql-transport-ws: it checks the token,
// pings once, and answers every subscription with what reply returns.
func fakeSubscriptionServer(t *testing.T, reply func(orderID string) []wsMessage) (url string, completed chan string) {
	t.Helper()
	completed = make(chan string, 16)
	upgrader := websocket.Upgrader{Subprotocols: []string{wsProtocol}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer ws.Close()
		var init wsMessage
		if ws.ReadJSON(&init) != nil || init.Type != "connection_init" {
			return
		}
		var payload map[string]string
		_ = json.Unmarshal(init.Payload, &payload)
		if payload["Authorization"] != "Bearer admin-token" {
			_ = ws.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4403, "Forbidden"))
			return
		}
		_ = ws.WriteJSON(wsMessage{Type: "connection_ack"})
		_ = ws.WriteJSON(wsMessage{Type: "ping"})
		for {
			var m wsMessage
			if ws.ReadJSON(&m) != nil {
				return
			}
			switch m.Type {
			case "subscribe":
				var req gqlRequest
				_ = json.Unmarshal(m.Payload, &req)
				for _, out := range reply(req.Variables["id"].(string)) {
					out.ID = m.ID
					_ = ws.WriteJSON(out)
				}
			case "complete":
				completed <- m.ID
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/graphql", completed
}

func next(status string) wsMessage {
	b, _ := json.Marshal(map[string]any{"data": map[string]any{"orderStatusChanged": map[string]any{"id": "o-1", "status": status, "version": 3}}})
	return wsMessage{Type: "next", Payload: b}
}

func TestSubscriberFollowsAnOrder(t *testing.T) {
	t.Parallel()
	url, completed := fakeSubscriptionServer(t, func(id string) []wsMessage {
		assert.Equal(t, "o-1", id)
		return []wsMessage{next("PROCESSING"), next("CONFIRMED")}
	})
	s := NewSubscriber(url, "admin-token", 2)
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	sub, err := s.SubscribeOrder(ctx, "o-1")
	require.NoError(t, err)
	o, err := sub.NextOrder(ctx)
	require.NoError(t, err)
	require.Equal(t, "PROCESSING", o.Status)
	o, err = sub.NextOrder(ctx)
	require.NoError(t, err)
	require.Equal(t, "CONFIRMED", o.Status)
	sub.Close()
	select {
	case id := <-completed:
		require.Equal(t, sub.id, id, "the client completes the subscription it no longer needs")
	case <-ctx.Done():
		t.Fatal("no complete message")
	}
}

func TestSubscriberReportsErrors(t *testing.T) {
	t.Parallel()
	url, _ := fakeSubscriptionServer(t, func(string) []wsMessage {
		return []wsMessage{{Type: "error", Payload: json.RawMessage(`[{"message":"not available","extensions":{"code":"INTERNAL"}}]`)}}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	s := NewSubscriber(url, "admin-token", 1)
	defer s.Close()
	sub, err := s.SubscribeOrder(ctx, "o-1")
	require.NoError(t, err)
	_, err = sub.NextOrder(ctx)
	require.Equal(t, "INTERNAL", errorCode(err))
	sub.Close()

	bad := NewSubscriber(url, "wrong-token", 1)
	defer bad.Close()
	_, err = bad.SubscribeOrder(ctx, "o-1")
	require.ErrorContains(t, err, "connection_ack")

	_, err = NewSubscriber("http://127.0.0.1:1/graphql", "t", 1).SubscribeOrder(ctx, "o-1")
	require.Error(t, err)
}

func TestWSURL(t *testing.T) {
	t.Parallel()
	require.Equal(t, "ws://localhost:8080/graphql", wsURL("http://localhost:8080/graphql"))
	require.Equal(t, "wss://example.com/graphql", wsURL("https://example.com/graphql"))
}
