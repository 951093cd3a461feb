// Package kafka holds orderflow's Kafka settings in one place: the hardened
// Sarama configuration every producer and consumer uses, watermill
// publisher and subscriber constructors built on it, topic administration
// and a reachability check.
package kafka

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/IBM/sarama"
	"github.com/ThreeDotsLabs/watermill"
	wmkafka "github.com/ThreeDotsLabs/watermill-kafka/v3/pkg/kafka"
	"github.com/ThreeDotsLabs/watermill/message"
	gometrics "github.com/rcrowley/go-metrics"

	"github.com/orderflow/orderflow/messages"
)

func init() {
	// Sarama keeps meters and histograms of every request and message in
	// go-metrics (rcrowley), which nothing here reads: they cost a few
	// percent of the process's CPU under load. orderflow's own Prometheus
	// metrics cover what operators need.
	gometrics.UseNilMetrics = true
}

// ProtocolVersion is the Kafka protocol spoken to the brokers. Watermill's
// default (1.0) is refused by Kafka 4; 3.9 is what deploy/local runs.
var ProtocolVersion = sarama.V3_9_0_0

// ConsumerSessionTimeout is how long a consumer group waits for a member
// that stopped heartbeating (killed) before its partitions move.
const ConsumerSessionTimeout = 6 * time.Second

// ProducerMaxMessageBytes is every producer's Producer.MaxMessageBytes.
// Sarama fills a record batch up to it, counting records uncompressed; the
// broker and topics accept batches of messages.MaxMessageBytes. The 16 KiB
// between them cover the batch's framing and what compression may add to
// incompressible data (LZ4: 1/255 of it plus a few bytes), so no batch a
// producer sends is ever too large for the broker. An event the event store
// accepted (at most messages.MaxEventBytes) fits it with its key and
// headers.
const ProducerMaxMessageBytes = messages.MaxMessageBytes - 16<<10

// TopicMaxMessageBytesConfig is the topic setting EnsureTopics sets to
// messages.MaxMessageBytes; the broker-wide default of the same limit is
// message.max.bytes, which deploy/local/deps writes.
const TopicMaxMessageBytesConfig = "max.message.bytes"

// PartitionKeyHeader carries the aggregate id a message is partitioned by,
// so everything about one aggregate lands on one partition, in order.
const PartitionKeyHeader = "partition_key"

// producerLinger is how long a produced message waits for others to share
// its request. BenchmarkPublisher measures it: at 1000 to 2000 messages/s
// from 64 senders, 3 ms cut the produce requests 4-7 times and this
// process's CPU per message 2-3 times, for about 2.5 ms more per send.
const producerLinger = 3 * time.Millisecond

// producerBatchMessages sends a batch without waiting out the linger once
// this many messages are ready, so the linger never caps throughput.
const producerBatchMessages = 64

