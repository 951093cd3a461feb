package ordering

import (
	"slices"
	"time"

	"github.com/orderflow/orderflow/messages"
)

// Progress is where an order stands: its status, the saga steps it
// completed, a cancellation request, what was undone and why it ended. It
// is folded from the order's events by one function, Apply, which the
// aggregate and the orders read model (package projections) share, so the
// two cannot disagree on any of it.
type Progress struct {
	Status                messages.OrderStatus
	Completed             []messages.SagaStep // in saga order
	CancellationRequested bool
	Compensations         []Compensation
	// Failure is why the order failed or was cancelled after a refusal;
	// nil otherwise (a cancellation on request included).
	Failure   *Failure
	UpdatedAt time.Time
}

// Apply returns p evolved by one event of the order's stream; events that
// do not move the order leave it as it is. p itself is not modified: the
// result shares no slice or pointer with it.
func (p Progress) Apply(e messages.Event) Progress {
	n := Progress{
		Status:                p.Status,
		Completed:             slices.Clone(p.Completed),
		CancellationRequested: p.CancellationRequested,
		Compensations:         slices.Clone(p.Compensations),
		UpdatedAt:             p.UpdatedAt,
	}
	if p.Failure != nil {
		f := *p.Failure
		n.Failure = &f
	}
	n.apply(e)
	return n
}

// apply evolves p in place: for the aggregate, which owns its progress and
// folds every event of the stream on each load.
func (p *Progress) apply(e messages.Event) {
	complete := func(step messages.SagaStep) {
		if !slices.Contains(p.Completed, step) {
			p.Completed = append(p.Completed, step)
		}
	}
	switch e := e.(type) {
	case messages.OrderPlaced:
		p.Status = messages.StatusPending
		p.Completed = []messages.SagaStep{messages.StepOrderCreated}
		p.UpdatedAt = e.PlacedAt
	case messages.OrderStepCompleted:
		complete(e.Step)
		if p.Status == messages.StatusPending && e.Step != messages.StepOrderCreated {
			p.Status = messages.StatusProcessing
		}
		p.UpdatedAt = e.At
	case messages.OrderCompensated:
		p.Compensations = append(p.Compensations, Compensation{Step: e.Step, Action: e.Action, Reason: e.Reason, At: e.At})
		p.UpdatedAt = e.At
	case messages.OrderCancellationRequested:
		p.CancellationRequested = true
		p.UpdatedAt = e.At
	case messages.OrderConfirmed:
		complete(messages.StepOrderConfirmed)
		p.Status = messages.StatusConfirmed
		p.UpdatedAt = e.At
	case messages.OrderCancelled:
		p.Status = messages.StatusCancelled
		if e.Code != "" { // without a code, a cancellation on request
			p.Failure = &Failure{Code: e.Code, Message: e.Message, Step: e.Step, At: e.At}
		}
		p.UpdatedAt = e.At
	case messages.OrderFailed:
		p.Status = messages.StatusFailed
		p.Failure = &Failure{Code: e.Code, Message: e.Message, Step: e.Step, At: e.At}
		p.UpdatedAt = e.At
	}
}

// CurrentStep is the latest completed saga step: where the order stands,
// not what it waits for. Empty before placement.
func (p Progress) CurrentStep() messages.SagaStep {
	if len(p.Completed) == 0 {
		return ""
	}
	return p.Completed[len(p.Completed)-1]
}

// PendingSteps are the steps still expected to happen, in saga order. A
// final order (or one not placed) expects nothing: empty, never nil.
func (p Progress) PendingSteps() []messages.SagaStep {
	if p.Status == "" || p.Status.Terminal() {
		return []messages.SagaStep{}
	}
	return slices.DeleteFunc(messages.AllSagaSteps(), func(s messages.SagaStep) bool { return slices.Contains(p.Completed, s) })
}
