#!/usr/bin/env bash
# Training throughput of ./darknet against the stock /usr/bin/darknet on the
# same cfg and data, whole `classifier train` runs (start-up and data loading
# included), taking turns A,B,A,B... Prints the median images/s of each and
# their ratio, with the CPU and kernel. Start-up and loading count against
# both, so the ratio is conservative; give each cfg enough iterations
# (cfg:N) that training dominates.
#   bench/train_throughput.sh [-rounds R] [-iters N] [-threads T] [cfg[:iters]...]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3 iters=8 threads=$(nproc)
while [[ $# -gt 0 && $1 == -* ]]; do
  case $1 in
    -rounds) rounds=$2; shift 2 ;;
    -iters) iters=$2; shift 2 ;;
    -threads) threads=$2; shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cfgs=("$@")
[[ ${#cfgs[@]} -gt 0 ]] || cfgs=(cfg/fmnist-small.cfg:100 cfg/fmnist-vgg.cfg:12)
[[ -x ./darknet ]] || { echo "build ./darknet first (make)" >&2; exit 1; }
[[ -x /usr/bin/darknet ]] || { echo "the stock darknet is missing: make deps" >&2; exit 1; }
[[ -s data/fashion-mnist/train.list ]] || ./darknet data fashion-mnist

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sed "s|^backup=.*|backup=$tmp/|; s|=data/|=$PWD/data/|" cfg/fashion-mnist.data > "$tmp/fm.data"

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); kernel $(uname -r); $(nproc) cores"
echo "rounds=$rounds ./darknet threads=$threads (stock darknet: 1 thread, its own gemm)"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for spec in "${cfgs[@]}"; do
  cfg=${spec%%:*} n=$iters
  [[ $spec == *:* ]] && n=${spec##*:}
  [[ -r $cfg ]] || { echo "cannot read $cfg" >&2; exit 1; }
  base=$(basename "$cfg" .cfg)
  # same cfg, stopping after $n iterations
  sed "s/^max_batches *=.*/max_batches=$n/" "$cfg" > "$tmp/$base.cfg"
  batch=$(sed -n 's/^batch *= *//p' "$cfg" | head -1)
  : > "$tmp/stock.txt"; : > "$tmp/ours.txt"
  for ((r = 0; r < rounds; ++r)); do
    for who in stock ours; do
      rm -f "$tmp"/*.weights "$tmp"/*.backup
      t0=$(date +%s.%N)
      if [[ $who == stock ]]; then
        (cd "$tmp" && /usr/bin/darknet classifier train fm.data "$base.cfg" >/dev/null 2>&1)
      else
        ./darknet classifier train "$tmp/fm.data" "$tmp/$base.cfg" -threads "$threads" >/dev/null 2>&1
      fi
      t1=$(date +%s.%N)
      echo "$n $batch $t0 $t1" | awk '{printf "%.2f\n", $1*$2/($4-$3)}' >> "$tmp/$who.txt"
    done
  done
  s=$(median < "$tmp/stock.txt"); o=$(median < "$tmp/ours.txt")
  printf '%-14s %4d iterations: stock %7.1f img/s   ./darknet %7.1f img/s   ratio %.2fx   (runs: stock %s | ours %s)\n' \
    "$base" "$n" "$s" "$o" "$(echo "$o $s" | awk '{print $1/$2}')" "$(tr '\n' ' ' < "$tmp/stock.txt")" \
    "$(tr '\n' ' ' < "$tmp/ours.txt")"
done
