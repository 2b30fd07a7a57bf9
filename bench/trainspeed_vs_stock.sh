#!/usr/bin/env bash
# Seconds per training iteration (train_network on one batch) of the stock
# /usr/bin/darknet (libdarknet's layers and its own gemm, 1 thread) against
# ./darknet abc trainspeed (the project's parser and fast float layers) and
# ./darknet with ABC_FLOAT=stock, on the same cfg, taking turns. The stock
# binary's figure is the median of the per-iteration seconds it prints while
# training on Fashion-MNIST (its first iteration skipped); ./darknet's is the
# median trainspeed reports on random input.
#   bench/trainspeed_vs_stock.sh [-rounds R] [-iters N] [-threads T] cfg...
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 iters=6 threads=$(nproc)
while [[ $# -gt 0 && $1 == -* ]]; do
  case $1 in
    -rounds) rounds=$2; shift 2 ;;
    -iters) iters=$2; shift 2 ;;
    -threads) threads=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cfgs=("$@")
[[ ${#cfgs[@]} -gt 0 ]] || cfgs=(bench/cfg/trainspeed-vgg.cfg bench/cfg/trainspeed-small.cfg)
[[ -x ./darknet ]] || { echo "build ./darknet first (make)" >&2; exit 1; }
[[ -x /usr/bin/darknet ]] || { echo "the stock darknet is missing: make deps" >&2; exit 1; }
[[ -s data/fashion-mnist/train.list ]] || ./darknet data fashion-mnist

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sed "s|^backup=.*|backup=$tmp/|; s|=data/|=$PWD/data/|" cfg/fashion-mnist.data > "$tmp/fm.data"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rounds=$rounds, iterations/run=$iters; ./darknet -threads $threads; stock darknet: 1 thread, its own gemm"
for cfg in "${cfgs[@]}"; do
  base=$(basename "$cfg" .cfg)
  sed "s/^max_batches *=.*/max_batches=$((iters + 1))/" "$cfg" > "$tmp/$base.cfg"
  batch=$(sed -n 's/^batch *= *//p' "$cfg" | head -1)
  : > "$tmp/stock.txt"; : > "$tmp/fast.txt"; : > "$tmp/abcstock.txt"
  for ((r = 0; r < rounds; ++r)); do
    rm -f "$tmp"/*.weights "$tmp"/*.backup
    (cd "$tmp" && /usr/bin/darknet classifier train fm.data "$base.cfg" 2>&1) |
      awk '/ seconds, / {for (i = 1; i < NF; ++i) if ($(i+1) == "seconds,") print $i}' | tail -n +2 | median >> "$tmp/stock.txt"
    ./darknet abc trainspeed "$cfg" -iters "$iters" -threads "$threads" 2>/dev/null |
      awk '/median/ {print $3}' >> "$tmp/fast.txt"
    ABC_FLOAT=stock ./darknet abc trainspeed "$cfg" -iters "$iters" -threads "$threads" 2>/dev/null |
      awk '/median/ {print $3}' >> "$tmp/abcstock.txt"
  done
  s=$(median < "$tmp/stock.txt"); f=$(median < "$tmp/fast.txt"); a=$(median < "$tmp/abcstock.txt")
  awk -v b="$batch" -v s="$s" -v f="$f" -v a="$a" -v n="$base" 'BEGIN {
    printf "%-20s /usr/bin/darknet %6.1f img/s | ABC_FLOAT=stock %6.1f img/s | fast %6.1f img/s | fast/usr-bin %.2fx, fast/ABC_FLOAT=stock %.2fx\n",
      n, b / s, b / a, b / f, s / f, a / f }'
  echo "  s/iteration per round: stock $(tr '\n' ' ' < "$tmp/stock.txt")| ABC_FLOAT=stock $(tr '\n' ' ' < "$tmp/abcstock.txt")| fast $(tr '\n' ' ' < "$tmp/fast.txt")"
done
