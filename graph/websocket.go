package graph

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"net"
	"net/http"
	"slices"
	"sync"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/gorilla/websocket"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
)

// The websocket sub-protocols served, in order of preference when a client
// offers both: the legacy graphql-ws (subscriptions-transport-ws) and
// graphql-transport-ws (the graphql-ws library's protocol).
const (
	protocolGraphQLWS          = "graphql-ws"
	protocolGraphQLTransportWS = "graphql-transport-ws"
)

var wsSubprotocols = []string{protocolGraphQLWS, protocolGraphQLTransportWS}

// closeForbidden is graphql-transport-ws' close code for a connection_init
// the server refuses.
const closeForbidden = 4403

// websocketAuth authenticates a websocket by the token in its
// connection_init payload, {"Authorization": "Bearer <jwt>"}. Browsers
// cannot set headers on websockets, so this replaces the HTTP middleware;
// an Authorization header on the upgrade request still counts when the
// payload has none. No token at all leaves the connection anonymous, like
// an HTTP request without one.
//
// An invalid token closes the connection the way its protocol says:
// graphql-transport-ws closes with 4403 Forbidden (its reason says why);
// the legacy graphql-ws answers connection_error, then closes.
func websocketAuth(secret []byte) transport.WebsocketInitFunc {
	return func(ctx context.Context, payload transport.InitPayload) (context.Context, *transport.InitPayload, error) {
		err := auth.TokenError(ctx)
		if header := payload.Authorization(); header != "" {
			var p auth.Principal
			if p, err = auth.VerifyWithSecret(secret, header); err == nil {
				return auth.WithPrincipal(ctx, p), nil, nil
			}
		}
		if err != nil {
			if c := wsConnFrom(ctx); c != nil && c.protocol == protocolGraphQLTransportWS {
				c.closeWith(closeForbidden, "Forbidden: "+refusal(err))
			}
			return ctx, nil, err
		}
		return ctx, nil, nil
	}
}

// refusal is the message of a coded error, without its code.
func refusal(err error) string {
	var coded *errcode.Error
	if errors.As(err, &coded) {
		return coded.Message
	}
	return err.Error()
}

// withWebsocketClose lets websocketAuth close a connection with a code of
// its choosing. gqlgen (v0.17.90) closes every connection whose InitFunc
// fails with 1000 (normal closure) and offers no way to change it, so the
// hijacked connection is wrapped: closeWith writes the close frame itself,
// and what gqlgen writes after it (its own close frame) is dropped.
func withWebsocketClose(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		c := &wsConn{protocol: negotiatedProtocol(r)}
		hw := hijackWriter{ResponseWriter: w, conn: c}
		next.ServeHTTP(hw, r.WithContext(context.WithValue(r.Context(), wsConnKey{}, c)))
	})
}

// negotiatedProtocol is the sub-protocol the upgrader picks for r: the
// first of wsSubprotocols the client offers (gorilla's rule), and the
// legacy protocol, gqlgen's default, when it offers none.
func negotiatedProtocol(r *http.Request) string {
	offered := websocket.Subprotocols(r)
	for _, p := range wsSubprotocols {
		if slices.Contains(offered, p) {
			return p
		}
	}
	return protocolGraphQLWS
}

type wsConnKey struct{}

func wsConnFrom(ctx context.Context) *wsConn {
	c, _ := ctx.Value(wsConnKey{}).(*wsConn)
	return c
}

// hijackWriter hands the upgrader a wsConn around the hijacked connection.
type hijackWriter struct {
	http.ResponseWriter
	conn *wsConn
}

// Hijack implements http.Hijacker.
func (w hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the response writer cannot be hijacked")
	}
	conn, brw, err := h.Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn.mu.Lock()
	w.conn.Conn = conn
	w.conn.mu.Unlock()
	return w.conn, brw, nil
}

// wsConn is a websocket's network connection that can be closed with a
// close frame of our own.
type wsConn struct {
	net.Conn
	protocol string

	mu     sync.Mutex
	closed bool // our close frame is sent: later writes are dropped
}

// Write implements net.Conn.
func (c *wsConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// closeWith sends a close frame with code and reason (cut to the 123
// bytes a control frame leaves it). The caller then returns an error to
// gqlgen, which closes the connection.
func (c *wsConn) closeWith(code uint16, reason string) {
	for len(reason) > 123 {
		_, size := utf8.DecodeLastRuneInString(reason)
		reason = reason[:len(reason)-size]
	}
	frame := make([]byte, 4, 4+len(reason))
	frame[0] = 0x88 // FIN, opcode close; a server's frames are not masked
	frame[1] = byte(2 + len(reason))
	binary.BigEndian.PutUint16(frame[2:], code)
	frame = append(frame, reason...)

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed || c.Conn == nil {
		return
	}
	_, _ = c.Conn.Write(frame)
	c.closed = true
}
