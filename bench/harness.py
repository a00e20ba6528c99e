"""What every bench script shares: the same threads and BLAS for both libraries, and one row
format for the graphgrad / torch ratios.

Import it first (before NumPy): `one_thread_blas()` may re-run the script."""
import os
import sys

_SLOW_BLAS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")


def one_thread_blas():
    """Run NumPy's BLAS on one thread, as torch is set to: a tiny op gains nothing from threads,
    and on a shared machine they thrash. OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, set on some
    machines here for old OpenBLAS builds, slow a current NumPy down: the script re-runs itself
    without them (only itself; tests and CI keep them)."""
    if any(v in os.environ for v in _SLOW_BLAS):
        env = {k: v for k, v in os.environ.items() if k not in _SLOW_BLAS}
        os.execve(sys.executable, [sys.executable] + sys.argv, env)
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")


def header(width, note=""):
    print(f"{'case':<{width}} {'graphgrad':>11} {'torch':>11} {'ratio':>7} {'target':>7}{note}")


def row(name, ours, theirs, target, width, scale, unit, note=""):
    """One case: both times (seconds, shown in `unit` after multiplying by `scale`), the ratio
    graphgrad / torch and whether it meets the target. Returns (name, ratio, target)."""
    ratio = ours / theirs
    verdict = "ok" if ratio <= target else "SLOWER"
    digits = 3 if unit == "ms" else 2
    print(f"{name:<{width}} {ours * scale:>9.{digits}f}{unit} {theirs * scale:>9.{digits}f}{unit} {ratio:>7.2f} "
          f"{'<=' + str(target):>7} {verdict:<6}{note}".rstrip())
    return name, ratio, target


def mlp_step(lib, batch, seed=0):
    """(model, step): an MNIST-sized MLP (784-256-128-10, the PyTorch quickstart's shape) and one
    training step on a fixed batch (SGD with momentum) that returns the loss; `lib` is graphgrad or
    torch (the same code)."""
    lib.manual_seed(seed)
    nn = lib.nn
    model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    opt = lib.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x, y = lib.randn(batch, 784), lib.randint(0, 10, (batch,))
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return model, step


def best_of_rounds(fns, rounds, calls, sync=lambda: None):
    """Time each callable of {key: fn} in interleaved rounds of `calls` calls, sync() (a GPU's
    queue drained) before each clock read; {key: fastest round's seconds per call}: other
    processes on a shared machine only ever add time."""
    import gc
    import time
    times = {key: [] for key in fns}
    gc.disable()
    try:
        for _ in range(rounds):
            for key, fn in fns.items():
                sync()
                start = time.perf_counter()
                for _ in range(calls):
                    fn()
                sync()
                times[key].append((time.perf_counter() - start) / calls)
            gc.collect()
    finally:
        gc.enable()
    return {key: min(t) for key, t in times.items()}
