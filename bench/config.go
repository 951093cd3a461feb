package bench

import (
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/orderflow/orderflow/internal/money"
)

// E2E modes: how the bench learns that an order reached its final status.
const (
	// E2EPoll polls the order query, with an interval that starts at
	// Config.PollInterval and grows with the order's age (see pollDelay).
	E2EPoll = "poll"
	// E2ESubscription subscribes to orderStatusChanged over a websocket
	// and falls back to polling for an order whose subscription fails.
	E2ESubscription = "subscription"
)

// Config is one benchmark run.
type Config struct {
	// URL is the GraphQL endpoint of the running orderflow.
	URL string
	// JWTSecret signs the bench's own admin and customer tokens; it must
	// be the server's ORDERFLOW_JWT_SECRET.
	JWTSecret string

	// Rate is the open model's arrival rate in orders per second: orders
	// leave on a fixed schedule whether or not earlier ones were answered.
	// Exactly one of Rate and Concurrency is positive.
	Rate float64
	// Concurrency is the closed model's number of workers, each placing
	// its next order when the previous placement was answered.
	Concurrency int
	// Duration is the measured part of the load.
	Duration time.Duration
	// Warmup is load sent before the measured part; its orders are checked
	// by the invariants but not counted in latencies or rates.
	Warmup time.Duration
	// Mix is the share of each scenario.
	Mix Mix
	// MaxInFlight caps the open model's unanswered placements; arrivals
	// beyond it are counted as CLIENT_OVERLOAD instead of being sent.
	MaxInFlight int

	// Products and Customers are the funded customers and stocked
	// products the normal orders use.
	Products  int
	Customers int
	// Stock is each product's initial stock.
	Stock int
	// Credit is each customer's initial credit, a decimal amount.
	Credit string
	// Price is each product's price, a decimal amount.
	Price string
	// ScarceStock is the initial stock of the one product the
	// out-of-stock orders buy; once sold out they are all refused.
	ScarceStock int
	// PoorCustomers are customers without credit who place the
	// insufficient-funds orders.
	PoorCustomers int

	// E2E is E2EPoll or E2ESubscription.
	E2E string
	// PollInterval is the shortest interval between two polls of one order.
	PollInterval time.Duration
	// PollConcurrency caps the poll requests in flight, whatever the
	// number of open orders: the polls' load on the server stays bounded,
	// and a slow server is polled less rather than more.
	PollConcurrency int
	// WSConnections is the number of websockets subscriptions share.
	WSConnections int

	// SettleTimeout bounds the wait, after the load, for every order to end
	// and every reservation and hold to be released.
	SettleTimeout time.Duration
	// RequestTimeout bounds every HTTP request.
	RequestTimeout time.Duration
	// CheckConcurrency is how many requests set-up and the invariant
	// checks send in parallel.
	CheckConcurrency int
	// ResendFor bounds how long, after the load, a placement that got no
	// definite answer keeps being sent again with its idempotency key
	// (every ResendInterval at most), as a client riding out an outage
	// would: only a placement still unanswered after it fails the run.
	ResendFor time.Duration
	// AllowSystemFailures counts orders that ended FAILED because the
	// system gave up on them (SAGA_TIMEOUT, COMPENSATION_FAILED) as
	// outcomes instead of failures of the run: for runs that inject a
	// payment provider that never answers. Drills leave it off.
	AllowSystemFailures bool
	// IdempotencySample is how many placed orders are sent again with
	// their idempotency key after settling, to check that they name the
	// same order.
	IdempotencySample int
	// Seed makes the choice of customers, products and quantities
	// repeatable.
	Seed uint64
	// Label is a free note recorded in the results, e.g. the server's
	// fault-injection settings.
	Label string
	// ProgressInterval is the period of the progress line; zero means one
	// second.
	ProgressInterval time.Duration
}

