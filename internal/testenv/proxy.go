package testenv

import (
	"bytes"
	"net"
	"sync"
	"sync/atomic"
	"testing"
)

// Proxy is a TCP fault-injection proxy in the test process between the code under
// test and a real server, to inject the faults of a network or a crashed
// server: Cut drops every connection and refuses new ones until Restore;
// DropAfter lets the next client write containing a pattern reach the
// server, then closes that connection before the server's answer comes
// back (the server did the work, the client never hears of it).
type Proxy struct {
	target string
	ln     net.Listener

	mu        sync.Mutex
	cut       bool
	dropAfter []byte
	conns     map[net.Conn]struct{}
	dropped   int
}

// NewProxy listens on a free local port, forwards to target and
// closes when t ends.
func NewProxy(t testing.TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.Cut()
	})
	return p
}

// Addr is the proxy's host:port, to use instead of the target's.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// Cut closes every connection and refuses new ones until Restore.
func (p *Proxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		_ = c.Close()
	}
	clear(p.conns)
}

// Restore accepts connections again.
func (p *Proxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// DropAfter arms the proxy: the next client write that contains pattern
// is forwarded, and so is what the client sends after it, but the server's
// answer is not: when it comes (the server has done the work), both sides
// of the connection are closed instead. Waiting for the answer, not
// closing at once, matters when the request spans several reads (the
// pattern in one, the rest of the request in the next): cut at once, the
// server would never get the end of it.
func (p *Proxy) DropAfter(pattern []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.dropAfter = bytes.Clone(pattern)
}

// Dropped reports how many connections DropAfter closed.
func (p *Proxy) Dropped() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dropped
}

func (p *Proxy) accept() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		cut := p.cut
		p.mu.Unlock()
		if cut {
			_ = client.Close()
			continue
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		p.mu.Lock()
		p.conns[client], p.conns[server] = struct{}{}, struct{}{}
		p.mu.Unlock()
		l := &link{}
		go p.pipe(client, server, l, true)
		go p.pipe(server, client, l, false)
	}
}

// link is the state the two directions of one proxied connection share.
type link struct {
	// swallow is set once the client's request tripped DropAfter: the
	// server's next answer is dropped and the connection closed.
	swallow atomic.Bool
}

// pipe copies from src to dst; on the client's side it watches for the
// armed pattern, on the server's side it swallows the answer to it.
func (p *Proxy) pipe(src, dst net.Conn, l *link, fromClient bool) {
	defer func() {
		_ = src.Close()
		_ = dst.Close()
		p.mu.Lock()
		delete(p.conns, src)
		p.mu.Unlock()
	}()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if !fromClient && l.swallow.Load() {
				// The server answered the tripped request: it did the
				// work; the client never hears of it.
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
			if fromClient && p.trips(buf[:n]) {
				l.swallow.Store(true)
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) trips(b []byte) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.dropAfter == nil || !bytes.Contains(bytes.ToLower(b), p.dropAfter) {
		return false
	}
	p.dropAfter = nil
	p.dropped++
	return true
}
