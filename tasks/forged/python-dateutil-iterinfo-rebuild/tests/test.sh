#!/bin/bash
# Harbor verifier entrypoint: the hidden tests copied back into the package's test directory, the required tests'
# files run, reward written for the harness. Ripsaw itself scores [ripsaw] fail_to_pass / pass_to_pass from its own
# JUnit report (ripsaw.verdict.repo).
mkdir -p /logs/verifier
cp /tests/test_rrule.py /app/tests/test_rrule.py
cd /app && python3 -m pytest -q -p no:cacheprovider tests/test_easter.py tests/test_isoparser.py tests/test_relativedelta.py tests/test_rrule.py tests/test_tz.py
status=$?
if [ $status -eq 0 ]; then echo 1 > /logs/verifier/reward.txt; else echo 0 > /logs/verifier/reward.txt; fi
exit $status
