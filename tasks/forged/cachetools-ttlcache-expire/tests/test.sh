#!/bin/bash
# Harbor verifier entrypoint: the hidden tests copied back into the package's test directory, the required tests'
# files run, reward written for the harness. Ripsaw itself scores [ripsaw] fail_to_pass / pass_to_pass from its own
# JUnit report (ripsaw.verdict.repo).
mkdir -p /logs/verifier
cp /tests/test_ttl.py /app/tests/test_ttl.py
cd /app && python3 -m pytest -q -p no:cacheprovider tests/test_cache.py tests/test_cached.py tests/test_cachedmethod.py tests/test_func.py tests/test_lfu.py tests/test_lru.py tests/test_mru.py tests/test_tlru.py tests/test_ttl.py
status=$?
if [ $status -eq 0 ]; then echo 1 > /logs/verifier/reward.txt; else echo 0 > /logs/verifier/reward.txt; fi
exit $status
