"""DataLoader worker processes, as torch.utils.data's: the loop each worker runs, and the iterator in the main
process that hands out batch indices, puts results back in order and shuts the workers down.

Protocol: the main process puts (task index, batch indices) on each worker's own queue, round-robin, keeping
prefetch_factor tasks per worker in flight; workers put pickled (task index, batch or error) on one shared
result queue. None on a worker's queue ends it; _ResumeIteration restarts a persistent worker's epoch.
Results are pickled in the worker, so a batch that cannot be pickled comes back as an error rather than
being lost in a queue's feeder thread (which would leave the main process waiting for ever).
"""
from __future__ import annotations

import itertools
import os
import pickle
import queue
import random
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

_POLL_S = 0.1  # how often a waiting side checks that the other is still alive
_JOIN_S = 5.0  # how long a worker gets to exit before it is terminated


@dataclass(frozen=True)
class WorkerInfo:
    """What get_worker_info() returns inside a worker: its id, the number of workers, its seed and its copy
    of the dataset."""
    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The WorkerInfo of this DataLoader worker process, or None in the main process."""
    return _worker_info


class _ResumeIteration:
    """Restart a persistent worker's epoch (an IterableDataset gets a fresh iterator)."""


@dataclass
class _IterableDatasetStopIteration:
    worker_id: int


class ExceptionWrapper:
    """An exception raised in a worker, carried to the main process with its traceback as text."""

    def __init__(self, where: str) -> None:
        kind, value, _ = sys.exc_info()
        self.exc_type = kind
        self.exc_msg = "".join(traceback.format_exception(kind, value, value.__traceback__))
        self.where = where

    def reraise(self):
        message = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:  # KeyError quotes its message; torch works around it the same way
            message = KeyErrorMessage(message)
        try:
            exception = self.exc_type(message)
        except Exception:  # noqa: BLE001 - an exception class that needs other arguments
            raise RuntimeError(message) from None
        raise exception


class KeyErrorMessage(str):
    def __repr__(self):
        return self


# ---- the worker side ----

def _numpy_seed(base_seed: int, worker_id: int) -> list[int]:
    """A per-worker, per-epoch seed for NumPy's legacy global generator (which takes 32-bit words)."""
    return [worker_id, base_seed & 0xFFFFFFFF, (base_seed >> 32) & 0xFFFFFFFF]


def _seed_worker(base_seed: int, worker_id: int) -> int:
    """Seed nnx, Python's random and NumPy's global generator as torch does: seed = base_seed + worker_id."""
    from ... import random as nnx_random
    seed = (base_seed + worker_id) % (1 << 64)
    random.seed(seed)
    nnx_random.manual_seed(seed)
    np.random.seed(_numpy_seed(base_seed, worker_id))
    return seed


def _one_thread() -> None:
    """One compute thread per worker, as torch sets: workers are the parallelism, and a forked OpenMP pool is
    not safe to reuse."""
    import nnx
    set_num_threads = getattr(nnx, "set_num_threads", None)
    if set_num_threads is not None:
        set_num_threads(1)


