"""Where a stage's per-item function runs: in this process (``local``) or on a Ray cluster (``ray``).

    stage:
      executor: local          # or ray
      ray:
        address: null          # null: a Ray started on this machine; "ray://head:10001" or "auto": a cluster
        actors: 2              # actor pool size (each holds the stage's models once)
        cpus_per_actor: 1
        gpus_per_actor: 0      # > 0 on a cluster with GPUs: the models run there
        batch_size: 4          # items per map_batches call

The stage loop (``ingest.stage.Stage``) stays the one place that commits
checkpoints, quarantines and writes the lake: an executor only maps the
per-item function and hands back ``(key, ItemResult)`` pairs as they finish,
in any order (the lake tables are sorted by key when written, so the order
does not show). With Ray the items go through a Ray Data pipeline —
``map_batches`` over an actor pool, the per-item function shipped once to
each actor with the models it holds — so the same code runs on a laptop
(a local Ray) and on a cluster. An ``InputError`` in a worker comes back as
the item's quarantine record, as locally; any other exception stops the
stage, and the rerun resumes from the last committed batch.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from ingest.errors import InputError

if TYPE_CHECKING:
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
    def map(self, process: Callable[[Any], ItemResult],
            items: Sequence[tuple[str, Any]]) -> Iterator[tuple[str, ItemResult]]: ...


class LocalExecutor:
    """One item after another in this process."""

    def map(self, process: Callable[[T], ItemResult],
            items: Sequence[tuple[str, T]]) -> Iterator[tuple[str, ItemResult]]:
        for key, item in items:
            yield key, run_item(process, item)


@dataclass(frozen=True)
class RayExecutor:
    """A Ray Data pipeline: items → map_batches(actor pool running ``process``) → results streamed back."""

    address: str | None = None
    actors: int = 2
    cpus_per_actor: float = 1
    gpus_per_actor: float = 0
    batch_size: int = 4

    def map(self, process: Callable[[T], ItemResult],
            items: Sequence[tuple[str, T]]) -> Iterator[tuple[str, ItemResult]]:
        if not items:
            return
        import ray

        if not ray.is_initialized():
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        fn = ray.put(process)

        class Worker:
            """One per actor: unpacks the per-item function (and the models it holds) once."""

            def __init__(self) -> None:
                self.process = ray.get(fn)

            def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
                out = [pickle.dumps(run_item(self.process, pickle.loads(blob))) for blob in batch["item"]]
                return {"key": batch["key"], "result": out}

        rows = [{"key": key, "item": pickle.dumps(item)} for key, item in items]
        source = ray.data.from_items(rows, override_num_blocks=max(1, min(len(rows), 4 * self.actors)))
        results = source.map_batches(Worker, batch_size=self.batch_size, batch_format="numpy",
                            compute=ray.data.ActorPoolStrategy(size=self.actors),
                            num_cpus=self.cpus_per_actor, num_gpus=self.gpus_per_actor)
        for row in results.iter_rows():
            yield str(row["key"]), pickle.loads(row["result"])


def executor_from_params(stage_params: dict[str, Any]) -> Executor:
    """The executor ``stage.executor`` names (``local`` when absent)."""
    kind = stage_params.get("executor", "local")
    if kind == "local":
        return LocalExecutor()
    if kind == "ray":
        r = stage_params.get("ray") or {}
        return RayExecutor(address=r.get("address"), actors=int(r.get("actors", 2)),
                           cpus_per_actor=float(r.get("cpus_per_actor", 1)),
                           gpus_per_actor=float(r.get("gpus_per_actor", 0)), batch_size=int(r.get("batch_size", 4)))
    raise ValueError(f"stage.executor: {kind!r} is not an executor (local or ray)")
