package app

import (
	"context"

	"github.com/orderflow/orderflow/command/domain/limits"
	"github.com/orderflow/orderflow/internal/auth"
	"github.com/orderflow/orderflow/internal/errcode"
	"github.com/orderflow/orderflow/timeline"
)

// OrderTimelines read an order's story from every context
// (timeline.Reader).
type OrderTimelines interface {
	Order(ctx context.Context, orderID string) (timeline.Timeline, bool, error)
}

// OrderTimelineHandler lets an operator follow one order across the
// contexts: every event with its correlation and causation, the commands
// handled and refused, the saga's phases, attempts, deadlines and failure,
// in time order.
type OrderTimelineHandler struct{ d *deps }

// Handle returns the order's story (admin only); NOT_FOUND when no
// context knows the order.
func (h OrderTimelineHandler) Handle(ctx context.Context, actor auth.Principal, orderID string) (timeline.Timeline, error) {
	if err := requireAdmin(actor); err != nil {
		return timeline.Timeline{}, err
	}
	if err := limits.RequiredText("orderId", orderID, limits.MaxIDLength); err != nil {
		return timeline.Timeline{}, err
	}
	if h.d.read.Timelines == nil {
		return timeline.Timeline{}, errcode.New(errcode.Internal, "order timelines are not served by this process")
	}
	t, found, err := h.d.read.Timelines.Order(ctx, orderID)
	if err != nil {
		return timeline.Timeline{}, err
	}
	if !found {
		return timeline.Timeline{}, errcode.New(errcode.NotFound, "order %s not found", orderID)
	}
	return t, nil
}
