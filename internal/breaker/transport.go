package breaker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
)

// Transport sends HTTP requests through a breaker: a request that cannot
// reach the server, or that the server answers 502, 503 or 504, counts
// against it; while it is open, requests fail at once.
type Transport struct {
	Next    http.RoundTripper
	Breaker *Breaker
}

// errUnavailableStatus is a 502, 503 or 504 answer.
var errUnavailableStatus = errors.New("server unavailable")

// RoundTrip implements http.RoundTripper.
func (t Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	var res *http.Response
	err := t.Breaker.Do(func() error {
		r, err := t.Next.RoundTrip(req)
		if err != nil {
			return err
		}
		switch r.StatusCode {
		case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<16))
			_ = r.Body.Close()
			return fmt.Errorf("%s %s: %w (%s)", req.Method, req.URL.Path, errUnavailableStatus, r.Status)
		}
		res = r
		return nil
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// NotCancelled counts every error but a cancelled context against the
// dependency (a caller that gave up says nothing about the server): the
// Fails of a breaker in front of a network dependency.
func NotCancelled(err error) bool {
	return err != nil && !errors.Is(err, context.Canceled)
}
