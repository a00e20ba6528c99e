"""Batching for updates from a training loop: a loop of 10,000 steps must not send 10,000
messages, and whatever was logged last must still arrive when the loop stops."""
import threading
import time


class Throttle:
    """Calls `flush()` at most once per `interval` seconds while `poke()` is called, and once more
    `interval` after the last poke if that one was held back (a timer), so the final state arrives."""

    def __init__(self, flush, interval=0.05, clock=time.monotonic, timer=threading.Timer):
        self._flush, self.interval, self._clock, self._timer_factory = flush, interval, clock, timer
        self._last = None       # clock() at the last flush
        self._timer = None      # the pending trailing flush, if any
        self.lock = threading.RLock()

    def poke(self):
        with self.lock:
            now = self._clock()
            if self._last is None or now - self._last >= self.interval:
                self._cancel()
                self._run(now)
            elif self._timer is None:
                self._timer = self._timer_factory(self.interval - (now - self._last), self._trailing)
                self._timer.daemon = True
                self._timer.start()

    def flush(self):
        """Send what is pending now (the end of a loop, a closing context manager)."""
        with self.lock:
            self._cancel()
            self._run(self._clock())

    def _trailing(self):
        with self.lock:
            self._timer = None
            self._run(self._clock())

    def _run(self, now):
        self._last = now
        self._flush()

    def _cancel(self):
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
