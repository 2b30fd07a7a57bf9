#!/usr/bin/env bash
# Runs every fuzz target for the given seconds: fuzz/run.sh <abc_fuzz binary> <seconds> [target ...]; with
# FUZZ_RUNS=N set, until N inputs instead (seconds then a bound).
# Each starts from its seeds (fuzz/corpus/<target>) and what earlier runs found (build-fuzz/corpus/<target>);
# a crash is kept in build-fuzz/crashes/ and fails the run. Prints one line a target: runs, time, crashes.
set -uo pipefail
bin=$1 seconds=$2
shift 2
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(cfg weights packfile data labels image)
out=$(dirname "$bin")
mkdir -p "$out/crashes" "$out/logs"
runs_flag=()
[ -n "${FUZZ_RUNS:-}" ] && runs_flag=(-runs="$FUZZ_RUNS")
echo "fuzz: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(uname -sr), $(date -u +%F)," \
     "${FUZZ_RUNS:+$FUZZ_RUNS runs or }${seconds} s a target, ASan+UBSan, 1 thread"
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$out/corpus/$t"
  extra=()
  [ "$t" = cfg ] && extra+=(tests/bad/cfg)
  log="$out/logs/$t.log"
  case $t in weights|packfile|image) max_len=65536 ;; *) max_len=8192 ;; esac
  # libdarknet's free_layer leaves the sublayers of [rnn], [gru], [lstm] and [crnn] allocated (a few KB an input
  # of the cfg target once the corpus holds them): its memory grows by that, not by what the project allocates
  rss=3072
  [ "$t" = cfg ] && rss=16384
  ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:quarantine_size_mb=16:malloc_context_size=5 UBSAN_OPTIONS=print_stacktrace=1 \
    "$bin" "$t" "${runs_flag[@]}" -max_total_time="$seconds" -max_len=$max_len -timeout=20 -rss_limit_mb=$rss -malloc_limit_mb=1024 \
    -close_fd_mask=3 -detect_leaks=0 -print_final_stats=1 -artifact_prefix="$out/crashes/$t-" \
    "$out/corpus/$t" "fuzz/corpus/$t" "${extra[@]}" >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ $rc -ne 0 ]; then
    failed=1
    echo "fuzz $t: FAILED after ${runs:-?} runs (exit $rc); log $log, input in $out/crashes/:"
    grep -E '^fuzz: |runtime error|ERROR: AddressSanitizer|SUMMARY' "$log" | head -3 | cut -c1-300
  else
    echo "fuzz $t: ${runs:-?} runs in ${secs:-?} s, 0 crashes, $cov, corpus $(ls "$out/corpus/$t" | wc -l) + $(ls "fuzz/corpus/$t" | wc -l) seeds"
  fi
done
exit $failed
