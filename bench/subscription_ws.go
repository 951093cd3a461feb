package bench

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// This file is a small client of the graphql-transport-ws protocol
// (https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md): a few
// websocket connections, each carrying many subscriptions told apart by
// their id.

const wsProtocol = "graphql-transport-ws"

const orderStatusSubscription = `subscription($id: ID!) { orderStatusChanged(orderId: $id) { id status version failure { code } } }`

type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// wsURL turns the HTTP endpoint into its websocket address.
func wsURL(httpURL string) string {
	switch {
	case strings.HasPrefix(httpURL, "https://"):
		return "wss://" + strings.TrimPrefix(httpURL, "https://")
	case strings.HasPrefix(httpURL, "http://"):
		return "ws://" + strings.TrimPrefix(httpURL, "http://")
	}
	return httpURL
}

// Subscriber spreads subscriptions over a fixed number of websocket
// connections, dialled when first needed and again after one broke.
type Subscriber struct {
	url   string
	token string
	conns []*wsConn
	mu    sync.Mutex
	next  atomic.Uint64
}

// NewSubscriber prepares up to n connections to the websocket endpoint of
// httpURL, authenticated with token in connection_init.
func NewSubscriber(httpURL, token string, n int) *Subscriber {
	return &Subscriber{url: wsURL(httpURL), token: token, conns: make([]*wsConn, max(n, 1))}
}

// Close closes every connection.
func (s *Subscriber) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		if c != nil {
			c.close(errors.New("subscriber closed"))
		}
	}
}

func (s *Subscriber) conn(ctx context.Context) (*wsConn, error) {
	i := int(s.next.Add(1) % uint64(len(s.conns)))
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.conns[i]; c != nil && !c.isDead() {
		return c, nil
	}
	c, err := dialWS(ctx, s.url, s.token)
	if err != nil {
		return nil, err
	}
	s.conns[i] = c
	return c, nil
}

// SubscribeOrder subscribes to orderStatusChanged of one order.
func (s *Subscriber) SubscribeOrder(ctx context.Context, orderID string) (*wsSubscription, error) {
	c, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	return c.subscribe(orderStatusSubscription, map[string]any{"id": orderID})
}

type wsConn struct {
	ws      *websocket.Conn
	writeMu sync.Mutex

	mu     sync.Mutex
	subs   map[string]*wsSubscription
	nextID atomic.Int64

	dead    chan struct{}
	deadErr error
	once    sync.Once
}

