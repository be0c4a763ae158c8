"""A minimum spacing between request starts, per remote service.

The SEC allows at most 10 requests per second per client; spacing every request start
(retries included) by 1/rate keeps any one-second window at or under the limit and
is smoother than bursts. Thread-safe, although the runner is sequential today.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    def __init__(
        self,
        max_per_second: float,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if max_per_second <= 0:
            raise ValueError("max_per_second must be positive")
        # +1 µs: float rounding must never squeeze an 11th start into one second
        self.interval = 1.0 / max_per_second + 1e-6
        self._clock = clock
        self._sleep = sleep
        self._next = float("-inf")
        self._lock = threading.Lock()

    def acquire(self) -> float:
        """Block until a request may start; returns the start time (clock units)."""
        with self._lock:
            now = self._clock()
            wait = self._next - now
            if wait > 0:
                self._sleep(wait)
                now = max(self._clock(), self._next)
            self._next = now + self.interval
            return now
