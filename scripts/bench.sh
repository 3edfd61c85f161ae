#!/usr/bin/env bash
# Runs the Go benchmarks in bench/ on one core (GOMAXPROCS=1, -cpu 1) and
# prints a Markdown table of medians. Every pair named .../floor and
# .../gatehouse gets a ratio: floor ns/op divided by Gatehouse ns/op, i.e.
# the share of the raw cost's throughput Gatehouse reaches in the same run.
#   BENCH='Anonymous|Webhook' COUNT=5 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BENCH=${BENCH:-.}
COUNT=${COUNT:-5}
BENCHTIME=${BENCHTIME:-1s}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
echo "# go test -run '^$' -bench '$BENCH' -cpu 1 -count $COUNT -benchtime $BENCHTIME ./bench/ (GOMAXPROCS=1)" >&2
GOMAXPROCS=1 go test -run '^$' -bench "$BENCH" -cpu 1 -count "$COUNT" -benchtime "$BENCHTIME" -benchmem ./bench/ | tee "$out" >&2
awk '
/^Benchmark/ {
  name=$1; sub(/^Benchmark/, "", name); sub(/-[0-9]+$/, "", name)
  for (i=2;i<=NF;i++) if ($(i+1)=="ns/op") { v[name]=v[name] " " $i }
  for (i=2;i<=NF;i++) if ($(i+1)=="allocs/op") { a[name]=$i }
  for (i=2;i<=NF;i++) if ($(i+1) ~ /pct-of-floor$/) { key=name " " $(i+1); if (!(key in rseen)) { rseen[key]=1; ridx[++rn]=key }; r[key]=r[key] " " $i }
  if (!(name in seen)) { seen[name]=1; idx[++n]=name }
}
function median(s,   arr, k, m, i, j, t) {
  m=split(s, arr, " ")
  for (i=1;i<=m;i++) for (j=i+1;j<=m;j++) if (arr[j]+0<arr[i]+0) { t=arr[i]; arr[i]=arr[j]; arr[j]=t }
  return (m%2) ? arr[(m+1)/2] : (arr[m/2]+arr[m/2+1])/2
}
END {
  print "| benchmark | median ns/op | allocs/op | vs floor |"
  print "|---|---:|---:|---:|"
  for (x=1;x<=n;x++) { k=idx[x]
    med=median(v[k]); ratio=""
    if (k ~ /\/gatehouse$/) {
      f=k; sub(/\/gatehouse$/, "/floor", f)
      if (f in v) ratio=sprintf("%.0f %%", 100*median(v[f])/med)
    }
    printf "| %s | %.0f | %s | %s |\n", k, med, a[k], ratio
  }
  if (rn > 0) {
    print ""
    print "| interleaved benchmark | metric | median | runs |"
    print "|---|---|---:|---|"
    for (x=1;x<=rn;x++) { k=ridx[x]; split(k, kp, " "); printf "| %s | %s | %.1f %% |%s |\n", kp[1], kp[2], median(r[k]), r[k] }
  }
}' "$out"
