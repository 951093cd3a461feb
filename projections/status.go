package projections

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/IBM/sarama"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/orderflow/orderflow/internal/kafka"
	"github.com/orderflow/orderflow/messages"
)

// Status is where one projection stands: its indexes, its consumer
// group's checkpoint on the event topic, and how far behind it is.
type Status struct {
	Projection Name
	Alias      string
	// Index is the physical index behind Alias.
	Index string
	// Rebuild is the unfinished rebuild, nil when none runs.
	Rebuild *RebuildState
	// Group and Topic are the live projector's consumer group and topic.
	Group      string
	Topic      string
	Partitions []PartitionStatus
	// LagEvents counts the events on the topic the projector has not
	// acknowledged yet.
	LagEvents int64
	// LagSeconds is the age of the oldest of them (now minus when it was
	// appended to the event store); 0 when caught up.
	LagSeconds float64
	// HeldDocuments counts the aggregates whose document Elasticsearch
	// refused for good: their events wait for an operator (see
	// projections.held_documents).
	HeldDocuments int64
}

// PartitionStatus is the checkpoint of one partition.
type PartitionStatus struct {
	Partition int32
	// Committed is the group's committed offset (the next record to
	// consume); -1 before its first commit.
	Committed int64
	// End is the offset the next published record will get.
	End int64
	Lag int64
}

// Status reports every projection; the API and the metrics call it. It
// asks Kafka for the checkpoints and, for each partition that lags, reads
// the oldest unconsumed record to tell its age.
func (p *Projector) Status(ctx context.Context) ([]Status, error) {
	client, err := sarama.NewClient(p.cfg.Settings.KafkaBrokers, statusSaramaConfig())
	if err != nil {
		return nil, fmt.Errorf("projection status: connect kafka: %w", err)
	}
	defer client.Close()
	admin, err := sarama.NewClusterAdminFromClient(client)
	if err != nil {
		return nil, fmt.Errorf("projection status: kafka admin: %w", err)
	}
	// admin.Close would close the shared client; client.Close above does.

	var out []Status
	for _, n := range Names() {
		st, err := p.status(ctx, client, admin, n)
		if err != nil {
			return nil, fmt.Errorf("status of projection %s: %w", n, err)
		}
		out = append(out, st)
	}
	return out, nil
}

func statusSaramaConfig() *sarama.Config {
	c := kafka.SaramaConfig("orderflow-projection-status")
	c.Net.DialTimeout = 3 * time.Second
	c.Net.ReadTimeout = 5 * time.Second
	c.Metadata.Retry.Max = 1
	return c
}

func (p *Projector) status(ctx context.Context, client sarama.Client, admin sarama.ClusterAdmin, n Name) (Status, error) {
	d := p.defs[n]
	st := Status{
		Projection: n,
		Alias:      p.ix.alias(n),
		Group:      p.cfg.Settings.ConsumerGroup(d.handlerName),
		Topic:      p.cfg.Settings.Topic(messages.EventsTopic(string(d.context))),
	}
	live, err := p.ix.aliasIndexes(ctx, st.Alias)
	if err != nil {
		return st, err
	}
	if len(live) > 0 {
		st.Index = live[0]
	}
	if st.Rebuild, err = (rebuildStore{pool: p.pool(d.context)}).open(ctx, st.Alias); err != nil {
		return st, err
	}
	if st.HeldDocuments, err = (heldStore{pool: p.pool(d.context)}).count(ctx, st.Alias); err != nil {
		return st, err
	}

	partitions, err := client.Partitions(st.Topic)
	if errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		return st, nil // nothing published yet
	}
	if err != nil {
		return st, fmt.Errorf("partitions of %s: %w", st.Topic, err)
	}
	offsets, err := admin.ListConsumerGroupOffsets(st.Group, map[string][]int32{st.Topic: partitions})
	if err != nil {
		return st, fmt.Errorf("offsets of group %s: %w", st.Group, err)
	}
	var oldestUnconsumed time.Time
	for _, part := range partitions {
		ps := PartitionStatus{Partition: part, Committed: -1}
		if b := offsets.GetBlock(st.Topic, part); b != nil && b.Err == sarama.ErrNoError {
			ps.Committed = b.Offset
		}
		if ps.End, err = client.GetOffset(st.Topic, part, sarama.OffsetNewest); err != nil {
			return st, fmt.Errorf("end offset of %s/%d: %w", st.Topic, part, err)
		}
		next := ps.Committed
		if next < 0 {
			// A new group starts at the oldest retained record.
			if next, err = client.GetOffset(st.Topic, part, sarama.OffsetOldest); err != nil {
				return st, fmt.Errorf("oldest offset of %s/%d: %w", st.Topic, part, err)
			}
		}
		ps.Lag = max(0, ps.End-next)
		st.LagEvents += ps.Lag
		st.Partitions = append(st.Partitions, ps)
		if ps.Lag > 0 {
			at, err := recordTime(client, st.Topic, part, next)
			if err != nil {
				p.logger.Warn("age of unconsumed record unknown", "topic", st.Topic, "partition", part, "error", err)
				continue
			}
			if oldestUnconsumed.IsZero() || at.Before(oldestUnconsumed) {
				oldestUnconsumed = at
			}
		}
	}
	if !oldestUnconsumed.IsZero() {
		st.LagSeconds = max(0, time.Since(oldestUnconsumed).Seconds())
	}
	return st, nil
}

