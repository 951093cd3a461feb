package graph_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/systemtest"
)

// wsClient speaks one of the two GraphQL websocket sub-protocols.
type wsClient struct {
	t     *testing.T
	conn  *websocket.Conn
	proto string
}

func dialWS(t *testing.T, baseURL, proto, token string) *wsClient {
	t.Helper()
	d := websocket.Dialer{Subprotocols: []string{proto}, HandshakeTimeout: 10 * time.Second}
	conn, resp, err := d.Dial("ws"+strings.TrimPrefix(baseURL, "http")+"/graphql", nil)
	require.NoError(t, err)
	require.Equal(t, proto, resp.Header.Get("Sec-Websocket-Protocol"))
	c := &wsClient{t: t, conn: conn, proto: proto}
	t.Cleanup(func() { _ = conn.Close() })
	c.send(map[string]any{"type": "connection_init", "payload": map[string]any{"Authorization": "Bearer " + token}})
	for {
		msg := c.read()
		if msg.Type == "connection_ack" {
			return c
		}
		require.Contains(t, []string{"ka", "ping"}, msg.Type, "unexpected %s before the ack", msg.Type)
	}
}

type wsMessage struct {
	Type    string          `json:"type"`
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

func (c *wsClient) send(v any) { require.NoError(c.t, c.conn.WriteJSON(v)) }

func (c *wsClient) read() wsMessage {
	require.NoError(c.t, c.conn.SetReadDeadline(time.Now().Add(60*time.Second)))
	var m wsMessage
	require.NoError(c.t, c.conn.ReadJSON(&m))
	return m
}

func (c *wsClient) subscribe(id, query string, vars map[string]any) {
	start := "subscribe" // graphql-transport-ws
	if c.proto == "graphql-ws" {
		start = "start"
	}
	c.send(map[string]any{"id": id, "type": start, "payload": map[string]any{"query": query, "variables": vars}})
}

// statuses collects the subscription's states until it completes.
func (c *wsClient) statuses(id string) (statuses []string, versions []int) {
	data := "next"
	if c.proto == "graphql-ws" {
		data = "data"
	}
	for {
		m := c.read()
		switch m.Type {
		case "ka", "ping", "pong":
			continue
		case data:
			require.Equal(c.t, id, m.ID)
			var p struct {
				Data struct {
					OrderStatusChanged struct {
						Status  string
						Version int
					}
				}
				Errors []json.RawMessage
			}
			require.NoError(c.t, json.Unmarshal(m.Payload, &p))
			require.Empty(c.t, p.Errors, string(m.Payload))
			statuses = append(statuses, p.Data.OrderStatusChanged.Status)
			versions = append(versions, p.Data.OrderStatusChanged.Version)
		case "complete":
			return statuses, versions
		default:
			c.t.Fatalf("unexpected %s: %s", m.Type, m.Payload)
		}
	}
}

const statusSubscription = `subscription($id: ID!) { orderStatusChanged(orderId: $id) { status version } }`

// A subscription opened right after placing sees the current state first,
// then every change, in order (one state per version, none skipped), and
// ends after CONFIRMED; one opened after the end gets the final state and
// completes. Both websocket sub-protocols.
func TestOrderStatusSubscription(t *testing.T) {
	t.Parallel()
	f := setupWith(t, systemtest.Options{API: true})
	mug := f.createProduct(t, "5.00", 10)
	c := f.registerCustomer(t, "100.00")
	token := f.token(t, c.ID, auth.RoleCustomer)

	for _, proto := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(proto, func(t *testing.T) {
			o := f.placeOrder(t, token, placeOrderInput("sub-"+proto, mug.ID, 1))
			ws := dialWS(t, f.baseURL, proto, token)
			ws.subscribe("1", statusSubscription, map[string]any{"id": o.ID})
			statuses, versions := ws.statuses("1")

			require.Equal(t, "CONFIRMED", statuses[len(statuses)-1])
			require.Contains(t, []string{"PENDING", "PROCESSING", "CONFIRMED"}, statuses[0])
			for i := 1; i < len(versions); i++ {
				require.Equal(t, versions[i-1]+1, versions[i], "every change, in order: %v", versions)
			}
			seen := strings.Join(statuses, " ")
			require.NotContains(t, seen, "CANCELLED")

			// Opened after the end: the final state, then complete.
			late := dialWS(t, f.baseURL, proto, token)
			late.subscribe("2", statusSubscription, map[string]any{"id": o.ID})
			final, _ := late.statuses("2")
			require.Equal(t, []string{"CONFIRMED"}, final)
		})
	}

	t.Run("someone else's order is NOT_FOUND", func(t *testing.T) {
		o := f.placeOrder(t, token, placeOrderInput("sub-other", mug.ID, 1))
		other := f.registerCustomer(t, "1.00")
		ws := dialWS(t, f.baseURL, "graphql-transport-ws", f.token(t, other.ID, auth.RoleCustomer))
		ws.subscribe("1", statusSubscription, map[string]any{"id": o.ID})
		m := ws.read()
		require.Contains(t, []string{"error", "next"}, m.Type)
		require.Contains(t, string(m.Payload), `"code":"NOT_FOUND"`)
		require.NotContains(t, string(m.Payload), `"status"`, "no state of the order leaks")
	})
}
