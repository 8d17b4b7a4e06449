"""Where a stage's per-item function runs: in this process (``local``), in worker processes on this
machine (``processes``), or on a Ray cluster (``ray``).

    stage:
      executor: processes      # local, processes or ray
      workers: 2               # processes: how many (each holds the stage's models once)
      ray:
        address: null          # null: a Ray started on this machine; "ray://head:10001" or "auto": a cluster
        actors: 2              # actor pool size (each holds the stage's models once)
        cpus_per_actor: 1
        gpus_per_actor: 0      # > 0 on a cluster with GPUs: the models run there
        batch_size: 4          # items per map_batches call

The stage loop (``ingest.stage.Stage``) stays the one place that commits
checkpoints and quarantines and writes the lake: an executor only maps the
per-item function and hands back ``(keys, ItemResult)`` pairs as they finish,
in any order (the lake tables are sorted by key when written, so the order
does not show). Locally and in processes a pair is one item; with Ray it is
one batch, its items' results merged. With Ray the items go through a Ray
Data pipeline — ``map_batches`` over an actor pool, the per-item function
shipped once to each actor with the models it holds — so the same code runs
on a laptop (a local Ray) and on a cluster; and the rows of the stage's
Lance tables (``sink``) are written by the actors as Lance fragments, only
their metadata coming back (``catalog.fragments``). An ``InputError`` in a
worker comes back as the item's quarantine record, as locally; any other
exception stops the stage, and the rerun resumes from the last committed
batch.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ingest.errors import InputError

if TYPE_CHECKING:
    from catalog.fragments import FragmentSink
    from ingest.stage import ItemResult

T = TypeVar("T")


def run_item(process: Callable[[T], ItemResult], item: T) -> ItemResult:
    """``process(item)``, with bad input turned into the item's quarantine record."""
    from ingest.stage import ItemResult

    try:
        return process(item)
    except InputError as e:
        return ItemResult(problems=[e])


class Executor(Protocol):
    def map(self, process: Callable[[Any], ItemResult], items: Sequence[tuple[str, Any]],
            sink: FragmentSink | None = None) -> Iterator[tuple[list[str], ItemResult]]:
        """``process`` over ``items`` (key, item): (keys, result) as they finish. Executors that run
        where the driver's file system is at hand return every row and leave ``sink`` unused."""
        ...


class LocalExecutor:
    """One item after another in this process."""

    def map(self, process: Callable[[T], ItemResult], items: Sequence[tuple[str, T]],
            sink: FragmentSink | None = None) -> Iterator[tuple[list[str], ItemResult]]:
        for key, item in items:
            yield [key], run_item(process, item)


_worker_process: Callable[[Any], ItemResult] | None = None


def _start_worker(blob: bytes) -> None:
    """In each worker: one thread for the libraries that would take every core (the workers share
    them), then the per-item function, unpickled once with the models it holds."""
    global _worker_process
    os.environ["FIGLAKE_OCR_THREADS"] = "1"
    import cloudpickle
    import torch

    torch.set_num_threads(1)
    _worker_process = cloudpickle.loads(blob)


def _run_in_worker(item: Any) -> ItemResult:
    assert _worker_process is not None, "worker not initialised"
    return run_item(_worker_process, item)


@dataclass(frozen=True)
class ProcessExecutor:
    """``workers`` processes on this machine. The per-item function (a closure over the stage's models)
    goes to each worker once, by cloudpickle as Ray ships it; items go one by one, a few ahead."""

    workers: int = 2

    def map(self, process: Callable[[T], ItemResult], items: Sequence[tuple[str, T]],
            sink: FragmentSink | None = None) -> Iterator[tuple[list[str], ItemResult]]:
        if not items:
            return
        import cloudpickle

        todo = iter(items)
        pending: dict[Future[ItemResult], str] = {}
        ctx = multiprocessing.get_context("spawn")  # no fork of a process holding threads and models
        with ProcessPoolExecutor(min(self.workers, len(items)), mp_context=ctx, initializer=_start_worker,
                                 initargs=(cloudpickle.dumps(process),)) as pool:

            def submit() -> None:
                nxt = next(todo, None)
                if nxt is not None:
                    pending[pool.submit(_run_in_worker, nxt[1])] = nxt[0]

            for _ in range(2 * self.workers):
                submit()
            while pending:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    key = pending.pop(fut)
                    submit()
                    yield [key], fut.result()


@dataclass(frozen=True)
class RayExecutor:
    """A Ray Data pipeline: items → map_batches(actor pool running ``process``) → results streamed back,
    a batch at a time; the rows of the ``sink``'s tables written by the actors as Lance fragments."""

    address: str | None = None
    actors: int = 2
    cpus_per_actor: float = 1
    gpus_per_actor: float = 0
    batch_size: int = 4

    def map(self, process: Callable[[T], ItemResult], items: Sequence[tuple[str, T]],
            sink: FragmentSink | None = None) -> Iterator[tuple[list[str], ItemResult]]:
        if not items:
            return
        import ray

        from ingest.stage import ItemResult

        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        if sink is not None:
            sink.prepare()
        fn = ray.put(process)

        class Worker:
            """One per actor: unpacks the per-item function (and the models it holds) once."""

            def __init__(self) -> None:
                self.process = ray.get(fn)

            def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
                result = ItemResult.merged([run_item(self.process, pickle.loads(blob)) for blob in batch["item"]])
                if sink is not None:
                    result.fragments = sink.write(result.rows)
                return {"keys": [pickle.dumps([str(k) for k in batch["key"]])], "result": [pickle.dumps(result)]}

        rows = [{"key": key, "item": pickle.dumps(item)} for key, item in items]
        source = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows), 4 * self.actors)))
        results = source.map_batches(Worker, batch_size=self.batch_size, batch_format="numpy",
                            compute=ray.data.ActorPoolStrategy(size=self.actors),
                            num_cpus=self.cpus_per_actor, num_gpus=self.gpus_per_actor)
        for row in results.iter_rows():
            yield pickle.loads(row["keys"]), pickle.loads(row["result"])


def executor_from_params(stage_params: dict[str, Any]) -> Executor:
    """The executor ``stage.executor`` names (``local`` when absent)."""
    kind = stage_params.get("executor", "local")
    if kind == "local":
        return LocalExecutor()
    if kind == "processes":
        return ProcessExecutor(workers=max(1, int(stage_params.get("workers", 2))))
    if kind == "ray":
        r = stage_params.get("ray") or {}
        return RayExecutor(address=r.get("address"), actors=int(r.get("actors", 2)),
                           cpus_per_actor=float(r.get("cpus_per_actor", 1)),
                           gpus_per_actor=float(r.get("gpus_per_actor", 0)), batch_size=int(r.get("batch_size", 4)))
    raise ValueError(f"stage.executor: {kind!r} is not an executor (local, processes or ray)")
