#!/bin/bash
# before_after.sh: this package's benchmarks before and after a change,
# measured interleaved, since this machine's speed drifts between runs: R
# rounds, each running the bench binary built at BASE and the one built
# from the working tree one after the other on one CPU; then the minimum
# ns/elem of each benchmark and their ratio (after / before: below 1 is
# faster).
#
#   BASE=fc9ac73 bash bench/before_after.sh
#   BASE=fc9ac73 R=3 B='^BenchmarkSoftmax$/impl=(avx512|avx2)/dtype=f32/shape=1000x37$' bash bench/before_after.sh
set -euo pipefail
cd "$(dirname "$0")/.."
base=${BASE:?"BASE=<commit> is the 'before'"}
pat=${B:-'^Benchmark(Softmax|LogSoftmax|SoftmaxBackward|SoftmaxBackwardAdd|LogSoftmaxBackward)$/impl=(avx512|avx2)/dtype=f(32|64)/shape=(4096x128|1024x1024|64x32000|1000x37|2048x10)$'}
tmp=$(mktemp -d)
trap 'git worktree remove --force "$tmp/base" >/dev/null 2>&1 || true; rm -rf "$tmp"' EXIT
git worktree add -q --detach "$tmp/base" "$base"
(cd "$tmp/base/bench" && go test -c -o "$tmp/before" .)
(cd bench && go test -c -o "$tmp/after" .)
for r in $(seq "${R:-5}"); do
  for w in before after; do
    taskset -c "${CPU:-1}" "$tmp/$w" -test.run '^$' -test.benchtime="${T:-0.1s}" -test.bench "$pat" |
      awk -v w="$w" '/^Benchmark/ {
        name = $1; sub("-[0-9]+$", "", name); sub("^Benchmark", "", name)
        split(name, a, "shape="); split(a[2], s, "x")
        print w, name, $3 / (s[1] * s[2]) }'
  done
done | awk '{ k = $2; if (!((k, $1) in m) || $3 < m[k, $1]) m[k, $1] = $3; seen[k] = 1 }
  END { for (k in seen) printf "%-64s %9.4f %9.4f %7.3f\n", k, m[k, "before"], m[k, "after"], m[k, "after"] / m[k, "before"] }' |
  sort | sed '1i benchmark (minimum ns/elem)                                       before     after   ratio'
