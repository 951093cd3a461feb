#!/usr/bin/env bash
# Deletes what one bench run's namespace left on the local servers: its
# Elasticsearch indexes and its Kafka topics. Left behind, every run adds
# 5 topics (64 partitions) and 6 indexes that Kafka and Elasticsearch keep
# working on, which skews the next runs' figures (a day of runs had left
# 2,778 partitions and 123 indexes). The bench scripts call it after each
# run; their databases they drop themselves.
#
#   docs/drop-namespace.sh NAMESPACE
set -uo pipefail
cd "$(dirname "$0")/.."
ns=${1:?usage: docs/drop-namespace.sh NAMESPACE}
curl -s -XDELETE "localhost:9200/$ns-*?expand_wildcards=all" >/dev/null
java -cp "$(ls -d .local/kafka/kafka-*/libs | tail -n 1)/*" -Dlog4j.configuration=file:.local/kafka/log4j.properties \
	org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --delete --topic "$ns\..*" >/dev/null 2>&1
true
