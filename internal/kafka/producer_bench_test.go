package kafka_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	gometrics "github.com/rcrowley/go-metrics"
	"github.com/stretchr/testify/require"

	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/internal/testenv"
)

// BenchmarkPublisher sends through the publisher the command bus uses
// (watermill's, a Sarama SyncProducer on kafka.SaramaConfig) to a real
// topic of 8 partitions, keyed over 1000 aggregates: one sender alone
// (ns/op is the latency of a lone send), 64 concurrent senders (as the
// saga sends after its commits) paced at a steady rate, and the same
// flat out. Each runs with orderflow's configuration and with linger off
// (every flush setting zero: Sarama sends as soon as it can), so one run
// compares both on the same machine. Besides ns/op it reports messages per
// second, messages per produce request (Sarama's request meter), the mean
// time a send waited for its acknowledgement and this process's CPU time
// per message (the broker's is not in it):
//
//	go test -run '^$' -bench Publisher -benchtime 3000x ./internal/kafka/
func BenchmarkPublisher(b *testing.B) {
	env := testenv.New(b)
	topic := env.Config.Topic("bench")
	require.NoError(b, kafka.EnsureTopics(env.Config.KafkaBrokers, 8, topic))
	// The package turns Sarama's meters off; the request count needs them.
	gometrics.UseNilMetrics = false
	b.Cleanup(func() { gometrics.UseNilMetrics = true })

	configs := []struct {
		name   string
		config func() *sarama.Config
	}{
		{"orderflow", func() *sarama.Config { return kafka.SaramaConfig("bench") }},
		{"no-linger", func() *sarama.Config {
			c := kafka.SaramaConfig("bench")
			c.Producer.Flush.Frequency, c.Producer.Flush.Messages, c.Producer.Flush.Bytes = 0, 0, 0
			return c
		}},
	}
	loads := []struct {
		name    string
		senders int
		rate    int // messages per second; 0: as fast as the senders go
	}{
		{"lone", 1, 0},
		{"paced-1000/s", 64, 1000},
		{"paced-2000/s", 64, 2000},
		{"flat-out", 64, 0},
	}
	for _, load := range loads {
		for _, c := range configs {
			b.Run(fmt.Sprintf("%s/config=%s", load.name, c.name), func(b *testing.B) {
				benchmarkSends(b, env.Config.KafkaBrokers, topic, c.config(), load.senders, load.rate)
			})
		}
	}
}

// benchmarkSends sends b.N messages from senders goroutines, at rate
// messages per second if rate is not 0.
func benchmarkSends(b *testing.B, brokers []string, topic string, cfg *sarama.Config, senders, rate int) {
	cfg.MetricRegistry = gometrics.NewRegistry()
	pub, err := wmkafka.NewPublisher(wmkafka.PublisherConfig{Brokers: brokers, Marshaler: kafka.Marshaler(), OverwriteSaramaConfig: cfg}, watermill.NopLogger{})
	require.NoError(b, err)
	defer func() { require.NoError(b, pub.Close()) }()
	send := func(i int64) error {
		msg := message.NewMessage(watermill.NewUUID(), []byte(`{"orderId":"bench","amount":1250}`))
		msg.Metadata.Set(kafka.PartitionKeyHeader, fmt.Sprintf("aggregate-%d", i%1000))
		return pub.Publish(topic, msg)
	}
	// The first send fetches metadata and the producer id.
	require.NoError(b, send(0))
	produce, ok := cfg.MetricRegistry.Get("protocol-requests-rate-0").(gometrics.Meter)
	require.True(b, ok, "no produce request meter")
	before := produce.Count()

	due := make(chan int64, senders)
	go func() {
		defer close(due)
		start := time.Now()
		for i := int64(1); i <= int64(b.N); i++ {
			if rate > 0 {
				time.Sleep(time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))))
			}
			due <- i
		}
	}()
	var latency atomic.Int64
	var wg sync.WaitGroup
	cpu := cpuTime(b)
	b.ResetTimer()
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range due {
				start := time.Now()
				if err := send(i); err != nil {
					b.Error(err)
				}
				latency.Add(int64(time.Since(start)))
			}
		}()
	}
	wg.Wait()
	b.StopTimer()

	n := float64(b.N)
	b.ReportMetric(n/b.Elapsed().Seconds(), "msgs/s")
	b.ReportMetric(n/float64(produce.Count()-before), "msgs/request")
	b.ReportMetric(float64(latency.Load())/n/1e6, "ms/send")
	b.ReportMetric(float64(cpuTime(b)-cpu)/n/1e3, "cpu-µs/msg")
}

// cpuTime is the CPU time this process used so far, user and system.
func cpuTime(b *testing.B) time.Duration {
	var u syscall.Rusage
	require.NoError(b, syscall.Getrusage(syscall.RUSAGE_SELF, &u))
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}
