from throttle.bucket import TokenBucket
from throttle.keyed import KeyedLimiter
from throttle.window import SlidingWindow

__all__ = ["KeyedLimiter", "SlidingWindow", "TokenBucket"]