// SaramaConfig returns the configuration every orderflow client starts from.
//
// Producers are idempotent with acks from all in-sync replicas and a single
// in-flight request per connection: a retried send can neither duplicate nor
// overtake an earlier message of the same key. They send batches of at
// most ProducerMaxMessageBytes, and they batch: a message waits up to
// producerLinger for others to the same broker, and a batch of
// producerBatchMessages goes at once, so concurrent senders (the saga after
// its commits) and a relay's batch share produce requests: fewer requests
// for the broker and less CPU here than a request per message, while a
// lone send waits a few ms more at most. Consumers of a new group start at
// the oldest offset, so a projector or saga started after events were
// written still sees them.
func SaramaConfig(clientID string) *sarama.Config {
	c := sarama.NewConfig()
	// The process id makes each process's consumer-group members
	// recognisable (orderflow groups, deploy/local/cluster status).
	c.ClientID = fmt.Sprintf("%s-%d", clientID, os.Getpid())
	c.Version = ProtocolVersion

	c.Producer.Idempotent = true
	c.Producer.RequiredAcks = sarama.WaitForAll
	c.Net.MaxOpenRequests = 1
	c.Producer.Retry.Max = 10
	c.Producer.Retry.Backoff = 100 * time.Millisecond
	c.Producer.Return.Successes = true
	c.Producer.Return.Errors = true
	c.Producer.Partitioner = sarama.NewHashPartitioner
	c.Producer.Compression = sarama.CompressionLZ4
	c.Producer.MaxMessageBytes = ProducerMaxMessageBytes
	c.Producer.Flush.Frequency = producerLinger
	c.Producer.Flush.Messages = producerBatchMessages

	c.Consumer.Offsets.Initial = sarama.OffsetOldest
	c.Consumer.Return.Errors = true
	// Consumer groups and failover. A member that dies without leaving
	// (kill -9, a lost node) holds its partitions until its session times
	// out; every other member learns of a rebalance at its next heartbeat.
	// With sarama's defaults (10 s session, 3 s heartbeat) a killed worker
	// stalled its partitions for 10-13 s, and since an order passes five
	// consumer groups, nearly every order. Heartbeats every 500 ms and the
	// broker's smallest session timeout (group.min.session.timeout.ms,
	// 6 s) halve that; see TestKilledMemberIsReplacedWithinTheSessionTimeout.
	// The eager sticky assignor stays: sarama v1.61's cooperative-sticky
	// (KIP-429) was measured to pause the partitions a member keeps for
	// longer than an eager rebalance does (about one heartbeat, as marking
	// offsets waits for the join; see TestMemberJoiningHardlyPausesTheOthers),
	// and static membership would make a restarted member wait out its own
	// session instead of rejoining at once.
	c.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{sarama.NewBalanceStrategySticky()}
	c.Consumer.Group.Session.Timeout = ConsumerSessionTimeout
	c.Consumer.Group.Heartbeat.Interval = 500 * time.Millisecond

	c.Metadata.Retry.Max = 5
	c.Metadata.Retry.Backoff = 250 * time.Millisecond
	return c
}

// Marshaler keys every Kafka record by the message's partition key header,
// which command and event publishers set to the aggregate id.
func Marshaler() wmkafka.MarshalerUnmarshaler {
	return wmkafka.NewWithPartitioningMarshaler(func(_ string, msg *message.Message) (string, error) {
		key := msg.Metadata.Get(PartitionKeyHeader)
		if key == "" {
			return "", fmt.Errorf("message %s has no %s header", msg.UUID, PartitionKeyHeader)
		}
		return key, nil
	})
}

