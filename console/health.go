package console

import (
	"net/http"
	"slices"
	"time"
)

const healthQuery = `query ConsoleHealth {
  projectionStatus { name alias index rebuilding lagEvents lagSeconds partitions { partition committed end lag } }
  reconciliation { startedAt finishedAt healing since checkedOrders healed needsPerson healable counts { kind count } }
  circuitBreakers { name state consecutiveFailures since lastFailureAt }
}`

// circuitBreaker is one breaker of the API process and its state.
type circuitBreaker struct {
	Name                string     `json:"name"`
	State               string     `json:"state"`
	ConsecutiveFailures int        `json:"consecutiveFailures"`
	Since               time.Time  `json:"since"`
	LastFailureAt       *time.Time `json:"lastFailureAt"`
}

// Badge is the CSS class of the breaker's state: closed is healthy.
func (b circuitBreaker) Badge() string {
	switch b.State {
	case "CLOSED":
		return "status-confirmed"
	case "HALF_OPEN":
		return "status-pending"
	}
	return "status-failed"
}

type projectionStatus struct {
	Name       string  `json:"name"`
	Alias      string  `json:"alias"`
	Index      string  `json:"index"`
	Rebuilding bool    `json:"rebuilding"`
	LagEvents  int     `json:"lagEvents"`
	LagSeconds float64 `json:"lagSeconds"`
	Partitions []struct {
		Partition int `json:"partition"`
		Committed int `json:"committed"`
		End       int `json:"end"`
		Lag       int `json:"lag"`
	} `json:"partitions"`
}

type reconciliationSummary struct {
	StartedAt     time.Time  `json:"startedAt"`
	FinishedAt    time.Time  `json:"finishedAt"`
	Healing       bool       `json:"healing"`
	Since         *time.Time `json:"since"`
	CheckedOrders int        `json:"checkedOrders"`
	Healed        int        `json:"healed"`
	NeedsPerson   int        `json:"needsPerson"`
	Healable      int        `json:"healable"`
	Counts        []struct {
		Kind  string `json:"kind"`
		Count int    `json:"count"`
	} `json:"counts"`
}

// dependency is one server the process needs, and its state.
type dependency struct {
	Name  string
	OK    bool
	State string
}

// healthData is the data of the health fragment.
type healthData struct {
	Error          *APIError
	Projections    []projectionStatus
	Reconciliation *reconciliationSummary
	Breakers       []circuitBreaker
	Dependencies   []dependency
	CheckedAt      time.Time
}

// healthFragment shows the read models' lag and rebuilds, the last
// reconciliation, each dependency's state and the circuit breakers in
// front of them. The admin-only query comes
// first: a token that may not read it sees none of this.
func (c *Console) healthFragment(w http.ResponseWriter, r *http.Request) {
	d := healthData{CheckedAt: time.Now().UTC()}
	var data struct {
		ProjectionStatus []projectionStatus     `json:"projectionStatus"`
		Reconciliation   *reconciliationSummary `json:"reconciliation"`
		CircuitBreakers  []circuitBreaker       `json:"circuitBreakers"`
	}
	if err := c.query(r, healthQuery, nil, &data); err != nil {
		d.Error = c.asAPIError(err)
		c.fragment(w, "health-detail", d)
		return
	}
	d.Projections, d.Reconciliation, d.Breakers = data.ProjectionStatus, data.Reconciliation, data.CircuitBreakers
	if c.opts.Readiness != nil {
		states, _ := c.opts.Readiness(r.Context())
		for name, state := range states {
			d.Dependencies = append(d.Dependencies, dependency{Name: name, OK: state == "ok", State: state})
		}
		slices.SortFunc(d.Dependencies, func(a, b dependency) int {
			if a.Name < b.Name {
				return -1
			}
			return 1
		})
	}
	c.fragment(w, "health-detail", d)
}
