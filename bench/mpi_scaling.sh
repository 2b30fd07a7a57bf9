#!/usr/bin/env bash
# Data-parallel training on this machine: images/s of `classifier train` in one process (1 thread), in 2 Open
# MPI ranks of 1 thread (each training the cfg's batch, the gradients reduced while backward runs, and after
# it), and in one process of 2 threads (the other use of the same two cores). Whole runs taking turns, median
# of the rounds; the training loop's own images/s (start-up excluded), and the 2-rank runs' bytes reduced per
# iteration and time waiting on the reduction.
#   bench/mpi_scaling.sh [-rounds R] [[det:]cfg[:iters]...]      (det: a detector on the fmnist-detect set)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=3
while [[ $# -gt 0 && $1 == -* ]]; do
  case $1 in
    -rounds) rounds=$2; shift 2 ;;
    -h|-help) sed -n '2,7p' "$0"; exit 0 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
cfgs=("$@")
[[ ${#cfgs[@]} -gt 0 ]] || cfgs=(cfg/fmnist-small.cfg:150 cfg/fmnist-abc33.cfg:40 cfg/resnet18-fmnist.cfg:8
                                 det:cfg/yolov3-tiny-fmnist.cfg:6)
[[ -x ./darknet ]] || { echo "build ./darknet first (make)" >&2; exit 1; }
command -v mpirun >/dev/null || { echo "mpirun is missing: make deps" >&2; exit 1; }
[[ -s data/fashion-mnist/train.list ]] || ./darknet data fashion-mnist

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
sed "s|^backup=.*|backup=$tmp/|; s|=data/|=$PWD/data/|" cfg/fashion-mnist.data > "$tmp/fm.data"
if [[ " ${cfgs[*]}" == *" det:"* ]]; then
  [[ -s data/fmnist-detect/train.list ]] || ./darknet data fmnist-detect
  sed "s|^backup *=.*|backup=$tmp/|; s|= *data/|=$PWD/data/|" cfg/fmnist-detect.data > "$tmp/det.data"
fi
mpi="mpirun --oversubscribe -np 2"
[[ $(id -u) == 0 ]] && mpi="$mpi --allow-run-as-root"

echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); kernel $(uname -r); $(nproc) cores;" \
  "$(mpirun --version | head -1); $(date -u +%F)"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for spec in "${cfgs[@]}"; do
  cmd="classifier train $tmp/fm.data"
  if [[ $spec == det:* ]]; then spec=${spec#det:}; cmd="detector train $tmp/det.data"; fi
  cfg=${spec%%:*} n=30
  [[ $spec == *:* ]] && n=${spec##*:}
  base=$(basename "$cfg" .cfg)
  # random=0: every variant trains at the cfg's size
  sed "s/^max_batches *=.*/max_batches=$n/; s/^random *= *1/random=0/" "$cfg" > "$tmp/$base.cfg"
  for v in one ranks ranks_after two; do : > "$tmp/$v.txt"; : > "$tmp/$v.ms"; : > "$tmp/$v.pct"; done
  for ((r = 0; r < rounds; ++r)); do
    for v in one ranks ranks_after two; do
      rm -f "$tmp"/*.weights "$tmp"/*.backup
      case $v in
        one) ./darknet -threads 1 $cmd "$tmp/$base.cfg" -clear > "$tmp/out" 2>&1 ;;
        two) ./darknet -threads 2 $cmd "$tmp/$base.cfg" -clear > "$tmp/out" 2>&1 ;;
        ranks) $mpi ./darknet -threads 1 $cmd "$tmp/$base.cfg" -clear > "$tmp/out" 2>&1 ;;
        ranks_after) ABC_MPI_OVERLAP=0 $mpi -x ABC_MPI_OVERLAP ./darknet -threads 1 $cmd "$tmp/$base.cfg" -clear \
                       > "$tmp/out" 2>&1 ;;
      esac
      sed -n 's/^Trained .*(\([0-9.]*\) images\/s).*/\1/p' "$tmp/out" >> "$tmp/$v.txt"
      sed -n 's/^2 ranks: .*, \([0-9.]*\) ms per iteration.*(\([0-9.]*\)% of.*/\1/p' "$tmp/out" >> "$tmp/$v.ms"
      sed -n 's/^2 ranks: .*, \([0-9.]*\) ms per iteration.*(\([0-9.]*\)% of.*/\2/p' "$tmp/out" >> "$tmp/$v.pct"
      mb=$(sed -n 's/^2 ranks: each reduced \([0-9.]*\) MB.*/\1/p' "$tmp/out")
      [[ -n $mb ]] && echo "$mb" > "$tmp/mb"
    done
  done
  one=$(median < "$tmp/one.txt") ranks=$(median < "$tmp/ranks.txt") after=$(median < "$tmp/ranks_after.txt")
  two=$(median < "$tmp/two.txt")
  printf '%-18s %3d it: 1 process 1 thread %7.1f img/s | 2 ranks x 1 thread %7.1f (%.2fx; reduce after backward %7.1f) | 1 process 2 threads %7.1f (%.2fx)\n' \
    "$base" "$n" "$one" "$ranks" "$(echo "$ranks $one" | awk '{print $1/$2}')" "$after" "$two" \
    "$(echo "$two $one" | awk '{print $1/$2}')"
  printf '    each rank reduced %s MB per iteration; waiting on it after backward: %s ms (%s%% of the iteration) overlapped, %s ms (%s%%) after backward\n' \
    "$(cat "$tmp/mb" 2>/dev/null)" "$(median < "$tmp/ranks.ms")" "$(median < "$tmp/ranks.pct")" \
    "$(median < "$tmp/ranks_after.ms")" "$(median < "$tmp/ranks_after.pct")"
done
