"""Length units as authors and OCR write them, normalised.

Captions and scale-bar labels say "5 µm", "5 μm" (Greek mu), "5 um", "500 nm",
"5 Å", "5 A" (OCR of Å), "2 microns", "1 mm", "5 nm⁻¹" / "5 1/nm" (diffraction).
``parse_length`` turns any of them into a value and a canonical unit; real-space
units convert to nanometres, reciprocal ones stay reciprocal (their scale is
per nm⁻¹, not per nm).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NM_PER_UNIT = {"pm": 1e-3, "Å": 0.1, "nm": 1.0, "µm": 1e3, "mm": 1e6, "cm": 1e7}
RECIPROCAL = {"nm⁻¹", "Å⁻¹"}

_UNIT_FORMS: list[tuple[str, str]] = [
    # reciprocal first, so "nm-1" is not read as "nm"
    (r"(?:1\s*/\s*nm|nm\s*(?:\^?\s*-\s*1|⁻¹|−1|-1))", "nm⁻¹"),
    (r"(?:1\s*/\s*[ÅÅ]|[ÅÅ]\s*(?:\^?\s*-\s*1|⁻¹|−1))", "Å⁻¹"),
    (r"(?:pm|picomet(?:er|re)s?)", "pm"),
    (r"(?:nm|nanomet(?:er|re)s?)", "nm"),
    (r"(?:[µμu]\s?m|microns?|micromet(?:er|re)s?)", "µm"),
    (r"(?:mm|millimet(?:er|re)s?)", "mm"),
    (r"(?:cm|centimet(?:er|re)s?)", "cm"),
    (r"(?:[ÅÅ]|angstr[oö]ms?|A(?![a-zA-Z]))", "Å"),
]
UNIT_PATTERN = "|".join(f"(?:{p})" for p, _ in _UNIT_FORMS)
NUMBER_PATTERN = r"\d+(?:[.,·]\d+)?"
LENGTH_RE = re.compile(rf"(?P<value>{NUMBER_PATTERN})\s*(?P<unit>{UNIT_PATTERN})(?![a-zA-Z])")


@dataclass(frozen=True)
class Length:
    value: float
    unit: str
    """canonical: pm, Å, nm, µm, mm, nm⁻¹ or Å⁻¹"""

    @property
    def nm(self) -> float | None:
        """The length in nanometres; None for reciprocal units."""
        factor = NM_PER_UNIT.get(self.unit)
        return self.value * factor if factor is not None else None

    def __str__(self) -> str:
        return f"{self.value:g}\u2009{self.unit}"


def canonical_unit(text: str) -> str | None:
    for pattern, unit in _UNIT_FORMS:
        if re.fullmatch(pattern, text.strip()):
            return unit
    return None


def parse_length(text: str) -> Length | None:
    """The first "<number> <unit>" in ``text``.

    >>> parse_length("0.5 um")
    Length(value=0.5, unit='µm')
    >>> parse_length("scale bar 5 Å").nm
    0.5
    """
    m = LENGTH_RE.search(text)
    if not m:
        return None
    unit = canonical_unit(m.group("unit"))
    if unit is None:
        return None
    return Length(float(m.group("value").replace(",", ".").replace("·", ".")), unit)
