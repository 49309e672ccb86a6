"""HTML to PDF for the 15th / 30th summaries, with the fonts embedded.

Why WeasyPrint: it lays out ordinary HTML and CSS for paper (``@page`` size and margins, margin
boxes for running headers and "Trang X/Y" footers, ``string-set``, repeated table headers, no row
split across pages) and draws inline SVG itself, so the browser draft and the PDF come from the
same template with no headless browser on the server. It is pure Python on top of Pango, and it
subsets and embeds every font it uses. Licence: BSD-3-Clause (WeasyPrint, and its tinycss2,
cssselect2, pydyf companions), compatible with this project's MIT licence.

Why Be Vietnam Pro: a sans-serif designed for Vietnamese, whose regular, italic and bold faces carry
every precomposed Vietnamese letter and combining diacritic (ắ, ẫ, ự, ỹ, đ …), so the text never
falls back to another font or shows missing-glyph boxes, whatever fonts the server has installed.
It comes from the PyPI package ``fontpkg-be-vietnam-pro`` (the font files only) under the SIL Open
Font License 1.1: embedding it in a PDF is allowed; the OFL applies only if the font files
themselves are redistributed (then with the licence text, and not sold on their own).

CSS cannot know where a Python package is installed, so the ``@font-face`` rules are generated
here from the package's path and handed to WeasyPrint as an extra stylesheet, together with the
A4 page size. WeasyPrint only reads local files: the document's folder (its stylesheets) and the
font folder, never the network; a resource that cannot be read stops the rendering with
`PdfError` rather than freezing an unstyled PDF. No Flask imports: the CLI, the views and the
tests call this the same way.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import fontpkg_be_vietnam_pro
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher

FONT_FAMILY = "Be Vietnam Pro"
FONT_DIR = Path(fontpkg_be_vietnam_pro.ROOT) / "files"
# (file stem, CSS font-weight, CSS font-style) of the faces the summary uses.
FONT_FACES = (
    ("Regular", 400, "normal"),
    ("Italic", 400, "italic"),
    ("Medium", 500, "normal"),
    ("SemiBold", 600, "normal"),
    ("SemiBoldItalic", 600, "italic"),
    ("Bold", 700, "normal"),
    ("BoldItalic", 700, "italic"),
)
PAGE_CSS = "@page { size: A4; }"


def font_face_css(font_dir: Path = FONT_DIR, family: str = FONT_FAMILY) -> str:
    """The ``@font-face`` rules of Be Vietnam Pro, pointing at the installed files (file:// URLs)."""
    rules = []
    for stem, weight, style in FONT_FACES:
        path = font_dir / f"BeVietnamPro-{stem}.ttf"
        if not path.is_file():
            raise FileNotFoundError(f"font file missing: {path}")
        rules.append(
            "@font-face { "
            f'font-family: "{family}"; src: url("{path.resolve().as_uri()}") format("truetype"); '
            f"font-weight: {weight}; font-style: {style}; }}"
        )
    return "\n".join(rules)


class PdfError(RuntimeError):
    """The PDF could not be made (a stylesheet or font that cannot be read)."""


class LocalFetcher(URLFetcher):
    """WeasyPrint's fetcher limited to files under given folders (and data: URLs); any failure
    is fatal, so a missing stylesheet or font never yields a PDF that silently looks wrong."""

    def __init__(self, *roots: Path):
        super().__init__(allowed_protocols={"file", "data"}, fail_on_errors=True)
        self._roots = tuple(Path(root).resolve() for root in roots)

    def fetch(self, url, headers=None):
        if url.lower().startswith("file:"):
            path = Path(url2pathname(urlsplit(url).path)).resolve()
            if not any(path.is_relative_to(root) for root in self._roots):
                raise ValueError(f"outside the allowed folders: {url}")
        return super().fetch(url, headers)


def _folder_of(base_url: str) -> Path:
    if not base_url.lower().startswith("file:"):
        raise ValueError(f"base_url must be a file:// URL, not {base_url!r}")
    return Path(url2pathname(urlsplit(base_url).path))


@dataclass
class _Fonts:
    config: FontConfiguration
    stylesheet: CSS


_local = threading.local()


def _fonts() -> _Fonts:
    """The font configuration and stylesheet, built once per thread (loading fonts takes time;
    WeasyPrint's font configuration is not meant to be shared between threads)."""
    fonts = getattr(_local, "fonts", None)
    if fonts is None:
        config = FontConfiguration()
        stylesheet = CSS(
            string=font_face_css() + "\n" + PAGE_CSS,
            font_config=config,
            url_fetcher=LocalFetcher(FONT_DIR),
        )
        fonts = _local.fonts = _Fonts(config, stylesheet)
    return fonts


def html_to_pdf(html: str, *, base_url: str) -> bytes:
    """A4 PDF bytes of an HTML document, Be Vietnam Pro embedded.

    `base_url` resolves the document's relative links (its stylesheets): a ``file://`` URL of a
    folder, ending with "/". Only files under that folder and the font folder can be read.
    """
    fonts = _fonts()
    fetcher = LocalFetcher(_folder_of(base_url), FONT_DIR)
    try:
        document = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
        return document.write_pdf(stylesheets=[fonts.stylesheet], font_config=fonts.config)
    except FatalURLFetchingError as error:  # a BaseException in WeasyPrint: make it an ordinary one
        raise PdfError(str(error)) from error
