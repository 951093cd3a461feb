#!/usr/bin/env bash
prev=$(awk '{print $14, $15}' /proc/32447/stat); pmaj=$(awk '{print $10, $12}' /proc/32447/stat)
for i in $(seq 16); do sleep 0.5; cur=$(awk '{print $14, $15}' /proc/32447/stat); cmaj=$(awk '{print $10, $12}' /proc/32447/stat); set -- $prev $cur $pmaj $cmaj; echo "utime=$(($3-$1)) stime=$(($4-$2)) minflt=$(($7-$5)) majflt=$(($8-$6))"; prev=$cur; pmaj=$cmaj; done
