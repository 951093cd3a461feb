package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/money"
)

// productRef is a product the bench created, with what it started with.
type productRef struct {
	ID           string
	InitialStock int
	Price        money.Amount
}

// customerRef is a customer the bench registered, with its own token.
type customerRef struct {
	ID            string
	Token         string
	InitialCredit money.Amount
}

// fixture is what set-up created: the catalog and the accounts the load
// uses, all new, so the invariants can account for every unit and cent.
type fixture struct {
	adminToken string
	products   []*productRef
	scarce     *productRef
	customers  []*customerRef
	poor       []*customerRef
}

// allProducts returns every product of the run, the scarce one last.
func (f *fixture) allProducts() []*productRef {
	return append(append([]*productRef(nil), f.products...), f.scarce)
}

// allCustomers returns every customer of the run, the poor ones last.
func (f *fixture) allCustomers() []*customerRef {
	return append(append([]*customerRef(nil), f.customers...), f.poor...)
}

// tokenTTL keeps the bench's tokens valid for the whole run.
func (c Config) tokenTTL() time.Duration {
	return c.Warmup + c.Duration + c.SettleTimeout + 2*time.Hour
}

// setup creates the products and customers through the admin API.
func setup(ctx context.Context, cfg Config, client *Client, runID string) (*fixture, error) {
	secret := []byte(cfg.JWTSecret)
	admin, err := auth.Issue(secret, "orderflow-bench", cfg.tokenTTL(), auth.RoleAdmin)
	if err != nil {
		return nil, fmt.Errorf("sign admin token: %w", err)
	}
	price, _ := money.Parse(cfg.Price)
	credit, _ := money.Parse(cfg.Credit)
	f := &fixture{
		adminToken: admin,
		products:   make([]*productRef, cfg.Products),
		customers:  make([]*customerRef, cfg.Customers),
		poor:       make([]*customerRef, cfg.PoorCustomers),
	}

	product := func(sku string, stock int) (*productRef, error) {
		p, err := client.CreateProduct(ctx, admin, sku, "Bench item "+sku, cfg.Price, stock)
		if err != nil {
			return nil, fmt.Errorf("create product %s: %w", sku, err)
		}
		return &productRef{ID: p.ID, InitialStock: stock, Price: price}, nil
	}
	customer := func(name string, credit money.Amount) (*customerRef, error) {
		email := fmt.Sprintf("%s@bench.example.com", name)
		creditArg := ""
		if credit > 0 {
			creditArg = credit.String()
		}
		c, err := client.RegisterCustomer(ctx, admin, email, name, creditArg)
		if err != nil {
			return nil, fmt.Errorf("register customer %s: %w", name, err)
		}
		token, err := auth.Issue(secret, c.ID, cfg.tokenTTL(), auth.RoleCustomer)
		if err != nil {
			return nil, fmt.Errorf("sign token of customer %s: %w", c.ID, err)
		}
		return &customerRef{ID: c.ID, Token: token, InitialCredit: credit}, nil
	}

	var jobs []func() error
	for i := range f.products {
		jobs = append(jobs, func() (err error) {
			f.products[i], err = product(fmt.Sprintf("BENCH-%s-P%d", runID, i), cfg.Stock)
			return err
		})
	}
	jobs = append(jobs, func() (err error) {
		f.scarce, err = product(fmt.Sprintf("BENCH-%s-SCARCE", runID), cfg.ScarceStock)
		return err
	})
	for i := range f.customers {
		jobs = append(jobs, func() (err error) {
			f.customers[i], err = customer(fmt.Sprintf("bench-%s-c%d", runID, i), credit)
			return err
		})
	}
	for i := range f.poor {
		jobs = append(jobs, func() (err error) {
			f.poor[i], err = customer(fmt.Sprintf("bench-%s-poor%d", runID, i), 0)
			return err
		})
	}
	if err := parallel(ctx, cfg.CheckConcurrency, len(jobs), func(i int) error { return jobs[i]() }); err != nil {
		return nil, err
	}
	return f, nil
}

// parallel runs fn(0..n-1) on workers goroutines and returns the first
// error; after one, the remaining jobs are skipped.
func parallel(ctx context.Context, workers, n int, fn func(i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, max(n, 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if ctx.Err() != nil {
					continue
				}
				if err := fn(i); err != nil {
					cancel(err)
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := context.Cause(ctx); err != nil && err != context.Canceled {
		return err
	}
	return ctx.Err()
}

// order builds the order seq of a run: its scenario comes from the mix
// pattern, its customer, products and quantities from a generator seeded
// with (seed, seq), so a run is repeatable whatever the timing.
func (f *fixture) order(seed uint64, seq int64, sc Scenario, price money.Amount) (*customerRef, []OrderItem, money.Amount) {
	rng := rand.New(rand.NewPCG(seed, uint64(seq)))
	cust := f.customers[rng.IntN(len(f.customers))]
	var lines []OrderItem
	switch sc {
	case OutOfStock:
		lines = []OrderItem{{ProductID: f.scarce.ID, Quantity: 1}}
	case InsufficientFunds:
		cust = f.poor[rng.IntN(len(f.poor))]
		lines = []OrderItem{{ProductID: f.products[rng.IntN(len(f.products))].ID, Quantity: 1}}
	case MultiLine:
		n := min(2+rng.IntN(maxOrderLinesInMix-1), len(f.products))
		for _, i := range rng.Perm(len(f.products))[:n] {
			lines = append(lines, OrderItem{ProductID: f.products[i].ID, Quantity: 1 + rng.IntN(3)})
		}
	default: // Normal, Cancel
		lines = []OrderItem{{ProductID: f.products[rng.IntN(len(f.products))].ID, Quantity: 1 + rng.IntN(3)}}
	}
	var units int64
	for _, l := range lines {
		units += int64(l.Quantity)
	}
	return cust, lines, price * money.Amount(units)
}
