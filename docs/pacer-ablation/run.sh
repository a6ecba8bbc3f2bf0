#!/bin/sh
# The pacer's ablation (docs/pacer.md, "Ablation"): builds the fleet benchmark with the switches of
# pacer.patch in a scratch worktree, then runs the whole matrix once per switched-off mechanism,
# a baseline and three variants at a time (the matrix is mostly waiting: four at once stay within
# the run-to-run spread that each batch's own baseline shows). Results go to $OUT (default
# target/pacer-ablation); compare.py prints each mechanism's cost per cell.
#
# pacer.patch applies to the pacer of commit 1256846 (the one BENCHMARKS.md measured, before
# `paced-episode` and `small-window` were removed), not to HEAD's: the scratch worktree checks out
# that commit.
set -eu
root=$(git rev-parse --show-toplevel)
out=${OUT:-$root/target/pacer-ablation}
scratch=$root/target/pacer-ablation-tree
measured=1256846
mkdir -p "$out"
[ -d "$scratch" ] || git -C "$root" worktree add --detach "$scratch" "$measured"
git -C "$scratch" checkout -q --detach "$measured"
git -C "$scratch" apply "$root/docs/pacer-ablation/pacer.patch"
(cd "$scratch" && CARGO_TARGET_DIR="$root/target" cargo bench --bench fleet --no-run)
bench=$(ls -t "$root"/target/release/deps/fleet-* | grep -v '\.d$' | head -1)
git -C "$scratch" checkout -- . && git -C "$scratch" clean -fdq
run() {
  for v in "$@"; do
    case $v in base*) off="" ;; *) off=$v ;; esac
    PACER_ABLATE="$off" "$bench" > "$out/$v.txt" 2> "$out/$v.err" &
  done
  wait
}
run base-a gate pacing growth
run base-b paced-episode sustained windows
run base-c last-window window-recheck small-window
run base-d first-short-pause cap probe-memory
run base-e period probe-token
python3 "$root/docs/pacer-ablation/compare.py" "$out"
