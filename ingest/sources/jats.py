"""JATS XML: the archival format of PMC Open Access and of publisher APIs (Springer Nature).

One reader covers PMC ``.nxml`` files and Springer's API responses (a JATS
``<article>`` wrapped in ``<response><records>``). The XML is parsed strictly
and without loading DTDs or external entities (no network, no XXE); a file cut
short is reported as truncated rather than repaired.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from urllib.parse import quote

from lxml import etree

from ingest.errors import NotAnArticleError, TruncatedPageError, UnreadablePageError
from ingest.sources.article import FIGURE_KINDS, Article, FigureRef, normalise_doi, parse_figure_label
from ingest.sources.licenses import canonical_license_url, is_open, license_spdx, license_url_in
from ingest.sources.reader import clean_text, text_of

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".tif", ".tiff", ".webp")
XLINK = "{http://www.w3.org/1999/xlink}href"
ALI_LICENSE_REF = "{http://www.niso.org/schemas/ali/1.0/}license_ref"

_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, recover=False, huge_tree=False
)


XML_ROOTS = (b"article", b"full-text-retrieval-response", b"response", b"records", b"pubmedarticleset",
             b"pmc-articleset", b"feed", b"oai-pmh")


def looks_like_xml(data: bytes) -> bool:
    """Is this an XML document of a kind we read (JATS, publisher API XML), rather than (X)HTML?"""
    head = data[:4096].lower()
    # Skip the declaration, doctype and comments; the first element decides.
    m = re.search(rb"<([a-z][\w:.-]*)", re.sub(rb"<\?.*?\?>|<!--.*?-->|<!doctype[^>]*>", b"", head, flags=re.S))
    return m is not None and m.group(1).split(b":")[-1] in XML_ROOTS


def parse_xml(data: bytes, source: str) -> etree._Element:
    if not data.strip():
        raise UnreadablePageError(source, "empty file")
    try:
        return etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as e:
        msg = str(e)
        if "Premature end" in msg or "EndTag" in msg or "end of data" in msg.lower():
            raise TruncatedPageError(source, f"XML ends before its document does ({msg})") from e
        raise UnreadablePageError(source, f"malformed XML ({msg})") from e


def block_text(el: etree._Element | None) -> str:
    """Text of an element whose children are blocks (title, p): blocks joined by a space."""
    if el is None:
        return ""
    parts = [clean_text(el.text)]
    for child in el:
        if not isinstance(child.tag, str):
            continue
        parts.append(text_of(child))
        parts.append(clean_text(child.tail))
    return " ".join(p for p in parts if p)


class JatsReader:
    page_format = "jats"

    @staticmethod
    def detect(root: etree._Element) -> bool:
        return find_article(root) is not None

    def read(self, data: bytes, source: str, root: etree._Element | None = None) -> Article:
        root = root if root is not None else parse_xml(data, source)
        article = find_article(root)
        if article is None:
            raise NotAnArticleError(source, f"XML root <{root.tag}> holds no JATS <article> with front matter")
        meta = article.find("front/article-meta")
        journal_meta = article.find("front/journal-meta")
        doi = normalise_doi(_text(meta, "article-id[@pub-id-type='doi']"))
        if not doi:
            raise NotAnArticleError(source, "JATS article without a DOI (article-id pub-id-type='doi')")
        title = text_of(meta.find("title-group/article-title"))
        if not title:
            raise UnreadablePageError(source, "JATS article without a title")
        lic_url, lic_text = _license(meta)
        spdx = license_spdx(lic_url, lic_text)
        year, published = _pub_date(meta)
        pmcid = _text(meta, "article-id[@pub-id-type='pmc']") or _text(meta, "article-id[@pub-id-type='pmcid']")
        publisher = _text(journal_meta, "publisher/publisher-name")
        return Article(
            doi=doi,
            alt_id=None,
            title=title,
            journal=text_of(journal_meta.find(".//journal-title")) or None if journal_meta is not None else None,
            publisher=publisher,
            year=year,
            published=published,
            authors=_authors(meta),
            abstract=_abstract(meta),
            keywords=[text_of(k) for k in meta.iterfind(".//kwd-group/kwd") if text_of(k)],
            license_spdx=spdx,
            license_url=canonical_license_url(lic_url or license_url_in(lic_text)),
            is_open_access=is_open(spdx),
            url=f"https://www.ncbi.nlm.nih.gov/pmc/articles/PMC{pmcid.removeprefix('PMC')}/"
            if pmcid
            else f"https://doi.org/{doi}",
            pdf_url=None,
            page_format=self.page_format,
            figures=_figures(article, doi, pmcid, publisher),
        )


def find_article(root: etree._Element) -> etree._Element | None:
    if root.tag == "article" and root.find("front/article-meta") is not None:
        return root
    for el in root.iter("article"):
        if el.find("front/article-meta") is not None:
            return el
    return None


def _text(parent: etree._Element | None, path: str) -> str | None:
    if parent is None:
        return None
    el = parent.find(path)
    return text_of(el) or None if el is not None else None


def _license(meta: etree._Element) -> tuple[str | None, str | None]:
    lic = meta.find("permissions/license")
    ref = meta.find(f"permissions/{ALI_LICENSE_REF}")
    url = None
    if ref is not None and text_of(ref):
        url = text_of(ref)
    elif lic is not None and lic.get(XLINK):
        url = lic.get(XLINK)
    text = None
    if lic is not None:
        text = block_text(lic)
        for link in lic.iter("ext-link", "uri"):
            url = url or link.get(XLINK) or text_of(link)
    else:
        # Older PMC files state the licence only in the copyright statement.
        text = _text(meta, "permissions/copyright-statement") or _text(meta, "copyright-statement")
    return url, text or None


_DATE_PREFERENCE = ("epub", "ppub", "pub", "epub-ppub", "collection")


def _pub_date(meta: etree._Element) -> tuple[int | None, str | None]:
    dates = meta.findall("pub-date")
    if not dates:
        return None, None

    def rank(d: etree._Element) -> int:
        kind = d.get("pub-type") or d.get("date-type") or ""
        return _DATE_PREFERENCE.index(kind) if kind in _DATE_PREFERENCE else len(_DATE_PREFERENCE)

    best = min(dates, key=rank)
    y, m, d = (_text(best, t) for t in ("year", "month", "day"))
    if not y or not y.isdigit():
        return None, None
    iso = y
    if m and m.isdigit():
        iso += f"-{int(m):02d}"
        if d and d.isdigit():
            iso += f"-{int(d):02d}"
    return int(y), iso


def _authors(meta: etree._Element) -> list[str]:
    names = []
    for contrib in meta.iterfind(".//contrib-group/contrib"):
        if contrib.get("contrib-type", "author") != "author":
            continue
        name = contrib.find("name")
        if name is not None:
            parts = [_text(name, "given-names"), _text(name, "surname")]
            names.append(" ".join(p for p in parts if p))
        elif (s := contrib.find("string-name")) is not None or (s := contrib.find("collab")) is not None:
            names.append(text_of(s))
    return [n for n in names if n]


def _abstract(meta: etree._Element) -> str | None:
    for ab in meta.iterfind("abstract"):
        if ab.get("abstract-type") in (None, "", "author", "structured"):
            return " ".join(block_text(sec) if sec.tag == "sec" else text_of(sec) for sec in ab) or text_of(ab)
    ab = meta.find("abstract")
    return text_of(ab) or None if ab is not None else None


def _figures(article: etree._Element, doi: str, pmcid: str | None, publisher: str | None) -> list[FigureRef]:
    figures: list[FigureRef] = []
    seen: set[tuple[str, int]] = set()
    figs = [f for f in article.iter("fig") if not any(a.tag == "abstract" for a in f.iterancestors())]
    labelled = [f for f in figs if _fig_number(f)]
    # Unlabelled figures are numbered by position only in articles that label none
    # (single-figure notes); elsewhere they are TOC art or graphical abstracts.
    for i, fig in enumerate(labelled or figs, start=1):
        label = text_of(fig.find("label")).replace("\xa0", " ") or None
        kind, number = _fig_number(fig) or ("figure", i)
        if (kind, number) in seen:
            continue
        seen.add((kind, number))
        caption_el = fig.find("caption")
        title = text_of(caption_el.find("title")) or None if caption_el is not None else None
        # xlink:href, or the bare attribute name when the file never declares the xlink namespace.
        href = next((g.get(XLINK) or g.get("xlink:href") for g in fig.iter("graphic")
                     if g.get(XLINK) or g.get("xlink:href")), None)
        figures.append(
            FigureRef(
                kind=kind,
                number=number,
                figure_label=label,
                title=title,
                caption=block_text(caption_el),
                image_url=_image_url(href, doi, pmcid, publisher),
                image_href=href,
            )
        )
    return figures


def _fig_number(fig: etree._Element) -> tuple[str, int] | None:
    """('figure', 3) from a label 'Figure 3' or a bare '3' (ACS labels just the number; fig-type says the kind)."""
    label = text_of(fig.find("label")).replace("\xa0", " ")
    if parsed := parse_figure_label(label):
        return parsed
    if label.strip().rstrip(".").isdigit():
        kind = fig.get("fig-type", "figure").lower()
        return (kind if kind in FIGURE_KINDS else "figure"), int(label.strip().rstrip("."))
    return None


def _image_url(href: str | None, doi: str, pmcid: str | None, publisher: str | None) -> str | None:
    """Where the publisher serves the figure image named by a JATS graphic href."""
    if not href:
        return None
    if href.startswith(("http://", "https://")):
        return href
    if pmcid:
        # PMC hrefs usually omit the extension (pone.0046493.g001); the file is a JPEG.
        name = href if PurePosixPath(href).suffix.lower() in IMAGE_SUFFIXES else href + ".jpg"
        return f"https://www.ncbi.nlm.nih.gov/pmc/articles/PMC{pmcid.removeprefix('PMC')}/bin/{name}"
    name = (publisher or "").lower()
    if "springer" in name or "biomed central" in name:
        return f"https://static-content.springer.com/image/art%3A{quote(doi, safe='')}/{href}"
    if "american chemical society" in name or doi.startswith("10.1021/"):
        # ACS serves web renditions as JPEG under the article's asset folder.
        return f"https://pubs.acs.org/cms/{doi}/asset/images/large/{PurePosixPath(href).stem}.jpg"
    return href
