package kafka

import (
	"time"

	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	"github.com/prometheus/client_golang/prometheus"
)

// ConsumerMetrics returns a router middleware that measures every consumed
// message per handler: how old it was when its handler started (from the
// record's timestamp: for events the append time the relay stamps, for
// commands the send time), which covers the relay, Kafka and the wait
// behind earlier messages of the partition; and how long the handler took,
// by outcome, per attempt (the retry middleware runs outside it). An age growing while the handling time stays flat means the
// partition queues: the handler cannot keep up or waits for a retry.
func ConsumerMetrics(reg prometheus.Registerer) message.HandlerMiddleware {
	buckets := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}
	age := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "orderflow_message_age_seconds",
		Help:    "Age of a consumed message when its handler started, from the Kafka record timestamp.",
		Buckets: buckets,
	}, []string{"handler"})
	took := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "orderflow_message_handling_seconds",
		Help:    "Time one attempt of a handler took for one message, by outcome (ack or nack).",
		Buckets: buckets,
	}, []string{"handler", "outcome"})
	reg.MustRegister(age, took)
	return func(h message.HandlerFunc) message.HandlerFunc {
		return func(msg *message.Message) ([]*message.Message, error) {
			name := message.HandlerNameFromCtx(msg.Context())
			start := time.Now()
			if ts, ok := wmkafka.MessageTimestampFromCtx(msg.Context()); ok && !ts.IsZero() {
				age.WithLabelValues(name).Observe(start.Sub(ts).Seconds())
			}
			out, err := h(msg)
			outcome := "ack"
			if err != nil {
				outcome = "nack"
			}
			took.WithLabelValues(name, outcome).Observe(time.Since(start).Seconds())
			return out, err
		}
	}
}
