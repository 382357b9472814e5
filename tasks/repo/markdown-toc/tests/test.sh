#!/bin/bash
# Harbor verifier entrypoint: the hidden tests copied beside the project's, run, reward written for the harness.
# Ripsaw itself scores [ripsaw] fail_to_pass / pass_to_pass from its own JUnit report (ripsaw.verdict.repo).
mkdir -p /logs/verifier
cp /tests/test_*.py /app/tests/
cd /app && python3 -m pytest -q -p no:cacheprovider tests
status=$?
if [ $status -eq 0 ]; then echo 1 > /logs/verifier/reward.txt; else echo 0 > /logs/verifier/reward.txt; fi
exit $status
