package kafka

import (
	"time"

	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
)

// ConsumerMetrics measure every consumed message per handler: how old it
// was when its handler started (from the record's timestamp: for events
// the append time the relay stamps, for commands the send time), which
// covers the relay, Kafka and the wait behind earlier messages of the
// partition; and how long each attempt of the handler took, by outcome. An
// age growing while the handling time stays flat means the partition
// queues: the handler cannot keep up or waits for a retry.
type ConsumerMetrics struct {
	age  *prometheus.HistogramVec
	took *prometheus.HistogramVec
}

// NewConsumerMetrics registers the consumer metrics with reg.
func NewConsumerMetrics(reg prometheus.Registerer) *ConsumerMetrics {
	buckets := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	m := &ConsumerMetrics{
		age: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orderflow_message_age_seconds",
			Help:    "Age of a consumed message when its handler started, from the Kafka record timestamp.",
			Buckets: buckets,
		}, []string{"handler"}),
		took: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "orderflow_message_handling_seconds",
			Help:    "Time one attempt of a handler took for a message (or a batch of a partition's messages), by outcome (ack or nack).",
			Buckets: buckets,
		}, []string{"handler", "outcome"}),
	}
	reg.MustRegister(m.age, m.took)
	return m
}

// Started records the age of a message whose handling starts now.
func (m *ConsumerMetrics) Started(handler string, recordTime, now time.Time) {
	if !recordTime.IsZero() {
		m.age.WithLabelValues(handler).Observe(now.Sub(recordTime).Seconds())
	}
}

// Handled records one attempt that started at start and ended with err.
func (m *ConsumerMetrics) Handled(handler string, start time.Time, err error) {
	outcome := "ack"
	if err != nil {
		outcome = "nack"
	}
	m.took.WithLabelValues(handler, outcome).Observe(time.Since(start).Seconds())
}

// Middleware measures the messages of a watermill router's handlers. It
// runs inside the retry middleware, so it sees every attempt.
func (m *ConsumerMetrics) Middleware() message.HandlerMiddleware {
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			name := message.HandlerNameFromCtx(msg.Context())
			start := time.Now()
			if ts, ok := wmkafka.MessageTimestampFromCtx(msg.Context()); ok {
				m.Started(name, ts, start)
			}
			out, err := h(msg)
			m.Handled(name, start, err)
			return out, err
		}
	}
}
