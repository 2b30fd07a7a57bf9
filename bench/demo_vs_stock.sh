#!/usr/bin/env bash
# detector demo end to end on the generated test video: ./darknet (float and binary cfgs, writing the annotated
# video, and -benchmark) against the stock /usr/bin/darknet's headless demo (-prefix: a JPEG per frame) on the
# float cfg, taking turns; prints frames per second (whole runs, start-up included) and the ratios.
#   bench/demo_vs_stock.sh [-frames N] [-rounds R]   (default: the whole 900-frame video, one round: about 2.5 min)
# Needs trained weights in backup/ (the README's detection commands); a cfg without them is skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
frames=900 rounds=1
while [[ $# -gt 0 ]]; do
  case $1 in
    -frames) frames=$2; shift 2 ;;
    -rounds) rounds=$2; shift 2 ;;
    *) echo "unknown option $1 (usage: bench/demo_vs_stock.sh [-frames N] [-rounds R])" >&2; exit 2 ;;
  esac
done
[[ -x ./darknet ]] || { echo "build ./darknet first (make)" >&2; exit 1; }
[[ -x /usr/bin/darknet ]] || { echo "the stock darknet is missing: make deps" >&2; exit 1; }
[[ -s data/fmnist-detect-video/video.mp4 ]] || ./darknet data fmnist-detect
float_w=backup/yolov3-tiny-fmnist_final.weights
[[ -s $float_w ]] || { echo "demo bench: no $float_w (train it: see README, Detection); skipped"; exit 0; }

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ffmpeg -loglevel error -nostdin -i data/fmnist-detect-video/video.mp4 -frames:v "$frames" -c copy "$tmp/clip.mp4"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'); kernel $(uname -r); $(nproc) cores"
echo "$frames frames of data/fmnist-detect-video/video.mp4 (416x416), networks at their cfg's 256x256; $rounds rounds, medians"

runs=("stock float|/usr/bin/darknet detector demo cfg/fmnist-detect.data cfg/yolov3-tiny-fmnist.cfg $float_w $tmp/clip.mp4 -prefix $tmp/stock")
for m in "" -xnor -abc33 -hada16-2; do
  w=backup/yolov3-tiny-fmnist${m}_final.weights
  [[ -s $w ]] || { echo "(no $w: yolov3-tiny-fmnist$m skipped)"; continue; }
  base="./darknet detector demo cfg/fmnist-detect.data cfg/yolov3-tiny-fmnist$m.cfg $w $tmp/clip.mp4"
  runs+=("ours ${m#-}${m:+ }video|$base -out_filename $tmp/out.mp4" "ours ${m#-}${m:+ }-benchmark|$base -benchmark")
done
declare -A secs
for ((r = 0; r < rounds; ++r)); do
  for run in "${runs[@]}"; do
    name=${run%%|*} cmd=${run#*|}
    rm -f "$tmp"/stock_*.jpg
    t0=$(date +%s.%N)
    rc=0
    $cmd > "$tmp/log" 2>&1 || rc=$?
    # the stock demo ends every video with SIGFPE (status 136) after its last frame: count its pictures instead
    if [[ $name == stock* && $rc == 136 ]] && (( $(ls "$tmp" | grep -c '^stock_.*\.jpg$') >= frames )); then rc=0; fi
    (( rc == 0 )) || { echo "$name failed (status $rc):"; tail -3 "$tmp/log"; exit 1; }
    secs[$name]+="$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN {print a - b}') "
  done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
stock=$(echo "${secs[stock float]}" | median)
printf '%-28s %8s %8s %10s\n' run seconds fps "vs stock"
for run in "${runs[@]}"; do
  name=${run%%|*}
  s=$(echo "${secs[$name]}" | median)
  awk -v n="$name" -v s="$s" -v f="$frames" -v st="$stock" 'BEGIN {printf "%-28s %8.2f %8.1f %9.1fx\n", n, s, f / s, st / s}'
done
