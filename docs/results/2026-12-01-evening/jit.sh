#!/usr/bin/env bash
# per JVM: total and JIT compiler thread jiffies
c2() { local pid=$1; for t in /proc/$pid/task/*; do c=$(cat $t/comm 2>/dev/null); case "$c" in C2*|C1*) awk '{print $14+$15}' $t/stat 2>/dev/null;; esac; done | awk '{s+=$1} END{print s+0}'; }
es=$(pgrep -u orderflow-es java|head -1); kf=$(pgrep -f kafka.Kafka|head -1)
echo "t=$(date +%s) es_jit=$(c2 $es) es=$(awk '{print $14+$15}' /proc/$es/stat) kafka_jit=$(c2 $kf) kafka=$(awk '{print $14+$15}' /proc/$kf/stat)"
