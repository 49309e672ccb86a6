"""The summary document (bản tin) rendered from its figures: the HTML fragment and the PDF.

No Flask: the document needs no request, no app and no URL, so it is rendered by a plain Jinja
environment of its own on the project's `templates/` folder. `publish_summary` (the service)
renders, hashes and stores the PDF with it; the views show the same HTML fragment in the browser
pages (`render_document_html`, inserted as is) and serve draft previews; the CLI calls the service.

The document is an official Vietnamese text, so it is always rendered in Vietnamese (numbers
1.125.000, 93,94%, dates 15/11/2026) whatever language the user reading the app has chosen: its
filters format with the "vi" locale, and `_()` (should a template use it) answers the Vietnamese
msgid itself.
"""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from outreach.core import formatting
from outreach.summaries.pdf import html_to_pdf

PROJECT_DIR = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = PROJECT_DIR / "templates"
STATIC_DIR = PROJECT_DIR / "static"  # the app's static folder too (create_app: "../static")
DOCUMENT_TEMPLATE = "summaries/_document.html"
PDF_TEMPLATE = "summaries/pdf.html"
NATIONAL_PDF_TEMPLATE = "summaries/national_pdf.html"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(("html", "htm", "xml", "svg")),
        extensions=["jinja2.ext.i18n"],
    )
    # The msgids are Vietnamese, and so is the document: no catalogue needed. New-style, as
    # Flask-Babel's: `_("… %(n)s", n=…)` fills its placeholders and escapes like any output.
    env.install_null_translations(newstyle=True)
    env.filters.update(
        isodate=formatting.isodate,
        vi_number=lambda v: formatting.format_number(v, "vi"),
        vi_ratio=lambda v: formatting.format_ratio(v, "vi"),
        vi_day=lambda v: formatting.format_day(v, "vi"),
    )
    return env


env = _environment()


def static_base_url() -> str:
    """The static folder as a file:// URL, so the PDF's stylesheets are read from disk."""
    return STATIC_DIR.as_uri() + "/"


def render_document_html(figures: dict, *, heading_level: int = 1) -> Markup:
    """The `<article class="summary-doc">` fragment, as the browser pages show it (safe HTML).

    `heading_level` is that of the document's title: 2 inside a page that has its own <h1>.
    """
    html = env.get_template(DOCUMENT_TEMPLATE).render(f=figures, heading_level=heading_level)
    return Markup(html)  # escaped by the template itself (autoescape)


def render_document_html_page(figures: dict) -> str:
    """The whole standalone document WeasyPrint lays out (summaries/pdf.html)."""
    return env.get_template(PDF_TEMPLATE).render(f=figures)


def render_document_pdf(figures: dict) -> bytes:
    """The summary as A4 PDF bytes: the stylesheets from the static folder, fonts embedded."""
    return html_to_pdf(render_document_html_page(figures), base_url=static_base_url())


def render_national_pdf(figures: dict) -> bytes:
    """The national figures (`summaries.national.national_figures`) as A4 PDF bytes."""
    html = env.get_template(NATIONAL_PDF_TEMPLATE).render(f=figures)
    return html_to_pdf(html, base_url=static_base_url())
