#!/bin/bash
# The known-good fix: a release ranks above any pre-release of the same x.y.z, not below.
set -euo pipefail
cd /app
sed -i 's/pre_rank = 0 if not self.prerelease else 1/pre_rank = 1 if not self.prerelease else 0/' semverlib/version.py
grep -q 'pre_rank = 1 if not self.prerelease else 0' semverlib/version.py