def _worker_loop(fetcher_factory, index_queue, result_queue, done_event, base_seed, worker_init_fn,
                 worker_id, num_workers, dataset, parent_pid):
    """Run in each worker process until None arrives, the main process dies, or loading is done."""
    global _worker_info
    try:
        seed = _seed_worker(base_seed, worker_id)
        _worker_info = WorkerInfo(id=worker_id, num_workers=num_workers, seed=seed, dataset=dataset)
        _one_thread()
        where = f"in DataLoader worker process {worker_id}"
        init_error = None
        fetcher = None
        try:
            if worker_init_fn is not None:
                worker_init_fn(worker_id)
            fetcher = fetcher_factory()
        except Exception:  # noqa: BLE001 - reported with the first batch, as torch does
            init_error = ExceptionWrapper(where)
        iteration_end = False
        while True:
            try:
                task = index_queue.get(timeout=_POLL_S)
            except queue.Empty:
                if os.getppid() != parent_pid:  # the main process died without telling us
                    break
                continue
            if isinstance(task, _ResumeIteration):
                result_queue.put(pickle.dumps((task, None)))
                iteration_end = False
                if init_error is None:
                    fetcher = fetcher_factory()
                continue
            if task is None:
                break
            if done_event.is_set() or iteration_end:
                continue
            task_index, batch_indices = task
            if init_error is not None:
                data, init_error = init_error, None
            else:
                data, iteration_end = _fetch(fetcher, batch_indices, worker_id, where)
            result_queue.put(_pickled(task_index, data, where))
    except KeyboardInterrupt:
        pass
    if done_event.is_set():
        result_queue.cancel_join_thread()  # the main process stopped reading: do not block our exit on it
        result_queue.close()


def _fetch(fetcher, batch_indices, worker_id, where):
    """(batch or error, whether an IterableDataset's iterator ended)."""
    try:
        return fetcher.fetch(batch_indices), False
    except StopIteration:
        if fetcher.is_iterable:
            return _IterableDatasetStopIteration(worker_id), True
        return ExceptionWrapper(where), False
    except Exception:  # noqa: BLE001 - carried to the main process and raised there
        return ExceptionWrapper(where), False


def _pickled(task_index, data, where) -> bytes:
    try:
        return pickle.dumps((task_index, data))
    except Exception:  # noqa: BLE001 - an unpicklable batch: say so in the main process
        return pickle.dumps((task_index, ExceptionWrapper(where + " (sending the batch back)")))


# ---- the main-process side ----

def default_context():
    """fork where the platform has it safely (Linux: workers start at once and need not pickle the dataset),
    else the platform's default (spawn)."""
    import multiprocessing
    if sys.platform.startswith("linux"):
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context()


