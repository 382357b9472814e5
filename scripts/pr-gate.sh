#!/usr/bin/env bash
# What the GitHub Action (action.yml) does, as a plain script that runs anywhere:
#
#   RIPSAW_SPEC=evals/my-team.toml [RIPSAW_BASELINE=DIR] [RIPSAW_GATE_ARGS="--min-pass-rate 0.5"] \
#     [RIPSAW_OUT=ripsaw-ci] bash scripts/pr-gate.sh
#
# 1. runs the spec into $RIPSAW_OUT/runs/ci (re-running resumes); RIPSAW_RUN_DIR=DIR gates an existing run instead;
# 2. writes the report ($RIPSAW_OUT/report: report.html, summary.md, ...);
# 3. gates the run (against RIPSAW_BASELINE, a baseline run directory, when given), writing gate.md and gate.xml;
# 4. writes the pull-request comment body, $RIPSAW_OUT/comment.md: the gate's Markdown, then the report's summary;
# 5. posts it on pull request $PR_NUMBER with the GitHub CLI when PR_NUMBER and GH_TOKEN are set (editing the
#    comment it posted before, so a pull request keeps one).
# Exits with the gate's status (0 pass, 1 a check failed, 2 bad input); a run or report failure exits with its own.
# Under GitHub Actions the paths are also written to $GITHUB_OUTPUT (run-dir, report-dir, comment, gate-status).
set -uo pipefail

spec=${RIPSAW_SPEC:-}
out=${RIPSAW_OUT:-ripsaw-ci}
read -r -a ripsaw <<<"${RIPSAW:-ripsaw}"  # the command, e.g. "python3 -m ripsaw"
read -r -a gate_args <<<"${RIPSAW_GATE_ARGS:-}"
mkdir -p "$out"

if [ -n "${RIPSAW_RUN_DIR:-}" ]; then
  run_dir=$RIPSAW_RUN_DIR
else
  if [ -z "$spec" ]; then
    echo "pr-gate: set RIPSAW_SPEC (the eval spec to run) or RIPSAW_RUN_DIR (a run to gate)" >&2
    exit 2
  fi
  run_dir=$out/runs/ci
  "${ripsaw[@]}" run "$spec" --output-dir "$out/runs" --run-id ci --no-progress || exit $?
fi

"${ripsaw[@]}" report "$run_dir" --out "$out/report" >/dev/null || exit $?

baseline=()
if [ -n "${RIPSAW_BASELINE:-}" ]; then baseline=(--baseline "$RIPSAW_BASELINE"); fi
rm -f "$out/gate.md"
"${ripsaw[@]}" gate "$run_dir" "${baseline[@]}" "${gate_args[@]}" --summary "$out/gate.md" --junit "$out/gate.xml"
status=$?

{
  echo "<!-- ripsaw-gate -->"
  if [ -s "$out/gate.md" ]; then cat "$out/gate.md"; else echo "**Ripsaw gate: could not evaluate (exit $status); see the job log.**"; fi
  echo
  echo "<details><summary>Ripsaw report summary</summary>"
  echo
  cat "$out/report/summary.md"
  echo
  echo "</details>"
  echo
  echo "The interactive report (report.html) and the run directory are in this job's artifacts."
} >"$out/comment.md"

if [ -n "${PR_NUMBER:-}" ] && [ -n "${GH_TOKEN:-}" ]; then
  gh pr comment "$PR_NUMBER" --body-file "$out/comment.md" --edit-last 2>/dev/null \
    || gh pr comment "$PR_NUMBER" --body-file "$out/comment.md" \
    || echo "pr-gate: could not post the comment (the gate's result stands)" >&2
fi

if [ -n "${GITHUB_OUTPUT:-}" ]; then
  {
    echo "run-dir=$run_dir"
    echo "report-dir=$out/report"
    echo "comment=$out/comment.md"
    echo "gate-status=$status"
  } >>"$GITHUB_OUTPUT"
fi
exit $status