// recordTime reads the record at offset and returns when its event was
// appended (the occurred_at header, else the record timestamp).
func recordTime(client sarama.Client, topic string, partition int32, offset int64) (time.Time, error) {
	consumer, err := sarama.NewConsumerFromClient(client)
	if err != nil {
		return time.Time{}, err
	}
	defer consumer.Close()
	pc, err := consumer.ConsumePartition(topic, partition, offset)
	if err != nil {
		return time.Time{}, err
	}
	defer pc.Close()
	select {
	case msg := <-pc.Messages():
		for _, h := range msg.Headers {
			if string(h.Key) == messages.HeaderOccurredAt {
				if at, err := time.Parse(time.RFC3339Nano, string(h.Value)); err == nil {
					return at, nil
				}
			}
		}
		return msg.Timestamp, nil
	case err := <-pc.Errors():
		return time.Time{}, err
	case <-time.After(3 * time.Second):
		return time.Time{}, errors.New("no record within 3s")
	}
}

// statusCollector exports Status as gauges on every scrape, asking Kafka
// at most every cacheFor.
type statusCollector struct {
	p        *Projector
	cacheFor time.Duration

	lagEvents  *prometheus.Desc
	lagSeconds *prometheus.Desc
	committed  *prometheus.Desc
	end        *prometheus.Desc
	rebuilding *prometheus.Desc
	rebuildPos *prometheus.Desc
	held       *prometheus.Desc

	mu     sync.Mutex
	last   []Status
	lastAt time.Time
}

func newStatusCollector(p *Projector) *statusCollector {
	l := []string{"projection"}
	lp := []string{"projection", "partition"}
	return &statusCollector{
		p: p, cacheFor: 5 * time.Second,
		lagEvents: prometheus.NewDesc("orderflow_projection_lag_events",
			"Events on the projection's topic its consumer group has not acknowledged.", l, nil),
		lagSeconds: prometheus.NewDesc("orderflow_projection_lag_seconds",
			"Age of the oldest event the projection has not applied; 0 when caught up.", l, nil),
		committed: prometheus.NewDesc("orderflow_projection_committed_offset",
			"The projection consumer group's committed offset (its checkpoint) per partition.", lp, nil),
		end: prometheus.NewDesc("orderflow_projection_end_offset",
			"The end offset of the projection's topic per partition.", lp, nil),
		rebuilding: prometheus.NewDesc("orderflow_projection_rebuild_running",
			"1 while a rebuild of the projection is unfinished.", l, nil),
		rebuildPos: prometheus.NewDesc("orderflow_projection_rebuild_position",
			"Event store position an unfinished rebuild has projected up to.", l, nil),
		held: prometheus.NewDesc("orderflow_projection_held_documents",
			"Aggregates whose document Elasticsearch refused for good; their events are not applied until an operator re-projects them (projections.held_documents).", l, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *statusCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.lagEvents, c.lagSeconds, c.committed, c.end, c.rebuilding, c.rebuildPos, c.held} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *statusCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	if time.Since(c.lastAt) >= c.cacheFor {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		st, err := c.p.Status(ctx)
		cancel()
		if err != nil {
			c.p.logger.Warn("projection status unavailable", "error", err)
		} else {
			c.last, c.lastAt = st, time.Now()
		}
	}
	last := c.last
	c.mu.Unlock()
	for _, s := range last {
		n := string(s.Projection)
		ch <- prometheus.MustNewConstMetric(c.lagEvents, prometheus.GaugeValue, float64(s.LagEvents), n)
		ch <- prometheus.MustNewConstMetric(c.lagSeconds, prometheus.GaugeValue, s.LagSeconds, n)
		for _, ps := range s.Partitions {
			part := strconv.Itoa(int(ps.Partition))
			ch <- prometheus.MustNewConstMetric(c.committed, prometheus.GaugeValue, float64(ps.Committed), n, part)
			ch <- prometheus.MustNewConstMetric(c.end, prometheus.GaugeValue, float64(ps.End), n, part)
		}
		running, pos := 0.0, 0.0
		if s.Rebuild != nil {
			running, pos = 1, float64(s.Rebuild.Position)
		}
		ch <- prometheus.MustNewConstMetric(c.rebuilding, prometheus.GaugeValue, running, n)
		ch <- prometheus.MustNewConstMetric(c.rebuildPos, prometheus.GaugeValue, pos, n)
		ch <- prometheus.MustNewConstMetric(c.held, prometheus.GaugeValue, float64(s.HeldDocuments), n)
	}
}
