"""Errors for bad input.

An ``InputError`` means the *input* is at fault (a truncated page, a corrupt
image), not figlake. Stage loops catch exactly these per item, write a
quarantine row naming the input, and go on; anything else is a bug and stops
the stage (a rerun resumes where it stopped).
"""

from __future__ import annotations


class InputError(Exception):
    """An input figlake cannot process. ``item`` names it (path, URL or id)."""

    def __init__(self, item: str, reason: str) -> None:
        super().__init__(f"{item}: {reason}")
        self.item = item
        self.reason = reason

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        # Pickled with (item, reason), not the formatted message: a worker process (Ray) sends it back whole.
        return self.__class__, (self.item, self.reason)


class UnreadablePageError(InputError):
    """The page could not be parsed (malformed markup, wrong encoding)."""


class TruncatedPageError(InputError):
    """The page ends before its markup does (an interrupted download)."""


class NotAnArticleError(InputError):
    """No reader recognises the page as an article (search page, index, unknown publisher)."""


class CorruptImageError(InputError):
    """The image bytes cannot be decoded."""


class ImageTooLargeError(InputError):
    """The image is larger than the configured limit (decompression-bomb guard)."""


class EmptyFigureError(InputError):
    """The image decodes but holds nothing to separate (blank, or too small to carry a subfigure)."""
