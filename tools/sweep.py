"""Where a sweep's cells run: in this process, or through Dask's distributed scheduler.

A sweep (a comparison's variants x seeds) is a list of independent cells. ``run_cells``
trains them one after another in this process (no flag), on a local cluster of worker
processes (``--workers N``), or on an existing Dask cluster (``--scheduler ADDRESS``),
and yields each result the moment it is ready, so the caller saves it at once.

Every cell seeds itself, so its numbers do not depend on where it runs (tested: the
records from two local workers and from a real scheduler over TCP are identical to an
in-process run). One thing had to be fixed for that: Keras draws the seeds of default
initializers and Dropout layers from Python's global ``random`` module, and a Dask
worker's own threads drew from it too, at moments that vary (``dask.sizeof`` sampled
every message it sized, heartbeats included, with ``random.sample``). Each worker is
therefore given a ``sizeof`` that samples without ``random``
(``sizeof_without_random_plugin``, through Dask's public plugin and ``sizeof``
registration), so that the cell's own ``keras.utils.set_random_seed`` decides every
draw (docs/sweeps.md).

A worker that dies mid-cell has its cell retried on another worker (``RETRIES``); a
cell that still fails comes back as a ``CellFailed``, never missing.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import itertools
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass

from common import cli
from common.errors import UsageError

RETRIES = 2
CONNECT_SECONDS = 5
# The address schemes of Dask's TCP communication, plain and encrypted.
SCHEDULER_SCHEMES = ("tcp", "tls")
# What one local worker may need: a whole `compare --quick` on mnist-5k in one process
# peaked at 1.1 GB resident on TensorFlow and 1.3 GB on JAX (2 cores, no GPU).
WORKER_MEMORY_BYTES = 1.5 * 2**30
# One thread per worker: N workers share the machine's cores instead of fighting over
# them. TensorFlow reads these when it starts, in the worker process.
WORKER_ENV = {"TF_NUM_INTRAOP_THREADS": "1", "TF_NUM_INTEROP_THREADS": "1",
              "OMP_NUM_THREADS": "1", "TF_CPP_MIN_LOG_LEVEL": "1"}


@dataclass
class CellFailed:
    """A cell that raised, or whose worker died more often than ``RETRIES`` allows."""

    error: str


# Dask estimates a list's size from ten of its items, drawn with ``random.sample``.
SIZEOF_SAMPLES = 10


def sizeof_first_items(collection) -> int:
    """``dask.sizeof``'s estimate for a list, tuple or set, from its first
    ``SIZEOF_SAMPLES`` items instead of ones drawn from Python's global ``random``: the
    same figure for a collection that short, and the same kind of estimate for a longer
    one (Dask itself takes a set's first items)."""
    from dask.sizeof import sizeof

    sample = list(itertools.islice(collection, SIZEOF_SAMPLES))
    if not sample:
        return sys.getsizeof(collection)
    return sys.getsizeof(collection) + int(
        len(collection) / len(sample) * sum(map(sizeof, sample)))


def sizeof_without_random_plugin():
    """A Dask worker plugin (``Client.register_plugin``) that makes each worker's
    ``dask.sizeof`` leave Python's global ``random`` alone, on the workers there are and
    on any that join later (one started again after a worker died). Without it a
    worker's heartbeats drew from ``random`` while a cell built its model, and the same
    cell gave other initial weights from run to run."""
    from distributed import WorkerPlugin

    class SizeofWithoutRandom(WorkerPlugin):
        name = "sizeof-without-random"
        idempotent = True

        def setup(self, worker):
            from dask.sizeof import sizeof

            sizeof.register((list, tuple, set, frozenset), sizeof_first_items)

    return SizeofWithoutRandom()


def machine_workers() -> tuple[int, str]:
    """The most local workers this machine can run at once, and why: one per core this
    process may use, and no more than the available memory holds."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count() or 1
    try:
        import psutil  # installed with Dask's distributed scheduler

        available = psutil.virtual_memory().available
    except ImportError:
        return cores, f"{cores} cores"
    by_memory = int(available // WORKER_MEMORY_BYTES)
    why = (f"{cores} cores, {available / 2**30:.1f} GB of memory available at "
           f"about {WORKER_MEMORY_BYTES / 2**30:g} GB per worker")
    return max(1, min(cores, by_memory)), why


def worker_count(text: str) -> int:
    """An argparse type for ``--workers N``: a whole number the machine can run (0: in
    this process)."""
    count = cli.non_negative_int(text)
    most, why = machine_workers()
    if count > most:
        raise argparse.ArgumentTypeError(
            f"{count} workers is more than this machine can run at once ({why}); use "
            f"--workers {most} or fewer, or --scheduler for a cluster")
    return count


def default_workers(quick: bool, backend: str) -> int | None:
    """The workers a comparison uses when --workers is not given: one per core (as memory
    allows) where there are two or more and Dask is installed, else none. Measured on the
    whole default job (docs/performance.md): on TensorFlow two workers take it from about
    1.5x longer down to 390 s; on JAX one process already takes 390 s and two workers
    take 494 s, so JAX trains in this process. Not for --quick either: there each
    worker's start-up (about 6 s to import TensorFlow) costs about what it gains (1.09x
    on 14 short cells, docs/sweeps.md)."""
    if quick or backend != "tensorflow" or importlib.util.find_spec("distributed") is None:
        return None
    count, _ = machine_workers()
    return count if count >= 2 else None


def add_flags(parser) -> None:
    most, _ = machine_workers()
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workers", type=worker_count, default=None, metavar="N",
                       help="train the cells in N local worker processes through Dask, one "
                            "thread each; at most one per core, and about 1.5 GB of memory "
                            "each; 0 trains them one after another in this process "
                            f"(default on TensorFlow: one per core where there are two or "
                            f"more, {most if most >= 2 else 0} here; 0 on JAX and with "
                            "--quick, where workers cost what they gain)")
    group.add_argument("--scheduler", default=None, metavar="ADDRESS",
                       help="send the cells to a running Dask scheduler, e.g. "
                            "tcp://10.0.0.5:8786 (default: none)")


def argv(workers=None, scheduler=None) -> list[str]:
    """The flags that pass the same choice on to another command (``compare``)."""
    if workers:
        return ["--workers", str(workers)]
    return ["--scheduler", scheduler] if scheduler else []


def describe(workers=None, scheduler=None) -> str:
    if scheduler:
        return f"Dask scheduler {scheduler}"
    if workers:
        return f"{workers} local Dask worker process{'es' if workers > 1 else ''}"
    return "this process"


def check_scheduler(address: str) -> None:
    """Refuse at once, before any data is loaded, a scheduler address that does not answer."""
    import socket
    from urllib.parse import urlsplit

    shown = address if len(address) <= 80 else address[:77] + "..."
    try:
        parts = urlsplit(address if "://" in address else f"tcp://{address}")
        host, port = parts.hostname, parts.port
    except ValueError:
        host = port = None
    if not host or not port:
        raise UsageError(f"--scheduler {shown}: give an address such as "
                         "tcp://10.0.0.5:8786")
    if parts.scheme not in SCHEDULER_SCHEMES:
        raise UsageError(f"--scheduler {shown}: a Dask scheduler's address starts with "
                         f"{' or '.join(s + '://' for s in SCHEDULER_SCHEMES)}, not "
                         f"{parts.scheme}://; e.g. tcp://10.0.0.5:8786")
    try:
        socket.create_connection((host, port), timeout=CONNECT_SECONDS).close()
    except UnicodeError:  # the host name cannot be looked up: a label over 63 characters
        raise UsageError(f"--scheduler {shown}: '{host[:40]}...' is not a valid host name; "
                         "give an address such as tcp://10.0.0.5:8786")
    except OSError as error:
        raise UsageError(f"--scheduler {shown}: no answer within {CONNECT_SECONDS} s "
                         f"({error.strerror or type(error).__name__}); is `dask scheduler` "
                         "running there?")


@contextlib.contextmanager
def _client(workers, scheduler):
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError("--workers and --scheduler need Dask: python3 -m pip install "
                         "'dask[distributed]'")
    if scheduler:
        try:
            client = Client(scheduler, timeout=CONNECT_SECONDS)
        except (OSError, TimeoutError) as error:
            raise UsageError(f"--scheduler {scheduler}: no answer within {CONNECT_SECONDS} s "
                             f"({type(error).__name__}); is `dask scheduler` running there?")
        except ValueError as error:  # something answered there, not a Dask scheduler
            raise UsageError(f"--scheduler {scheduler}: not a Dask scheduler "
                             f"({str(error)[:120]}); give the address `dask scheduler` prints")
        with client:
            client.register_plugin(sizeof_without_random_plugin())
            yield client
        return
    # The workers inherit this process's environment plus WORKER_ENV, so they import
    # the project from where this process does.
    env = {**WORKER_ENV, "PYTHONPATH": os.pathsep.join(
        p for p in (os.getcwd(), os.environ.get("PYTHONPATH", "")) if p)}
    from distributed.utils import silence_logging_cmgr

    import dask

    with contextlib.ExitStack() as teardown, contextlib.ExitStack() as stack:
        # Dask's warnings (a cancelled cell, a worker killed after 4 s) would come between
        # the progress lines; the project reports a failed cell itself. silence_logs quiets
        # this process; a worker process sets up its logging from the environment it
        # starts with, before the cluster's `env` reaches it, so its quiet goes in Dask's
        # pre-spawn environment (else a worker whose scheduler closes under it, after
        # Ctrl-C, logs a ConnectionResetError with its traceback).
        with _ctrl_c_for_this_process_only(), dask.config.set(
                {"distributed.nanny.pre-spawn-environ.DASK_LOGGING__DISTRIBUTED": "critical"}):
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=None, env=env, silence_logs=logging.ERROR))
        client = stack.enter_context(Client(cluster))
        client.register_plugin(sizeof_without_random_plugin())
        # Runs first on the way out: closing a cluster whose workers are mid-cell (after
        # Ctrl-C) logs errors with tracebacks about the cells it cancels; they say nothing
        # the partial report does not.
        stack.callback(teardown.enter_context, silence_logging_cmgr(logging.CRITICAL))
        yield client


@contextlib.contextmanager
def _ctrl_c_for_this_process_only():
    """Worker processes started inside the block ignore SIGINT for good. Ctrl-C in a
    terminal signals every process of the group: each worker died with two tracebacks,
    while this process, which gets it alone now, closes the cluster and with it the
    workers. An ignored signal stays ignored across exec, and then neither Python nor
    asyncio installs a handler of its own (a blocked one did not last: the workers'
    threads ran with SIGINT unblocked, seen in /proc). SIGINT is blocked here as well,
    so that a Ctrl-C inside the block is kept pending (Linux never discards a blocked
    signal) and takes effect at its end."""
    if not hasattr(signal, "pthread_sigmask") or \
            threading.current_thread() is not threading.main_thread():
        yield  # Windows, or a thread, which cannot change signal handlers
        return
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    previous_handler = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        # None: a handler installed outside Python (an embedding program), which Python
        # cannot put back; SIG_DFL is what it most likely was.
        signal.signal(signal.SIGINT, previous_handler if previous_handler is not None
                      else signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)


def run_cells(work, cells, *, shared=None, workers=None, scheduler=None):
    """Yield ``(cell, work(shared, *cell))`` for every cell, in the order they finish.

    ``shared`` (the data) goes to each worker once, not once per cell; workers need no
    data of their own. A failed cell yields ``(cell, CellFailed(...))``. Closing the
    generator early (Ctrl-C, an error while saving) cancels the cells not yet done.
    """
    if not workers and not scheduler:
        for cell in cells:
            yield cell, work(shared, *cell)
        return
    from dask.distributed import as_completed

    with _client(workers, scheduler) as client:
        [shared_on_workers] = client.scatter([shared], broadcast=True)
        futures = {client.submit(work, shared_on_workers, *cell, pure=False,
                                 retries=RETRIES): cell for cell in cells}
        try:
            for future in as_completed(futures):
                try:
                    yield futures[future], future.result()
                except Exception as error:  # the cell's own error, or KilledWorker
                    yield futures[future], CellFailed(f"{type(error).__name__}: {error}")
        finally:
            client.cancel(list(futures))
