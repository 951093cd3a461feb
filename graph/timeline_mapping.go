package graph

import (
	"time"

	"github.com/orderflow/orderflow/graph/model"
	"github.com/orderflow/orderflow/timeline"
)

func timelineModel(t timeline.Timeline) *model.OrderTimeline {
	m := &model.OrderTimeline{OrderID: t.OrderID, Entries: make([]model.OrderTimelineEntry, len(t.Entries))}
	if s := t.Saga; s != nil {
		m.Saga = &model.OrderTimelineSaga{
			Phase: s.Phase, Outcome: optional(s.Outcome), Attempts: s.Attempts, Deadline: optionalTime(s.Deadline),
			StartedAt: s.StartedAt, EndedAt: optionalTime(s.EndedAt), UpdatedAt: s.UpdatedAt, Failure: optional(s.Failure),
			Compensations: nonNil(s.Compensations), CompletedSteps: nonNil(s.Completed),
		}
	}
	for i, e := range t.Entries {
		m.Entries[i] = model.OrderTimelineEntry{
			At: e.At, Context: e.Context, Kind: e.Kind, Name: e.Name, Stream: optional(e.Stream),
			ID: optional(e.ID), CorrelationID: optional(e.CorrelationID), CausationID: optional(e.CausationID),
			TraceID: optional(e.TraceID), Detail: optional(e.Detail), Failure: e.Failure,
		}
		if e.Version > 0 {
			v := e.Version
			m.Entries[i].Version = &v
		}
	}
	return m
}

func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