// DefaultConfig is the run of `orderflow bench` without flags.
func DefaultConfig() Config {
	mix, _ := ParseMix(DefaultMix)
	return Config{
		URL:               "http://localhost:8080/graphql",
		Duration:          60 * time.Second,
		Mix:               mix,
		MaxInFlight:       10_000,
		Products:          50,
		Customers:         500,
		Stock:             100_000,
		Credit:            "1000000.00",
		Price:             "1.00",
		ScarceStock:       10,
		PoorCustomers:     10,
		E2E:               E2ESubscription,
		PollInterval:      10 * time.Millisecond,
		PollConcurrency:   4,
		WSConnections:     16,
		SettleTimeout:     10 * time.Minute,
		RequestTimeout:    30 * time.Second,
		ResendFor:         5 * time.Minute,
		CheckConcurrency:  16,
		IdempotencySample: 50,
		Seed:              1,
		ProgressInterval:  time.Second,
	}
}

// maxOrderLinesInMix is the most lines a multi-line order has.
const maxOrderLinesInMix = 5

// Validate reports every problem at once.
func (c Config) Validate() error {
	var errs []error
	if u, err := url.Parse(c.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("url %q is not an http(s) URL", c.URL))
	}
	if c.JWTSecret == "" {
		errs = append(errs, errors.New("jwt secret is empty (ORDERFLOW_JWT_SECRET)"))
	}
	switch {
	case c.Rate > 0 && c.Concurrency > 0:
		errs = append(errs, errors.New("give either --rate (open model) or --concurrency (closed model), not both"))
	case c.Rate <= 0 && c.Concurrency <= 0:
		errs = append(errs, errors.New("give --rate (open model) or --concurrency (closed model)"))
	}
	if c.Duration <= 0 {
		errs = append(errs, errors.New("duration must be positive"))
	}
	if c.Warmup < 0 {
		errs = append(errs, errors.New("warmup must not be negative"))
	}
	if len(c.Mix) == 0 {
		errs = append(errs, errors.New("mix is empty"))
	}
	if c.Rate > 0 && c.MaxInFlight <= 0 {
		errs = append(errs, errors.New("max in-flight must be positive"))
	}
	if c.Products < 1 {
		errs = append(errs, errors.New("products must be at least 1"))
	}
	if c.Mix.Weight(MultiLine) > 0 && c.Products < 2 {
		errs = append(errs, errors.New("multi-line orders need at least 2 products"))
	}
	if c.Customers < 1 {
		errs = append(errs, errors.New("customers must be at least 1"))
	}
	if c.Stock < 0 || c.ScarceStock < 0 {
		errs = append(errs, errors.New("stock must not be negative"))
	}
	if c.Mix.Weight(InsufficientFunds) > 0 && c.PoorCustomers < 1 {
		errs = append(errs, errors.New("insufficient-funds orders need at least 1 poor customer"))
	}
	if a, err := money.Parse(c.Credit); err != nil || a < 0 {
		errs = append(errs, fmt.Errorf("credit %q is not a decimal amount >= 0", c.Credit))
	}
	if a, err := money.Parse(c.Price); err != nil || a <= 0 {
		errs = append(errs, fmt.Errorf("price %q is not a decimal amount > 0", c.Price))
	}
	if c.E2E != E2EPoll && c.E2E != E2ESubscription {
		errs = append(errs, fmt.Errorf("e2e %q is not %s or %s", c.E2E, E2EPoll, E2ESubscription))
	}
	if c.PollInterval <= 0 || c.PollConcurrency < 1 {
		errs = append(errs, errors.New("poll interval and poll concurrency must be positive"))
	}
	if c.WSConnections < 1 {
		errs = append(errs, errors.New("websocket connections must be at least 1"))
	}
	if c.SettleTimeout <= 0 || c.RequestTimeout <= 0 {
		errs = append(errs, errors.New("settle and request timeouts must be positive"))
	}
	if c.ResendFor < 0 {
		errs = append(errs, errors.New("resend-for must not be negative"))
	}
	if c.CheckConcurrency < 1 {
		errs = append(errs, errors.New("check concurrency must be at least 1"))
	}
	if c.IdempotencySample < 0 {
		errs = append(errs, errors.New("idempotency sample must not be negative"))
	}
	return errors.Join(errs...)
}

// Model names the load model for reports: "open 50/s" or "closed 8".
func (c Config) Model() string {
	if c.Rate > 0 {
		return fmt.Sprintf("open %s/s", trimFloat(c.Rate))
	}
	return fmt.Sprintf("closed %d", c.Concurrency)
}
