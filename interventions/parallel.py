"""A batch job's chunks evaluated in parallel worker processes, committed in order.

`run_chunks(job, chunks, rules, processes)` forks `processes` workers (PostgreSQL only, where
each worker has its own session). The parent hands out the chunks in id order, numbered; each
worker reads, evaluates and writes its chunk in its own transaction, then waits until the chunk
before it has committed, records the job's progress in its transaction and commits. So the
progress only ever moves forward over committed chunks, exactly as in the serial loop:

- resumable: a killed worker (or a killed parent: the workers die with it) loses only chunks
  not yet committed, and the job resumes after the last committed one;
- idempotent: every household is in exactly one chunk; a rerun writes nothing.

The chunks must not overlap (each is a set of household ids). A failing chunk stops the job:
the others see the failure while waiting for their turn and roll back.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import logging
import queue
import signal
import time
from collections.abc import Iterable, Sequence

import billiard
from django.db import connections
from django.db.models import F

from .models import RecalculationJob
from .recalculation import ChunkResult, RulesInForce, recalculate_chunk

logger = logging.getLogger(__name__)

WAIT = 0.2  # seconds between checks for a failed sibling while waiting
_INHERITED: list = []  # the parent's database connections, kept (never closed) in a worker


class ChunkFailed(RuntimeError):
    """A chunk failed in a worker process (the message is the worker's error)."""


def record_progress(job_id: int, last_household_id: int, result: ChunkResult) -> None:
    """Advance a job past one chunk (inside the chunk's transaction)."""
    RecalculationJob.objects.filter(pk=job_id).update(
        last_household_id=last_household_id,
        processed=F("processed") + result.households,
        assessed=F("assessed") + result.assessed,
        moved=F("moved") + result.moved,
    )


def run_chunks(
    job: RecalculationJob,
    chunks: Iterable[Sequence[int]],
    rules: RulesInForce,
    *,
    processes: int,
    pause: float = 0.0,
) -> None:
    """Process `chunks` (lists of household ids, in id order) in `processes` workers."""
    # billiard (Celery's multiprocessing): a prefork Celery worker's pool processes are daemonic,
    # and the standard library refuses children to daemonic processes; billiard does not.
    context = billiard.get_context("fork")
    tasks = context.Queue(maxsize=2 * processes)
    errors = context.Queue()
    turn = context.Condition()
    committed = context.Value("l", -1, lock=False)  # number of the last committed chunk
    failed = context.Event()
    workers = [
        context.Process(
            target=_work,
            args=(job, rules, tasks, errors, turn, committed, failed, pause),
            name=f"recalc-{job.pk}-{n}",
            daemon=True,
        )
        for n in range(processes)
    ]
    for worker in workers:
        worker.start()
    finished = False
    try:
        items = ((number, list(ids)) for number, ids in enumerate(chunks))
        for item in itertools.chain(items, [None] * processes):
            if not _put(tasks, item, workers, failed):
                break
        for worker in workers:
            while worker.is_alive() and not failed.is_set():
                worker.join(WAIT)
                if any(w.exitcode not in (None, 0) for w in workers):
                    _fail(turn, failed)
        finished = not failed.is_set()
    finally:
        for worker in workers:
            worker.join(None if finished else 5 * WAIT)
            if worker.is_alive():  # idle, or stuck in a chunk that rolls back with its session
                worker.kill()
                worker.join()
    if failed.is_set() or any(w.exitcode != 0 for w in workers):
        try:
            message = errors.get(timeout=1)
        except queue.Empty:
            message = "a recalculation worker process died"
        raise ChunkFailed(message)


def _put(tasks, item, workers, failed) -> bool:
    """Queue `item`; False when the workers stopped (a chunk failed)."""
    while True:
        try:
            tasks.put(item, timeout=WAIT)
            return True
        except queue.Full:
            if failed.is_set() or not any(w.is_alive() for w in workers):
                return False


def _fail(turn, failed) -> None:
    failed.set()
    with turn:
        turn.notify_all()


def _die_with_parent() -> None:
    """Linux: the kernel kills this worker when its parent dies (a killed Celery worker)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _forget_inherited_connections() -> None:
    """Open our own sessions. The parent's stay untouched: closing them here would end the
    parent's session (and its advisory lock), so they are kept referenced until exit."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            _INHERITED.append(conn.connection)
            conn.connection = None


def _work(job, rules, tasks, errors, turn, committed, failed, pause) -> None:
    _die_with_parent()
    _forget_inherited_connections()
    try:
        while (item := tasks.get()) is not None:
            number, ids = item

            def in_order(result: ChunkResult, number=number, last=ids[-1]) -> None:
                with turn:
                    while committed.value != number - 1:
                        if failed.is_set():
                            raise ChunkFailed("another chunk failed")
                        turn.wait(WAIT)
                record_progress(job.pk, last, result)

            recalculate_chunk(ids, rules=rules, job=job, in_transaction=in_order)
            with turn:
                committed.value = number
                turn.notify_all()
            if pause:
                time.sleep(pause)
    except BaseException as exc:
        if not failed.is_set():
            logger.exception("Recalculation job %s: a chunk failed in a worker.", job.pk)
            errors.put(str(exc) or exc.__class__.__name__)
        _fail(turn, failed)
        raise SystemExit(1) from None
    finally:
        connections.close_all()
