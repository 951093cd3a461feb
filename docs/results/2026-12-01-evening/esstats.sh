#!/usr/bin/env bash
# ES indices stats totals as key=value
curl -s 'localhost:9200/_stats/indexing,search,get,refresh,merge,flush,translog?level=indices' | python3 -c '
import json,sys
d=json.load(sys.stdin)
for name,ix in sorted(d["indices"].items()):
  t=ix["total"]
  print(name, "index", t["indexing"]["index_total"], "idx_ms", t["indexing"]["index_time_in_millis"], "get", t["get"]["total"], "get_ms", t["get"]["time_in_millis"], "query", t["search"]["query_total"], "q_ms", t["search"]["query_time_in_millis"], "fetch", t["search"]["fetch_total"], "refresh", t["refresh"]["total"], "ext_refresh", t["refresh"]["external_total"], "refresh_ms", t["refresh"]["total_time_in_millis"], "merges", t["merges"]["total"], "merge_ms", t["merges"]["total_time_in_millis"], "flush", t["flush"]["total"])
'
