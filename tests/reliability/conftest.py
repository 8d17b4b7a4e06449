"""The reliability suite's tally: how many hostile inputs and injected faults each test tried.

Every test here adds what it tried to ``tally``; at the end of the session the
counts are written to ``test-artifacts/reliability.json``, which the README's
reliability section summarises (inputs tried, faults injected, rows lost).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

REPO = Path(__file__).resolve().parents[2]

# Derandomised so CI is reproducible; no deadline (a slow CI core is not a failure), since
# time bounds that matter (parsers on bombs) are asserted explicitly where they matter.
settings.register_profile("figlake", derandomize=True, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.load_profile("figlake")


@pytest.fixture(scope="session")
def tally() -> Iterator[Counter[str]]:
    counts: Counter[str] = Counter()
    yield counts
    out = REPO / "test-artifacts" / "reliability.json"
    out.parent.mkdir(exist_ok=True)
    previous = json.loads(out.read_text()) if out.exists() else {}
    out.write_text(json.dumps(previous | dict(sorted(counts.items())), indent=2) + "\n")
