"""The book's citations against its bibliography, without building the book.

Every key a page cites with a MyST role ({cite}, {cite:p}, {cite:t}, {cite:ps}, {cite:ts}
and the other {cite:...} roles of sphinxcontrib-bibtex; several keys comma-separated) in
``book/*.md`` or in a markdown cell of ``book/*.ipynb`` must be an entry of
``book/references.bib``; the bibliography parses (pybtex, which sphinxcontrib-bibtex uses),
has no key twice, and every entry has an author (or an organization or a ``key``, as
software may), a title and a year. A cited key missing from the bibliography is only a
warning in a plain Sphinx build and an error under ``jupyter-book build -W``; this test
names the key and the page without a build.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import nbformat
import pytest
from pybtex.database import parse_string

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"
BIB = BOOK / "references.bib"

#: A MyST cite role and its content: {cite}`a`, {cite:p}`a,b`, {cite:t}`a`, {cite:ps}`a` ...
CITE_ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]*)`")
#: The start of a BibTeX entry and its key (comments, @string and @preamble are not entries).
ENTRY_START = re.compile(r"^\s*@(?!comment\b|string\b|preamble\b)\w+\s*[{(]\s*([^,\s]+)\s*,",
                         re.IGNORECASE | re.MULTILINE)


def cited_keys(text: str) -> list[str]:
    """Every key cited in ``text`` by a MyST cite role, in order."""
    return [key.strip() for content in CITE_ROLE.findall(text) for key in content.split(",") if key.strip()]


def book_pages() -> dict[str, str]:
    """Page name -> its citable text: a markdown page whole, a notebook's markdown cells."""
    pages = {path.relative_to(ROOT).as_posix(): path.read_text(encoding="utf-8")
             for path in sorted(BOOK.glob("*.md"))}
    for path in sorted(BOOK.glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        pages[path.relative_to(ROOT).as_posix()] = "\n\n".join(
            cell.source for cell in notebook.cells if cell.cell_type == "markdown")
    return pages


@pytest.fixture(scope="module")
def bibliography():
    return parse_string(BIB.read_text(encoding="utf-8"), "bibtex")


def test_cited_keys_are_found_in_role_syntax():
    text = ("as {cite:p}`abadi2016` and {cite:t}`gutenkunst2009, adrion2020` showed "
            "({cite}`a`; {cite:ps}`b`; {cite:ts}`c,d`) but not `e` or {glue:text}`f`")
    assert cited_keys(text) == ["abadi2016", "gutenkunst2009", "adrion2020", "a", "b", "c", "d"]


def test_the_book_cites_something():
    pages = book_pages()
    assert any(name.endswith(".ipynb") for name in pages), "no chapter notebook found under book/"
    assert sum(len(cited_keys(text)) for text in pages.values()) > 0


def test_every_cited_key_is_in_the_bibliography(bibliography):
    known = set(bibliography.entries.keys())
    missing = [f"{key} (cited in {page})" for page, text in book_pages().items()
               for key in cited_keys(text) if key not in known]
    assert missing == [], f"cited but not in book/{BIB.name}: {', '.join(missing)}"


def test_the_bibliography_has_no_key_twice():
    counts = Counter(key.lower() for key in ENTRY_START.findall(BIB.read_text(encoding="utf-8")))
    assert counts, "no entry found in the bibliography"
    twice = [key for key, n in counts.items() if n > 1]
    assert twice == [], f"entries with the same key in book/{BIB.name}: {', '.join(twice)}"


def test_every_entry_has_author_title_and_year(bibliography):
    problems = []
    for key, entry in bibliography.entries.items():
        fields = {name.lower(): value for name, value in entry.fields.items()}
        has_author = bool(entry.persons.get("author")) or any(
            str(fields.get(name, "")).strip() for name in ("organization", "key"))
        for name, ok in (("author", has_author), ("title", str(fields.get("title", "")).strip()),
                         ("year", re.fullmatch(r"\d{4}", str(fields.get("year", "")).strip()))):
            if not ok:
                problems.append(f"{key}: no {name}")
    assert problems == [], f"incomplete entries in book/{BIB.name}: {problems}"


def test_the_licences_are_declared_where_a_reuser_looks():
    """MIT for the code (``LICENSE``), CC BY 4.0 for the text and figures (``LICENSE-text``),
    both in ``CITATION.cff`` and in the built pages' footer; the 1000 Genomes data keep their
    own terms, said where they live."""
    import yaml

    root = Path(__file__).resolve().parent.parent
    assert (root / "LICENSE").read_text().startswith("MIT License")
    text = (root / "LICENSE-text").read_text()
    assert "CC BY 4.0" in text and "creativecommons.org/licenses/by/4.0/legalcode" in text
    assert yaml.safe_load((root / "CITATION.cff").read_text())["license"] == ["MIT", "CC-BY-4.0"]
    assert "CC BY 4.0" in yaml.safe_load((root / "_config.yml").read_text())["html"]["extra_footer"]
    assert "IGSR data reuse policy" in (root / "data" / "1000g" / "README.md").read_text()
