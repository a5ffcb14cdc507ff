#!/bin/bash
# paired.sh: softmax backward, float32, measured interleaved with the
# anchors on this machine, whose speed drifts by up to 30% between runs:
# R rounds of gcc's loops (c_plain, c_ompsimd), oneDNN, memcpy and this
# package's tiers one after the other, then the minimum ns/elem of each.
# Needs the anchors built (../shared/anchors/install.sh and run.sh once).
# copy moves 8 bytes an element, the backward 12: its roofline is 1.5x
# the fastest copy, or read2write1 as it stands.
#
#   bash bench/paired.sh                       # all seven shapes, 7 rounds
#   R=3 SH=8x128256,2048x10 bash bench/paired.sh
set -euo pipefail
cd "$(dirname "$0")"
A=${ANCHORS:-../../shared/anchors/build}
SH=${SH:-4096x128,1024x1024,256x4096,64x32000,8x128256,1000x37,2048x10}
BIN=$(mktemp)
trap 'rm -f "$BIN"' EXIT
go test -c -o "$BIN" .
re=$(echo "$SH" | sed 's/,/|/g')
for r in $(seq "${R:-7}"); do
  for b in sleef_softmax onednn_softmax memcpy_baseline; do
    SHAPES=$SH BENCH_REPS=3 BENCH_REP_TIME=0.1 taskset -c 1 "$A/$b" 2>/dev/null |
      awk -F, '$2=="softmax_bwd" || $2=="copy" || $2=="read2write1" {print $1"/"$2, $3"x"$4, $8}'
  done
  taskset -c 1 "$BIN" -test.run '^$' -test.benchtime=0.1s \
    -test.bench "^BenchmarkSoftmaxBackward\$/impl=(avx512|avx2|dispatched)/dtype=f32/shape=($re)\$" |
    awk '/^Benchmark/ {split($1, a, "/"); sub("impl=", "", a[2]); sub("shape=", "", a[4]); sub("-[0-9]+$", "", a[4]);
      split(a[4], s, "x"); print "rowwise_" a[2] "/softmax_bwd", a[4], $3 / (s[1] * s[2])}'
done | awk '{k = $2 " " $1; if (!(k in m) || $3 < m[k]) m[k] = $3} END {for (k in m) print k, m[k]}' | sort -k1,1 -k3n
