"""BLAS threads: how many threads the matrix products use.

The products of a training step run in NumPy's and SciPy's BLAS (OpenBLAS in the wheels). For
small networks a second thread costs more than it brings, and when another process competes
for the cores it costs far more (an epoch of the digits example took 154 s with OpenBLAS's
default threads and 7 s with one, on a loaded 2-core machine); for large products two threads
are faster (``bench/threads.py``, table in ``bench/README.md``).

So :meth:`Model.train <unrolled.framework.Model.train>`, ``evaluate`` and ``predict`` choose,
from the first rule that applies:

1. ``Model(..., threads=n)``: the model's own setting;
2. inside ``with blas_threads(n):``, that ``n``;
3. the environment variable ``UNROLLED_NUM_THREADS``;
4. ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` or ``MKL_NUM_THREADS`` set by you before Python
   started: the BLAS already obeys it, and unrolled changes nothing;
5. otherwise by size and load: two threads when the model's largest per-step product
   (:func:`step_work`) reaches :data:`TWO_THREADS_FROM` multiply-adds and the machine has a core
   to spare (1-minute load average below the usable cores minus one half), else one.

``model.last_threads`` tells what the last call used (``None`` under rule 4).
"""
import contextlib
import contextvars
import functools
import inspect
import os

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
ENVIRONMENT = "UNROLLED_NUM_THREADS"

#: multiply-adds of a model's largest per-step product from which two threads pay (bench/threads.py)
TWO_THREADS_FROM = 1 << 20

_chosen = contextvars.ContextVar("unrolled_blas_threads", default=None)


def prefer_threads_env(n=1):
    """Ask for ``n`` BLAS threads through the environment (a user's own setting wins). Effective
    only before NumPy is first imported."""
    for var in THREAD_VARIABLES:
        os.environ.setdefault(var, str(n))


def check_count(n, what="threads"):
    """``n`` as a positive int, or a ValueError naming ``what``."""
    if isinstance(n, bool) or not isinstance(n, int) and not (
            hasattr(n, "__index__") and not isinstance(n, float)):
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    if int(n) < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return int(n)


def usable_cores():
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:          # not on Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def blas_threads(n=1):
    """Run the block with ``n`` BLAS threads, then restore the previous counts. Models trained
    inside it use ``n`` too (unless built with their own ``threads=``).

    Raises when threadpoolctl finds no BLAS library it can set (the block would otherwise run
    with a count nobody chose)."""
    n = check_count(n)
    from threadpoolctl import threadpool_info, threadpool_limits
    if not any(lib["user_api"] == "blas" for lib in threadpool_info()):
        raise RuntimeError("blas_threads: threadpoolctl finds no BLAS library in this process, "
                           "so the thread count cannot be set")
    token = _chosen.set(n)
    try:
        with threadpool_limits(limits=n, user_api="blas"):
            yield
    finally:
        _chosen.reset(token)


def step_work(model, rows):
    """Multiply-adds of the largest per-step product of ``model`` on ``rows`` samples: rows times
    its largest parameter (a Dense layer's ``W``, a recurrent layer's ``U`` or ``V``)."""
    largest = 0
    for layer in model.layers:
        for value in getattr(layer, "p", {}).values():
            largest = max(largest, int(value.size))
    return int(rows) * largest


def choose(requested, work):
    """``(n, source)`` by the rules of the module docstring; ``n`` is None when the environment
    already fixed the count (rule 4)."""
    if requested is not None:
        return check_count(requested, "Model threads"), "model"
    if _chosen.get() is not None:
        return _chosen.get(), "blas_threads"
    if os.environ.get(ENVIRONMENT):
        return check_count(_env_int(ENVIRONMENT), ENVIRONMENT), ENVIRONMENT
    for var in THREAD_VARIABLES:
        if os.environ.get(var):
            return None, var
    cores = usable_cores()
    if cores > 1 and work >= TWO_THREADS_FROM and busy_cores() < cores - 0.5:
        return 2, "size"
    return 1, "size"


def busy_cores():
    """The 1-minute load average (0 where the platform has none): threads that want a core."""
    try:
        return os.getloadavg()[0]
    except (AttributeError, OSError):
        return 0.0


def _env_int(name):
    value = os.environ[name]
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be a positive integer, got {value!r}") from None


@contextlib.contextmanager
def model_threads(model, rows):
    """The thread count of :func:`choose` for ``model`` on batches of ``rows``, around a block
    (``model.last_threads`` records it). The model must be built (its parameters exist)."""
    n, _ = choose(getattr(model, "threads", None), step_work(model, rows))
    model.last_threads = n
    if n is None:
        yield
        return
    from threadpoolctl import threadpool_limits
    with threadpool_limits(limits=n, user_api="blas"):
        yield



def with_model_threads(method):
    """Decorator of ``Model.train``, ``evaluate`` and ``predict``: builds the model from the
    call's data if it is not built yet, then runs the method with :func:`model_threads` for its
    ``batch_size``."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def run(model, *args, **kwargs):
        call = signature.bind(model, *args, **kwargs)
        call.apply_defaults()
        X, rows = call.arguments.get("X"), call.arguments.get("batch_size") or 256
        if isinstance(rows, bool) or not isinstance(rows, int) or rows < 1 or not hasattr(X, "__len__"):
            return method(model, *args, **kwargs)     # which names the bad argument
        if not model.built:
            takes_y = "Y" in inspect.signature(model.build).parameters
            model.build(X, call.arguments.get("Y")) if takes_y else model.build(X)
        with model_threads(model, min(rows, len(X))):
            return method(model, *args, **kwargs)
    return run
