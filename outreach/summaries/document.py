"""The summary document (bản tin) rendered from its figures: the HTML fragment and the PDF.

The views and the CLI call these with the stored JSON figures of a summary. The document is an
official Vietnamese text, so it is always rendered in Vietnamese (numbers 1.125.000, 93,94%,
dates 15/11/2026) whatever language the user reading the app has chosen.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from flask import current_app, has_request_context, render_template
from flask_babel import force_locale

from outreach.summaries.pdf import html_to_pdf

DOCUMENT_TEMPLATE = "summaries/_document.html"
PDF_TEMPLATE = "summaries/pdf.html"


@contextmanager
def _vietnamese() -> Iterator[None]:
    """A request context if there is none (the CLI), and the "vi" locale for the document."""
    context = nullcontext() if has_request_context() else current_app.test_request_context()
    with context, force_locale("vi"):
        yield


def static_base_url() -> str:
    """The app's static folder as a file:// URL, so the PDF's stylesheets are read from disk."""
    return Path(current_app.static_folder).resolve().as_uri() + "/"


def render_document_html(figures: dict) -> str:
    """The `<article class="summary-doc">` fragment, as included in the browser pages."""
    with _vietnamese():
        return render_template(DOCUMENT_TEMPLATE, f=figures)


def render_document_html_page(figures: dict) -> str:
    """The whole standalone document WeasyPrint lays out (summaries/pdf.html)."""
    with _vietnamese():
        return render_template(PDF_TEMPLATE, f=figures)


def render_document_pdf(figures: dict) -> bytes:
    """The summary as A4 PDF bytes. Needs an app context (the current app's templates and static)."""
    return html_to_pdf(render_document_html_page(figures), base_url=static_base_url())
