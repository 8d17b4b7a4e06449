"""Provenance: which code, under which parameters, produced a row."""

from __future__ import annotations

import hashlib
import json
from importlib import metadata
from typing import Any

try:
    VERSION = metadata.version("figlake")
except metadata.PackageNotFoundError:  # running from a source tree without install
    VERSION = "0+unknown"


def extractor(module: str) -> str:
    """``'<module>@<figlake version>'``, stored in every derived row."""
    return f"{module}@{VERSION}"


def params_hash(params: Any) -> str:
    """A short, stable hash of a JSON-able parameter structure."""
    blob = json.dumps(params, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()[:16]
