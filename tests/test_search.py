"""Publisher searches: the real query URLs, and result pages/APIs read into hits (pages written for the tests)."""

from __future__ import annotations

import json

import pytest
from replay import html

from ingest.sources.crawl import SEARCHES
from ingest.sources.query import parse_query

QUERY = parse_query({"name": "q", "journal_family": list(SEARCHES), "maximum_scraped": 5, "sortby": "recent",
                     "query": {"search_field_1": {"term": "Ag nanoparticle"}}, "open": True,
                     "date_range": {"from": 2015, "to": 2020}})
TERMS = ("Ag nanoparticle", "HAADF-STEM")


@pytest.mark.parametrize(("family", "expected"), [
    ("nature", "https://www.nature.com/search?q=%22Ag+nanoparticle%22+%22HAADF-STEM%22&order=date_desc&page=2"
               "&date_range=2015-2020"),
    ("acs", "https://pubs.acs.org/action/doSearch?AllField=%22Ag+nanoparticle%22+%22HAADF-STEM%22&sortBy=Earliest"
            "&startPage=1&pageSize=20&AfterYear=2015&BeforeYear=2020"),
    ("wiley", "https://onlinelibrary.wiley.com/action/doSearch?AllField=%22Ag+nanoparticle%22+%22HAADF-STEM%22"
              "&sortBy=Earliest&startPage=1&pageSize=20&AfterYear=2015&BeforeYear=2020"),
    ("rsc", "https://pubs.rsc.org/en/results?searchtext=%22Ag+nanoparticle%22+%22HAADF-STEM%22&SortBy=Latest%20to"
            "%20oldest&PageSize=50&PageNumber=2&tab=all&fcategory=all&filter=all&Article%20Access=Open+Access"
            "&DateFrom=2015&DateTo=2020"),
    ("springer", "https://link.springer.com/search?query=%22Ag+nanoparticle%22+%22HAADF-STEM%22&content-type=Article"
                 "&sortBy=newestFirst&page=2&openAccess=true&date=custom&dateFrom=2015&dateTo=2020"),
    ("pmc", "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/esearch.fcgi?db=pmc&retmode=json&retmax=20&retstart=20"
            "&sort=pub+date&term=%22Ag+nanoparticle%22+AND+%22HAADF-STEM%22+AND+open+access%5Bfilter%5D"
            "&datetype=pdat&mindate=2015&maxdate=2020"),
    ("arxiv", "https://export.arxiv.org/api/query?search_query=all:%22Ag+nanoparticle%22+AND+all:%22HAADF-STEM%22"
              "&start=20&max_results=20&sortBy=submittedDate&sortOrder=descending"),
])
def test_search_urls_are_the_publishers_own(family: str, expected: str) -> None:
    assert SEARCHES[family]().url(TERMS, QUERY, 2) == expected


def test_elsevier_needs_an_api_key() -> None:
    with pytest.raises(ValueError, match="API key"):
        SEARCHES["elsevier"]().url(TERMS, QUERY, 1)
    url = SEARCHES["elsevier"]("KEY").url(TERMS, QUERY, 1)
    assert url.startswith("https://api.elsevier.com/content/search/sciencedirect?query=") and "apiKey=KEY" in url


def test_html_result_pages() -> None:
    atypon = html('<div class="issue-item"><h5 class="issue-item_title"><a href="/doi/10.1021/acsnano.5b06675">'
                  'Sulfur</a></h5><i class="icon-open-access"></i></div>'
                  '<div class="issue-item"><h5 class="issue-item_title"><a href="/doi/10.1021/nl104209c">X</a></h5>'
                  '</div><a class="pagination__btn--next" href="/action/doSearch?AllField=x&startPage=1">next</a>')
    page = SEARCHES["acs"]().parse(atypon, "https://pubs.acs.org/action/doSearch?AllField=x&startPage=0")
    assert [h.url for h in page.hits] == ["https://pubs.acs.org/doi/10.1021/acsnano.5b06675",
                                          "https://pubs.acs.org/doi/10.1021/nl104209c"]
    assert [h.open_access for h in page.hits] == [True, False] and page.hits[0].doi == "10.1021/acsnano.5b06675"
    assert page.next_url == "https://pubs.acs.org/action/doSearch?AllField=x&startPage=1"
    rsc = html('<div class="capsule capsule--article"><a class="capsule__action" '
               'href="/en/content/articlelanding/2017/cp/c6cp06202d"><h3 class="capsule__title">T</h3></a>'
               '<a href="http://dx.doi.org/10.1039/C6CP06202D">doi</a></div>')
    hit = SEARCHES["rsc"]().parse(rsc, "https://pubs.rsc.org/en/results?searchtext=x").hits[0]
    assert hit.url == "https://pubs.rsc.org/en/content/articlehtml/2017/cp/c6cp06202d"
    assert hit.doi == "10.1039/C6CP06202D"
    wiley = SEARCHES["wiley"]().article_url("https://onlinelibrary.wiley.com/doi/10.1002/bio.3051")
    assert wiley == "https://onlinelibrary.wiley.com/doi/full/10.1002/bio.3051"


def test_api_results() -> None:
    esearch = json.dumps({"esearchresult": {"count": "45", "retstart": "0", "idlist": ["7417471", "5828200"]}})
    page = SEARCHES["pmc"]().parse(esearch.encode(), "https://eutils.ncbi.nlm.nih.gov/x?retstart=0&retmax=20")
    assert [h.url for h in page.hits] == [
        "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/efetch.fcgi?db=pmc&id=7417471",
        "https://eutils.ncbi.nlm.nih.gov/entrez/eutils/efetch.fcgi?db=pmc&id=5828200"]
    assert page.next_url == "https://eutils.ncbi.nlm.nih.gov/x?retstart=2&retmax=20"
    atom = b"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"
      xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom">
      <opensearch:totalResults>1</opensearch:totalResults><opensearch:startIndex>0</opensearch:startIndex>
      <entry><id>http://arxiv.org/abs/2401.01234v2</id><title>Atoms
      in  STEM</title><arxiv:doi>10.1000/x</arxiv:doi></entry></feed>"""
    page = SEARCHES["arxiv"]().parse(atom, "https://export.arxiv.org/api/query?start=0")
    assert page.hits[0].url == "https://arxiv.org/html/2401.01234v2" and page.hits[0].doi == "10.1000/x"
    assert page.hits[0].title == "Atoms in STEM" and page.next_url is None
    els = json.dumps({"search-results": {"entry": [{"prism:doi": "10.1016/j.elecom.2015.05.001", "openaccess": "0"}],
                      "link": [{"@ref": "next", "@href": "https://api.elsevier.com/next"}]}})
    page = SEARCHES["elsevier"]("K").parse(els.encode(), "https://api.elsevier.com/content/search/sciencedirect?x")
    assert page.hits[0].url == ("https://api.elsevier.com/content/article/doi/10.1016/j.elecom.2015.05.001"
                                "?httpAccept=text/xml&apiKey=K")
    assert page.hits[0].open_access is False and page.next_url == "https://api.elsevier.com/next"
