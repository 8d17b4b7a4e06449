"""The ``local`` source: article pages and PDFs saved in folders, with their figure images.

A folder holds pages (``.html``, ``.htm``, ``.xml``, ``.nxml``) or PDFs (figures are
cut from the PDF itself: ``ingest.sources.pdf``) and, beside
them or in a ``figures/`` subfolder, the figure images. An image is found by,
in order: the page's own reference (a JATS ``graphic`` href, with or without
extension), the EXSCLAIM! naming ``<page stem>_fig<N>.<ext>``, or the file
name of the image URL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from ingest.errors import UnreadablePageError
from ingest.sources import Article, FigureRef, read_article
from ingest.sources.pdf import PdfArticle, PdfSettings, read_pdf

PAGE_SUFFIXES = (".html", ".htm", ".xml", ".nxml", ".pdf")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class LocalPage:
    """A saved page and the article read from it, with local figure images where found."""

    path: Path
    article: Article
    images: dict[int, Path | None]
    """Figure index (position in ``article.figures``) → local image file, or None."""
    pdf: PdfArticle | None = None
    """for a PDF: where each figure is on its page, and its rendered image"""

    def image(self, i: int) -> tuple[str, bytes] | None:
        """Figure ``i``'s image: where it came from (a file, or ``paper.pdf#page=3``) and its bytes."""
        if self.pdf is not None:
            fig = self.pdf.figures[i]
            return f"{self.path}#page={fig.page}&bbox={','.join(f'{v:g}' for v in fig.bbox)}", fig.image
        path = self.images[i]
        return (str(path), path.read_bytes()) if path is not None else None


def find_pages(paths: Iterable[Path | str]) -> list[Path]:
    """All page files under the given files/folders, sorted, each once."""
    pages: set[Path] = set()
    for p in map(Path, paths):
        if p.is_file():
            pages.add(p)
        elif p.is_dir():
            pages.update(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in PAGE_SUFFIXES)
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return sorted(pages)


def find_local_image(page: Path, fig: FigureRef) -> Path | None:
    """The local file holding ``fig``'s image, or None if there is none beside ``page``."""
    folders = [page.parent, page.parent / "figures", page.parent / page.stem]
    prefix = "fig" if fig.kind == "figure" else fig.kind
    stems: list[str] = []
    if fig.image_href:
        stems.append(fig.image_href)
    stems.append(f"{page.stem}_{prefix}{fig.number}")
    if fig.image_url:
        stems.append(PurePosixPath(unquote(urlparse(fig.image_url).path)).name)
    for folder in folders:
        for stem in stems:
            candidate = folder / stem
            if candidate.suffix.lower() in IMAGE_SUFFIXES and candidate.is_file():
                return candidate
            for suffix in IMAGE_SUFFIXES:
                with_suffix = folder / (stem + suffix)
                if with_suffix.is_file():
                    return with_suffix
    return None


def read_local_page(path: Path, pdf_settings: PdfSettings = PdfSettings()) -> LocalPage:
    """Read one saved page or PDF. Raises ``InputError`` subclasses naming the file."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UnreadablePageError(str(path), f"cannot read file ({e.strerror})") from e
    if path.suffix.lower() == ".pdf":
        pdf = read_pdf(data, str(path), pdf_settings)
        return LocalPage(path, pdf.article, dict.fromkeys(range(len(pdf.figures))), pdf)
    article = read_article(data, str(path))
    images = {i: find_local_image(path, fig) for i, fig in enumerate(article.figures)}
    return LocalPage(path, article, images)