func dialWS(ctx context.Context, url, token string) (*wsConn, error) {
	dialer := websocket.Dialer{Subprotocols: []string{wsProtocol}, HandshakeTimeout: 10 * time.Second}
	ws, res, err := dialer.DialContext(ctx, url, http.Header{})
	if err != nil {
		if res != nil {
			return nil, fmt.Errorf("dial %s: %w (HTTP %d)", url, err, res.StatusCode)
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	if ws.Subprotocol() != wsProtocol {
		ws.Close()
		return nil, fmt.Errorf("dial %s: server did not accept the %s sub-protocol", url, wsProtocol)
	}
	c := &wsConn{ws: ws, subs: map[string]*wsSubscription{}, dead: make(chan struct{})}
	payload, _ := json.Marshal(map[string]string{"Authorization": "Bearer " + token})
	if err := c.write(wsMessage{Type: "connection_init", Payload: payload}); err != nil {
		ws.Close()
		return nil, fmt.Errorf("send connection_init: %w", err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		var m wsMessage
		if err := ws.ReadJSON(&m); err != nil {
			ws.Close()
			return nil, fmt.Errorf("wait for connection_ack: %w", err)
		}
		if m.Type == "ping" {
			_ = c.write(wsMessage{Type: "pong"})
			continue
		}
		if m.Type != "connection_ack" {
			ws.Close()
			return nil, fmt.Errorf("wait for connection_ack: got %q %s", m.Type, m.Payload)
		}
		break
	}
	_ = ws.SetReadDeadline(time.Time{})
	go c.read()
	return c, nil
}

func (c *wsConn) write(m wsMessage) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
	return c.ws.WriteJSON(m)
}

func (c *wsConn) read() {
	for {
		var m wsMessage
		if err := c.ws.ReadJSON(&m); err != nil {
			c.close(fmt.Errorf("websocket read: %w", err))
			return
		}
		switch m.Type {
		case "ping":
			if err := c.write(wsMessage{Type: "pong"}); err != nil {
				c.close(fmt.Errorf("websocket pong: %w", err))
				return
			}
		case "next", "error", "complete":
			c.mu.Lock()
			sub := c.subs[m.ID]
			c.mu.Unlock()
			if sub != nil {
				select {
				case sub.ch <- m:
				case <-sub.done:
				}
			}
		}
	}
}

func (c *wsConn) close(err error) {
	c.once.Do(func() {
		c.deadErr = err
		close(c.dead)
		c.ws.Close()
	})
}

func (c *wsConn) isDead() bool {
	select {
	case <-c.dead:
		return true
	default:
		return false
	}
}

func (c *wsConn) subscribe(query string, vars map[string]any) (*wsSubscription, error) {
	id := strconv.FormatInt(c.nextID.Add(1), 10)
	sub := &wsSubscription{id: id, conn: c, ch: make(chan wsMessage, 8), done: make(chan struct{})}
	c.mu.Lock()
	c.subs[id] = sub
	c.mu.Unlock()
	payload, err := json.Marshal(gqlRequest{Query: query, Variables: vars})
	if err == nil {
		err = c.write(wsMessage{ID: id, Type: "subscribe", Payload: payload})
	}
	if err != nil {
		sub.Close()
		c.close(fmt.Errorf("websocket subscribe: %w", err))
		return nil, err
	}
	return sub, nil
}

// wsSubscription is one running subscription.
type wsSubscription struct {
	id       string
	conn     *wsConn
	ch       chan wsMessage
	done     chan struct{}
	once     sync.Once
	finished bool // the server completed it; no complete message to send
}

// errSubscriptionEnded is returned by Next once the server completed the
// subscription.
var errSubscriptionEnded = errors.New("subscription completed by the server")

// NextOrder waits for the subscription's next order state.
func (s *wsSubscription) NextOrder(ctx context.Context) (Order, error) {
	select {
	case <-ctx.Done():
		return Order{}, ctx.Err()
	case <-s.conn.dead:
		return Order{}, s.conn.deadErr
	case m := <-s.ch:
		switch m.Type {
		case "complete":
			s.finished = true
			return Order{}, errSubscriptionEnded
		case "error":
			s.finished = true
			return Order{}, payloadError(m.Payload)
		}
		var gr gqlResponse
		if err := json.Unmarshal(m.Payload, &gr); err != nil {
			return Order{}, &APIError{Code: CodeBadResponse, Message: "decode next: " + err.Error()}
		}
		if len(gr.Errors) > 0 {
			code, _ := gr.Errors[0].Extensions["code"].(string)
			if code == "" {
				code = CodeNoCode
			}
			return Order{}, &APIError{Code: code, Message: gr.Errors[0].Message}
		}
		var data struct{ OrderStatusChanged *Order }
		if err := json.Unmarshal(gr.Data, &data); err != nil || data.OrderStatusChanged == nil {
			return Order{}, &APIError{Code: CodeBadResponse, Message: "next without an order"}
		}
		return *data.OrderStatusChanged, nil
	}
}

// Close stops the subscription (telling the server unless it already
// completed it).
func (s *wsSubscription) Close() {
	s.once.Do(func() {
		close(s.done)
		s.conn.mu.Lock()
		delete(s.conn.subs, s.id)
		s.conn.mu.Unlock()
		if !s.finished && !s.conn.isDead() {
			_ = s.conn.write(wsMessage{ID: s.id, Type: "complete"})
		}
	})
}

// payloadError reads the payload of an "error" message: a list of GraphQL
// errors.
func payloadError(payload json.RawMessage) error {
	var errs []struct {
		Message    string         `json:"message"`
		Extensions map[string]any `json:"extensions"`
	}
	if err := json.Unmarshal(payload, &errs); err != nil || len(errs) == 0 {
		return &APIError{Code: CodeBadResponse, Message: "subscription error: " + truncate(string(payload), 200)}
	}
	code, _ := errs[0].Extensions["code"].(string)
	if code == "" {
		code = CodeNoCode
	}
	return &APIError{Code: code, Message: errs[0].Message}
}
