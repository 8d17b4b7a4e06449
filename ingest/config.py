"""params.yaml: the one place a run's settings live (DVC tracks it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEFAULT_PARAMS = Path("params.yaml")


class ConfigError(Exception):
    """params.yaml is missing a setting or has a wrong one."""


def load_params(path: Path | str = DEFAULT_PARAMS) -> dict[str, Any]:
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"{path}: no such parameter file (run from the repository root)")
    with path.open(encoding="utf-8") as f:
        params = yaml.safe_load(f) or {}
    if not isinstance(params, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    return params


def section(params: dict[str, Any], dotted: str) -> Any:
    """``section(params, "sources.local")`` with an error naming the missing key."""
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            raise ConfigError(f"params.yaml: missing setting '{dotted}'")
        node = node[part]
    return node
