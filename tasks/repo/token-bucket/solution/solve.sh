#!/bin/bash
# The known-good fix: refill by the exact elapsed time, capped at the bucket's capacity.
set -euo pipefail
cd /app
sed -i 's/self._tokens += int(elapsed) \* self.rate/self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)/' throttle/bucket.py
grep -q 'self._tokens = min(self.capacity, self._tokens + elapsed \* self.rate)' throttle/bucket.py
