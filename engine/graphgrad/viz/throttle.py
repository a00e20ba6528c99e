"""Batching for updates from a training loop: a loop of 10,000 steps must not send 10,000
messages, and whatever was logged last must still arrive when the loop stops."""
import threading
import time


class Throttle:
    """Calls `flush()` at most once per `interval` seconds while `poke()` is called (from the poke
    itself, when the interval has passed), and once more after the last poke if that one was held
    back, by a timer (within two `linger`s of the last poke), so the final state arrives. A timer is a
    thread: it is armed only when none is pending and not cancelled by the flushes in between, so a loop
    that pokes all the time starts about one per `linger` seconds, not one per flush."""

    def __init__(self, flush, interval=0.05, clock=time.monotonic, timer=threading.Timer, linger=None):
        self._flush, self.interval, self._clock, self._timer_factory = flush, interval, clock, timer
        self.linger = interval if linger is None else max(linger, interval)
        self._last = None       # clock() at the last flush
        self._pending = False   # poked since the last flush
        self._timer = None      # the armed trailing flush, if any
        self.lock = threading.RLock()

    def poke(self):
        with self.lock:
            now = self._clock()
            if self._last is None or now - self._last >= self.interval:
                self._run(now)
            else:
                self._pending = True
                if self._timer is None:
                    self._arm(max(self.linger, self.interval - (now - self._last)))

    def touch(self):
        """Have the trailing flush come even though nothing new is pending (something to look at
        once the loop has stopped)."""
        with self.lock:
            self._pending = True
            if self._timer is None:
                self._arm(self.linger)

    def flush(self):
        """Send what is pending now (the end of a loop, a closing context manager)."""
        with self.lock:
            self.cancel()
            self._run(self._clock())

    def cancel(self):
        """Disarm the trailing flush (a closed view)."""
        with self.lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _arm(self, delay):
        self._timer = self._timer_factory(delay, self._trailing)
        self._timer.daemon = True
        self._timer.start()

    def _trailing(self):
        with self.lock:
            self._timer = None
            if not self._pending:
                return
            now = self._clock()
            wait = self.interval - (now - self._last)
            if wait > 0:  # a poke flushed in between: the loop still runs; look again later
                self._arm(max(wait, self.linger))
            else:
                self._run(now)

    def _run(self, now):
        self._last = now
        self._pending = False
        self._flush()
