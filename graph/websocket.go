package graph

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
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
		c := wsConnFrom(ctx)
		if c != nil {
			c.initialised.Store(true) // connection_init came in time
		}
		err := auth.TokenError(ctx)
		if header := payload.Authorization(); header != "" {
			var p auth.Principal
			if p, err = auth.VerifyWithSecret(secret, header); err == nil {
				return auth.WithPrincipal(ctx, p), nil, nil
			}
		}
		if err != nil {
			if c != nil && c.protocol == protocolGraphQLTransportWS {
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
//
// It also keeps the init timeout, for the same reason: gqlgen closes a
// connection that sent no connection_init in time with 1002 (protocol
// error), where graphql-transport-ws says 4408 "Connection initialisation
// timeout". A connection that sent none within initTimeout is closed with
// 4408 (graphql-transport-ws) or 1002 (the legacy graphql-ws, which names
// no code of its own).
func withWebsocketClose(initTimeout time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !isUpgrade(r) {
			next.ServeHTTP(w, r)
			return
		}
		c := &wsConn{protocol: negotiatedProtocol(r), frames: frameGuard{limit: maxWebsocketMessage}, initTimeout: initTimeout}
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
	if w.conn.initTimeout > 0 {
		time.AfterFunc(w.conn.initTimeout, w.conn.initTimedOut)
	}
	return w.conn, brw, nil
}

// Close codes of an init timeout: graphql-transport-ws's own, and RFC
// 6455's protocol error for the legacy graphql-ws.
const (
	closeInitTimeout   = 4408
	closeProtocolError = 1002
	initTimeoutReason  = "Connection initialisation timeout"
)

// initTimedOut closes the connection if it has not sent connection_init.
func (c *wsConn) initTimedOut() {
	if c.initialised.Load() {
		return
	}
	code := uint16(closeProtocolError)
	if c.protocol == protocolGraphQLTransportWS {
		code = closeInitTimeout
	}
	c.closeWith(code, initTimeoutReason)
	_ = c.Conn.Close() // gqlgen's read fails and it ends the connection
}

// wsConn is a websocket's network connection that can be closed with a
// close frame of our own, refuses messages larger than the client may
// send, and counts the subscriptions running on it.
type wsConn struct {
	net.Conn
	protocol string
	frames   frameGuard // touched by the connection's one reader only

	// initTimeout is how long the client has to send connection_init;
	// initialised is set once it did (websocketAuth ran).
	initTimeout time.Duration
	initialised atomic.Bool

	mu            sync.Mutex
	closed        bool // our close frame is sent: later writes are dropped
	subscriptions int
}

// maxWebsocketMessage bounds one message a client sends on a websocket:
// connection_init with its token, subscribe, ping. gorilla/websocket, under
// gqlgen, would otherwise read a message of any size into memory.
const maxWebsocketMessage = 64 << 10

// MaxSubscriptionsPerConnection bounds the subscriptions one websocket
// may run at once; each holds a goroutine and a change-feed watcher (a few
// KiB). A client following many orders at once (a console, the load
// benchmark) opens more connections.
const MaxSubscriptionsPerConnection = 1000

// closeMessageTooBig is RFC 6455's close code for a message too big to
// process.
const closeMessageTooBig = 1009

// Read implements net.Conn: a frame header announcing a message beyond
// maxWebsocketMessage closes the connection with 1009 before its payload
// is read.
func (c *wsConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		if tooBig := c.frames.scan(p[:n]); tooBig != nil {
			c.closeWith(closeMessageTooBig, tooBig.Error())
			_ = c.Conn.Close()
			return 0, tooBig
		}
	}
	return n, err
}

// acquireSubscription reserves one of the connection's subscriptions; the
// release func gives it back.
func (c *wsConn) acquireSubscription() (release func(), ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.subscriptions >= MaxSubscriptionsPerConnection {
		return nil, false
	}
	c.subscriptions++
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			c.subscriptions--
			c.mu.Unlock()
		})
	}, true
}

// AcquireSubscription reserves a subscription slot of the websocket ctx
// belongs to, refusing more than MaxSubscriptionsPerConnection at once;
// release is called when the subscription ends. Outside a websocket it
// always succeeds.
func AcquireSubscription(ctx context.Context) (release func(), err error) {
	c := wsConnFrom(ctx)
	if c == nil {
		return func() {}, nil
	}
	release, ok := c.acquireSubscription()
	if !ok {
		return nil, errcode.New(errcode.InvalidOrderData, "a connection runs at most %d subscriptions at once", MaxSubscriptionsPerConnection)
	}
	return release, nil
}

// frameGuard follows the frame headers of a client's byte stream (RFC 6455
// section 5.2) and reports a data message whose frames add up to more
// than limit bytes. Control frames (at most 125 bytes) do not count.
type frameGuard struct {
	limit   int64
	header  [14]byte
	have    int   // header bytes collected
	payload int64 // payload bytes of the current frame still to pass
	message int64 // bytes of the current data message so far
}

func (g *frameGuard) scan(p []byte) error {
	for len(p) > 0 {
		if g.payload > 0 {
			skip := min(g.payload, int64(len(p)))
			g.payload -= skip
			p = p[skip:]
			continue
		}
		g.header[g.have] = p[0]
		g.have++
		p = p[1:]
		if g.have < 2 || g.have < headerSize(g.header[1]) {
			continue
		}
		size := payloadSize(g.header[:g.have])
		g.have = 0
		g.payload = size
		switch opcode := g.header[0] & 0x0f; {
		case opcode >= 0x8: // control frame
			continue
		case opcode == 0x0: // continuation
			g.message += size
		default:
			g.message = size
		}
		if g.message > g.limit || size < 0 {
			return fmt.Errorf("message of more than %d bytes", g.limit)
		}
	}
	return nil
}

// headerSize is the length of a frame header whose second byte is b1.
func headerSize(b1 byte) int {
	n := 2
	switch b1 & 0x7f {
	case 126:
		n += 2
	case 127:
		n += 8
	}
	if b1&0x80 != 0 { // masked, as every client frame is
		n += 4
	}
	return n
}

// payloadSize reads the payload length of a complete frame header.
func payloadSize(h []byte) int64 {
	switch n := h[1] & 0x7f; n {
	case 126:
		return int64(binary.BigEndian.Uint16(h[2:4]))
	case 127:
		return int64(binary.BigEndian.Uint64(h[2:10])) // negative when the top bit is set: refused
	default:
		return int64(n)
	}
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
