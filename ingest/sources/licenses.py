"""Licence statements → SPDX ids.

Publishers state licences as a Creative Commons URL (``rel="license"`` links,
JATS ``<license xlink:href>``, ``ali:license_ref``) or only in prose ("This is
an open-access article distributed under the terms of the Creative Commons
Attribution License"). Figures may be redistributed only under the licences
this recognises, so an unrecognised statement maps to None, never a guess.
"""

from __future__ import annotations

import re

_CC_URL = re.compile(
    r"creativecommons\.org/(?:licenses|licences)/(by(?:-nc)?(?:-nd|-sa)?)/(\d(?:\.\d)?)", re.IGNORECASE
)
_CC_ZERO = re.compile(r"creativecommons\.org/publicdomain/zero/(\d\.\d)", re.IGNORECASE)
_PD_MARK = re.compile(r"creativecommons\.org/publicdomain/mark/(\d\.\d)", re.IGNORECASE)

# Prose forms, most specific first. Unversioned statements get the family id.
_CC_TEXT = [
    (re.compile(r"attribution[- ]non-?commercial[- ]no-?deriv", re.I), "by-nc-nd"),
    (re.compile(r"attribution[- ]non-?commercial[- ]share-?alike", re.I), "by-nc-sa"),
    (re.compile(r"attribution[- ]non-?commercial", re.I), "by-nc"),
    (re.compile(r"attribution[- ]no-?deriv", re.I), "by-nd"),
    (re.compile(r"attribution[- ]share-?alike", re.I), "by-sa"),
    (re.compile(r"creative commons attribution|\bCC[- ]BY\b", re.I), "by"),
]
_VERSION_TEXT = re.compile(r"\b(\d\.\d)\b(?:\s+(?:international|generic|unported))?", re.I)


def _cc_id(family: str, version: str | None) -> str:
    base = "CC-" + family.upper()
    if version and "." not in version:
        version += ".0"
    return f"{base}-{version}" if version else base


def license_spdx(url: str | None = None, text: str | None = None) -> str | None:
    """SPDX id for a licence URL or statement; None if it is not a recognised open licence.

    >>> license_spdx("http://creativecommons.org/licenses/by-nc-nd/4.0/")
    'CC-BY-NC-ND-4.0'
    >>> license_spdx(text="distributed under the Creative Commons Attribution License")
    'CC-BY'
    """
    for s in (url, text):
        if not s:
            continue
        if m := _CC_URL.search(s):
            return _cc_id(m.group(1), m.group(2))
        if m := _CC_ZERO.search(s):
            return f"CC0-{m.group(1)}"
        if _PD_MARK.search(s):
            return "LicenseRef-Public-Domain-Mark"
    if text:
        if re.search(r"public domain", text, re.I) and not re.search(r"creative commons", text, re.I):
            return "LicenseRef-Public-Domain"
        for pattern, family in _CC_TEXT:
            if pattern.search(text):
                v = _VERSION_TEXT.search(text)
                return _cc_id(family, v.group(1) if v else None)
    return None


def canonical_license_url(url: str | None) -> str | None:
    """Creative Commons URLs in their canonical form (https, trailing slash); others unchanged.

    >>> canonical_license_url("http://creativecommons.org/licenses/by/4.0")
    'https://creativecommons.org/licenses/by/4.0/'
    """
    if not url:
        return None
    m = re.match(r"\s*https?://(?:www\.)?creativecommons\.org/((?:licenses|licences|publicdomain)/[\w.-]+(?:/[\d.]+)?)",
                 url, re.I)
    if not m:
        return url.strip()
    return f"https://creativecommons.org/{m.group(1).lower().replace('licences', 'licenses')}/"


def license_url_in(text: str | None) -> str | None:
    """The first Creative Commons URL in a piece of text, if any."""
    if not text:
        return None
    m = re.search(r"https?://creativecommons\.org/[\w./-]+", text, re.I)
    return m.group(0) if m else None


def is_open(spdx: str | None) -> bool | None:
    """True for CC / public-domain licences; None when unknown (absence proves nothing)."""
    if spdx is None:
        return None
    return spdx.startswith(("CC", "LicenseRef-Public-Domain"))
