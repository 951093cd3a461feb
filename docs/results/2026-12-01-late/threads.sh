#!/usr/bin/env bash
# per-thread-name CPU (jiffies) of a pid: threads.sh PID > file
pid=$1
for t in /proc/$pid/task/*; do
  name=$(cat $t/comm 2>/dev/null | sed 's/[0-9]*$//; s/ /_/g')
  awk -v n="$name" '{print n, $14+$15}' $t/stat 2>/dev/null
done | awk '{a[$1]+=$2} END {for (k in a) print k, a[k]}' | sort