// NewPublisher returns a watermill publisher with the hardened producer.
func NewPublisher(brokers []string, clientID string, logger watermill.LoggerAdapter) (*wmkafka.Publisher, error) {
	p, err := wmkafka.NewPublisher(wmkafka.PublisherConfig{
		Brokers:               brokers,
		Marshaler:             Marshaler(),
		OverwriteSaramaConfig: SaramaConfig(clientID),
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("create kafka publisher: %w", err)
	}
	return p, nil
}

// NewSubscriber returns a watermill subscriber in consumer group group,
// starting from the oldest offset when the group is new.
func NewSubscriber(brokers []string, group, clientID string, logger watermill.LoggerAdapter) (*wmkafka.Subscriber, error) {
	s, err := wmkafka.NewSubscriber(wmkafka.SubscriberConfig{
		Brokers:               brokers,
		Unmarshaler:           Marshaler(),
		OverwriteSaramaConfig: SaramaConfig(clientID),
		ConsumerGroup:         group,
		NackResendSleep:       100 * time.Millisecond,
		ReconnectRetrySleep:   time.Second,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("create kafka subscriber for group %s: %w", group, err)
	}
	return s, nil
}

// NewTailSubscriber returns a watermill subscriber outside any consumer
// group that reads every partition from the newest offset: each process
// sees every message published after it subscribed, and leaves no group
// behind. The API's live change feed uses it.
func NewTailSubscriber(brokers []string, clientID string, logger watermill.LoggerAdapter) (*wmkafka.Subscriber, error) {
	cfg := SaramaConfig(clientID)
	cfg.Consumer.Offsets.Initial = sarama.OffsetNewest
	s, err := wmkafka.NewSubscriber(wmkafka.SubscriberConfig{
		Brokers:               brokers,
		Unmarshaler:           Marshaler(),
		OverwriteSaramaConfig: cfg,
		ReconnectRetrySleep:   time.Second,
	}, logger)
	if err != nil {
		return nil, fmt.Errorf("create kafka tail subscriber: %w", err)
	}
	return s, nil
}

// Ping asks the brokers for cluster metadata: the cheapest request that
// proves a real broker answers.
func Ping(brokers []string) error {
	cfg := SaramaConfig("orderflow-ping")
	cfg.Net.DialTimeout = 3 * time.Second
	cfg.Metadata.Retry.Max = 0
	client, err := sarama.NewClient(brokers, cfg)
	if err != nil {
		return fmt.Errorf("kafka at %v is not reachable: %w", brokers, err)
	}
	defer client.Close()
	if len(client.Brokers()) == 0 {
		return fmt.Errorf("kafka at %v reports no brokers", brokers)
	}
	return nil
}

// EnsureTopics creates the topics that do not exist yet, with the given
// partition count and max.message.bytes = messages.MaxMessageBytes, so
// partitioning and size limits never depend on broker auto-creation.
// It returns once every partition has a leader: a producer that starts
// right after a topic was created would otherwise be told the partition
// does not exist.
func EnsureTopics(brokers []string, partitions int32, topics ...string) error {
	admin, err := sarama.NewClusterAdmin(brokers, SaramaConfig("orderflow-admin"))
	if err != nil {
		return fmt.Errorf("connect kafka admin: %w", err)
	}
	defer admin.Close()
	maxMessageBytes := strconv.Itoa(messages.MaxMessageBytes)
	for _, topic := range topics {
		err := admin.CreateTopic(topic, &sarama.TopicDetail{
			NumPartitions: partitions, ReplicationFactor: 1,
			ConfigEntries: map[string]*string{TopicMaxMessageBytesConfig: &maxMessageBytes},
		}, false)
		if err != nil && !errors.Is(err, sarama.ErrTopicAlreadyExists) {
			return fmt.Errorf("create topic %s: %w", topic, err)
		}
	}
	return waitForLeaders(brokers, topics, 30*time.Second)
}

func waitForLeaders(brokers, topics []string, timeout time.Duration) error {
	client, err := sarama.NewClient(brokers, SaramaConfig("orderflow-admin"))
	if err != nil {
		return fmt.Errorf("connect kafka: %w", err)
	}
	defer client.Close()
	deadline := time.Now().Add(timeout)
	for {
		missing := ""
		if err := client.RefreshMetadata(topics...); err != nil {
			missing = err.Error()
		}
		for _, topic := range topics {
			if missing != "" {
				break
			}
			ids, err := client.Partitions(topic)
			if err != nil || len(ids) == 0 {
				missing = topic
				break
			}
			for _, id := range ids {
				if leader, err := client.Leader(topic, id); err != nil || leader == nil {
					missing = fmt.Sprintf("%s/%d", topic, id)
					break
				}
			}
		}
		if missing == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("kafka topics not ready after %s: %s", timeout, missing)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// DeleteTopics removes topics; tests use it to leave nothing behind.
func DeleteTopics(brokers []string, topics ...string) error {
	admin, err := sarama.NewClusterAdmin(brokers, SaramaConfig("orderflow-admin"))
	if err != nil {
		return fmt.Errorf("connect kafka admin: %w", err)
	}
	defer admin.Close()
	var errs []error
	for _, topic := range topics {
		if err := admin.DeleteTopic(topic); err != nil && !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
			errs = append(errs, fmt.Errorf("delete topic %s: %w", topic, err))
		}
	}
	return errors.Join(errs...)
}
