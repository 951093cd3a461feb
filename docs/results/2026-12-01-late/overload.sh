#!/usr/bin/env bash
# orderflow all on a fresh db; bench RATE for SECS; saga deadline metrics after
cd /work/main
out=$1; rate=$2; secs=$3; bin=${BIN:-/tmp/of-x}; mkdir -p $out
PG=(-h 127.0.0.1 -p 5433 -U postgres); db=orderflow_overload; ADDR=:18613
export ORDERFLOW_DEV=true
dropdb "${PG[@]}" --if-exists $db; createdb "${PG[@]}" $db
ns=ov$(date +%s)
export ORDERFLOW_POSTGRES_URL="postgres://postgres@127.0.0.1:5433/$db?sslmode=disable" ORDERFLOW_NAMESPACE=$ns ORDERFLOW_HTTP_ADDR=$ADDR
$bin migrate >/dev/null 2>&1
$bin all --http-addr $ADDR > $out/server.log 2>&1 &
server=$!
for _ in $(seq 60); do curl -sf "localhost$ADDR/readyz" >/dev/null && break; sleep 1; done
$bin bench --url "http://localhost$ADDR/graphql" --rate $rate --duration ${secs}s > $out/bench.txt 2>&1
curl -s localhost$ADDR/metrics | grep -E "^(orderflow_)?saga_(deadline|unsent)|^(orderflow_)?compensation_total" > $out/metrics.txt
psql -At "${PG[@]}" -d $db -c "select 'inbox ordering', count(*) from ordering.inbox" -c "select 'inbox inventory', count(*) from inventory.inbox" -c "select 'inbox payments', count(*) from payments.inbox" -c "select 'orders', count(distinct stream_id) from ordering.events" >> $out/metrics.txt
kill $server; wait $server
dropdb "${PG[@]}" $db
curl -s -XDELETE "localhost:9200/$ns-*?expand_wildcards=all" >/dev/null
java -cp "$(ls -d .local/kafka/kafka-*/libs | tail -n 1)/*" -Dlog4j.configuration=file:.local/kafka/log4j.properties \
	org.apache.kafka.tools.TopicCommand --bootstrap-server 127.0.0.1:9092 --delete --topic "$ns\..*" >/dev/null 2>&1
grep "e2e seen (all)" $out/bench.txt; cat $out/metrics.txt