class MultiProcessingIter:
    """Iterates a DataLoader's batches loaded by num_workers worker processes, in sampler order."""

    def __init__(self, loader) -> None:
        self._shutdown = True  # until the workers exist, there is nothing to shut down
        self._num_workers = loader.num_workers
        self._prefetch_factor = loader.prefetch_factor
        self._timeout = loader.timeout
        self._persistent = loader.persistent_workers
        self._index_sampler = loader._index_sampler
        context = loader.multiprocessing_context or default_context()
        if isinstance(context, str):
            import multiprocessing
            context = multiprocessing.get_context(context)
        from ._random import numpy_rng
        base_seed = int(numpy_rng(loader.generator).integers(0, 1 << 63))
        self._result_queue = context.Queue()
        self._done_event = context.Event()
        self._index_queues, self._workers = [], []
        self._shutdown = False
        for worker_id in range(self._num_workers):
            index_queue = context.Queue()
            index_queue.cancel_join_thread()
            worker = context.Process(
                target=_worker_loop, daemon=True,
                args=(loader._fetcher_factory(), index_queue, self._result_queue, self._done_event, base_seed,
                      loader.worker_init_fn, worker_id, self._num_workers, loader.dataset, os.getpid()))
            with warnings.catch_warnings():  # Python 3.12 warns on fork with threads (OpenMP's, BLAS's) alive
                warnings.filterwarnings("ignore", message=r".*fork\(\) may lead to deadlocks",
                                        category=DeprecationWarning)
                worker.start()
            self._index_queues.append(index_queue)
            self._workers.append(worker)
        self._reset(first=True)

    def __iter__(self):
        return self

    def __len__(self) -> int:
        return len(self._index_sampler)

    def _reset(self, first: bool = False) -> None:
        self._sampler_iter = iter(self._index_sampler)
        self._send_idx = self._rcvd_idx = self._tasks_outstanding = 0
        self._task_info: dict[int, tuple] = {}
        self._workers_status = [True] * self._num_workers
        self._worker_cycle = itertools.cycle(range(self._num_workers))
        if not first:  # a persistent worker's next epoch: drop what is left of the previous one
            for index_queue in self._index_queues:
                index_queue.put(_ResumeIteration())
            pending = self._num_workers
            while pending:
                task_index, _ = self._get_data()
                pending -= isinstance(task_index, _ResumeIteration)
        for _ in range(self._prefetch_factor * self._num_workers):
            self._try_put_index()

    def _try_put_index(self) -> None:
        try:
            batch_indices = next(self._sampler_iter)
        except StopIteration:
            return
        for _ in range(self._num_workers):
            worker_id = next(self._worker_cycle)
            if self._workers_status[worker_id]:
                break
        else:
            return  # every worker's IterableDataset is exhausted
        self._index_queues[worker_id].put((self._send_idx, batch_indices))
        self._task_info[self._send_idx] = (worker_id,)
        self._tasks_outstanding += 1
        self._send_idx += 1

    def __next__(self):
        try:
            return self._next_data()
        except StopIteration:
            raise
        except BaseException:
            self._shutdown_workers()  # an error in a worker, a dead worker, a timeout, Ctrl-C: no worker left behind
            raise

    def _next_data(self):
        while True:
            while self._rcvd_idx < self._send_idx:
                info = self._task_info[self._rcvd_idx]
                if len(info) == 2 or self._workers_status[info[0]]:
                    break
                del self._task_info[self._rcvd_idx]  # its worker's dataset ended: this task never comes back
                self._rcvd_idx += 1
            else:
                if not self._persistent:
                    self._shutdown_workers()
                raise StopIteration
            if len(self._task_info[self._rcvd_idx]) == 2:
                return self._process(self._task_info.pop(self._rcvd_idx)[1])
            task_index, data = self._get_data()
            self._tasks_outstanding -= 1
            if isinstance(data, _IterableDatasetStopIteration):
                self._mark_worker_done(data.worker_id)
                self._try_put_index()
            elif task_index != self._rcvd_idx:
                self._task_info[task_index] += (data,)  # early: kept until its turn
            else:
                del self._task_info[task_index]
                return self._process(data)

    def _process(self, data):
        self._rcvd_idx += 1
        self._try_put_index()
        if isinstance(data, ExceptionWrapper):
            data.reraise()
        return data

    def _mark_worker_done(self, worker_id: int) -> None:
        self._workers_status[worker_id] = False

    def _get_data(self):
        """The next (task index, data) from any worker; RuntimeError when a worker died or timeout passed."""
        started = time.monotonic()
        while True:
            try:
                return pickle.loads(self._result_queue.get(timeout=_POLL_S))
            except queue.Empty:
                pass
            dead = [w for w in self._workers if not w.is_alive()]
            if dead:
                pids = ", ".join(str(w.pid) for w in dead)
                codes = ", ".join(str(w.exitcode) for w in dead)
                raise RuntimeError(f"DataLoader worker (pid(s) {pids}) exited unexpectedly (exit code(s) {codes})")
            if self._timeout > 0 and time.monotonic() - started > self._timeout:
                raise RuntimeError(f"DataLoader timed out after {self._timeout} seconds")

    def _shutdown_workers(self) -> None:
        """Stop every worker and close the queues; safe to call twice, from __del__ and on errors."""
        if self._shutdown:
            return
        self._shutdown = True
        self._done_event.set()
        for index_queue in self._index_queues:
            try:
                index_queue.put(None)
            except (OSError, ValueError):  # closed already
                pass
        deadline = time.monotonic() + _JOIN_S
        for worker in self._workers:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
        for worker in self._workers:
            if worker.is_alive():
                worker.terminate()
                worker.join(timeout=1.0)
        for q in (*self._index_queues, self._result_queue):
            q.cancel_join_thread()
            q.close()

    def __del__(self):
        if threading is not None:  # at interpreter exit, modules may already be gone
            self._shutdown_workers()
