#!/usr/bin/env bash
# usage: ab.sh OUTPREFIX RATE SECS  variants given as NAME=ENV pairs via VARIANTS
cd /work/main
for round in 1 2; do
  for v in $VARIANTS; do
    name=${v%%:*}; envs=${v#*:}; envs=${envs//,/ }
    env $envs docs/bench-cpu.sh $1/$name-$round /tmp/of-x $2 $3 >/dev/null 2>&1
  done
done
for f in $1/*/summary.txt; do d=$(dirname $f); printf "%-28s %s | %s | %s\n" $(basename $d) "$(grep 'all five' $f | awk '{print $5}')" "$(grep -E '^(orderflow|postgres|kafka|elasticsearch|bench) ' $f | awk '{printf "%s=%s ", $1, $4}')" "$(grep 'e2e seen (all)' $d/bench.txt | awk '{print $5"/"$8}')"; done
