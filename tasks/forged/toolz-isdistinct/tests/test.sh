#!/bin/bash
# Harbor verifier entrypoint: the hidden tests copied back into the package's test directory, the required tests'
# files run, reward written for the harness. Ripsaw itself scores [ripsaw] fail_to_pass / pass_to_pass from its own
# JUnit report (ripsaw.verdict.repo).
mkdir -p /logs/verifier
cp /tests/test_itertoolz.py /app/toolz/tests/test_itertoolz.py
cd /app && python3 -m pytest -q -p no:cacheprovider toolz/tests/test_compatibility.py toolz/tests/test_curried.py toolz/tests/test_dicttoolz.py toolz/tests/test_functoolz.py toolz/tests/test_inspect_args.py toolz/tests/test_itertoolz.py toolz/tests/test_recipes.py toolz/tests/test_serialization.py
status=$?
if [ $status -eq 0 ]; then echo 1 > /logs/verifier/reward.txt; else echo 0 > /logs/verifier/reward.txt; fi
exit $status
