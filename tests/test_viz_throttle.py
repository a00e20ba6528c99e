"""Training-loop updates are batched and rate-limited (a fake clock and fake timers: no sleeping),
and the final state always arrives."""
import numpy as np

from graphgrad.viz import Monitor
from graphgrad.viz.throttle import Throttle


class FakeTime:
    """A clock the test moves, and timers that fire when it passes their deadline."""

    def __init__(self):
        self.now = 0.0
        self.timers = []

    def __call__(self):
        return self.now

    def timer(self, delay, fn):
        t = FakeTimer(self, self.now + delay, fn)
        self.timers.append(t)
        return t

    def advance(self, dt):
        self.now += dt
        for t in [t for t in self.timers if t.at <= self.now and t.live]:
            t.live = False
            t.fn()


class FakeTimer:
    daemon = False

    def __init__(self, clock, at, fn):
        self.clock, self.at, self.fn, self.live = clock, at, fn, False

    def start(self):
        self.live = True

    def cancel(self):
        self.live = False


def test_throttle_sends_at_most_once_per_interval_and_the_last_state_arrives():
    clock, flushes, pokes = FakeTime(), [], [0]
    th = Throttle(lambda: flushes.append((clock.now, pokes[0])), interval=0.05, clock=clock, timer=clock.timer)
    for _ in range(10_000):          # 10,000 pokes, 1 ms apart: 10 s of training
        th.poke()
        pokes[0] += 1
        clock.advance(0.001)
    assert len(flushes) <= 10 / 0.05 + 1
    assert all(b[0] - a[0] >= 0.05 - 1e-9 for a, b in zip(flushes, flushes[1:]))
    clock.advance(0.05)              # the loop has stopped: the trailing timer has sent what was left
    assert flushes[-1][1] == 10_000
    before = len(flushes)
    clock.advance(1.0)
    assert len(flushes) == before    # and nothing more after that


def test_a_loop_that_pokes_all_the_time_arms_about_one_timer_per_linger():
    clock, armed = FakeTime(), []
    timer = lambda delay, fn: armed.append(delay) or clock.timer(delay, fn)
    th = Throttle(lambda: None, interval=0.05, clock=clock, timer=timer, linger=1.0)
    for _ in range(10_000):
        th.poke()
        clock.advance(0.001)
    assert len(armed) <= 10 / 1.0 + 1   # not one per flush (200): a timer is a thread


def test_first_poke_sends_at_once_and_flush_cancels_the_timer():
    clock, flushes = FakeTime(), []
    th = Throttle(lambda: flushes.append(clock.now), interval=0.05, clock=clock, timer=clock.timer)
    th.poke()
    th.poke()
    assert flushes == [0.0]
    th.flush()
    assert flushes == [0.0, 0.0]
    clock.advance(1)
    assert len(flushes) == 2


class FakeModel:
    def __init__(self):
        import graphgrad as gg
        self.w = gg.ones(3, requires_grad=True)
        self.b = gg.ones(1, requires_grad=True)

    def named_parameters(self):
        return [("fc.weight", self.w), ("fc.bias", self.b), ("out", self.b)]


def decode(sent):
    """All points per (chart, series) from the 'points' messages sent (a replaced series starts again)."""
    out = {}
    for header, buffers in sent:
        if header["type"] != "points":
            continue
        for meta, buf in zip(header["series"], buffers):
            xy = np.frombuffer(buf, np.float64).reshape(-1, 2)[:meta["count"]]   # (then the latest point)
            if meta["replace"]:
                out[meta["chart"], meta["name"]] = []
            out.setdefault((meta["chart"], meta["name"]), []).extend(map(tuple, xy))
    return out


def test_monitor_batches_10000_logs_into_few_messages_and_loses_none():
    clock = FakeTime()
    model = FakeModel()
    mon = Monitor(model, clock=clock, timer=clock.timer, capacity=16_384)   # room for every point: none thinned
    sent = []
    mon.send = lambda content, buffers=None: sent.append((content, buffers or []))
    for step in range(10_000):
        loss = ((model.w * float(step)).sum() + model.b.sum()) / 1000
        if step == 0:
            loss.backward()
        mon.log(loss=loss, acc=step / 10_000)
        clock.advance(0.001)
    clock.advance(0.1)
    assert sum(header["type"] == "points" for header, _ in sent) <= 202
    points = decode(sent)
    assert len(points["loss", "train"]) == len(points["acc", "train"]) == 10_000
    assert points["loss", "train"][-1][0] == 9999.0 and np.isclose(points["loss", "train"][-1][1], (3 * 9999 + 1) / 1000)
    assert [x for x, _ in points["acc", "train"]] == list(range(10_000))
    # gradient norms per parameter, by name, measured on step 0 (and every k-th step after, under the budget)
    assert points["grad norm", "fc.weight"][0] == (0.0, 0.0) and np.isclose(points["grad norm", "fc.bias"][0][1], 1e-3)
    assert mon.graph["nodes"] and mon.graph["schema"] == 1   # a recorded step's graph


def test_a_new_view_gets_every_point_again():
    clock = FakeTime()
    mon = Monitor(clock=clock, timer=clock.timer, graph=False)
    sent = []
    mon.send = lambda content, buffers=None: sent.append((content, buffers or []))
    for i in range(5):
        mon.log(loss=1.0 / (i + 1))
    clock.advance(1)
    sent.clear()
    mon._on_message(mon, {"type": "hello", "version": 1}, [])
    assert sent[0][0]["reset"] and decode(sent)["loss", "train"] == [(float(i), 1.0 / (i + 1)) for i in range(5)]
