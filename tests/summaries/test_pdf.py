"""The summary document as a real PDF, checked from the outside with poppler and Pillow.

pdftotext gives the text a reader sees (title, province, dates, lead, Vietnamese numbers, page
numbers, every commune), pdffonts the fonts (Be Vietnam Pro, all embedded), pdftoppm page 1 as an
image (not blank). The HTML fragment shown in the browser carries no inline style or script. The
document needs no Flask: it is rendered, and published, with no app or request at all.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
import subprocess
import sys
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import flask
import pytest
from flask_babel import force_locale, get_locale
from PIL import Image
from sqlmodel import Session, select

from outreach.core.formatting import format_number
from outreach.core.periods import period_containing
from outreach.db import make_engine
from outreach.models import Campaign, Summary, User
from outreach.summaries.document import (
    render_document_html,
    render_document_html_page,
    render_document_pdf,
)
from outreach.summaries.pdf import PdfError, html_to_pdf
from outreach.summaries.service import compute_figures, draft_summary, publish_summary
from tests.conftest import DEMO_TODAY

CUTOFF = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)  # 16:30 in Vietnam
EXAMPLE = Path(__file__).resolve().parent.parent / "fixtures" / "summary_figures.json"
TITLE = "BẢN TIN KẾT QUẢ VẬN ĐỘNG THAM GIA BHXH TỰ NGUYỆN"


def _run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def _nfc(text: str) -> str:
    """NFC with runs of whitespace folded to one space, so wrapped lines compare as prose."""
    return " ".join(unicodedata.normalize("NFC", text).split())


def pdf_text(path: Path) -> str:
    return _nfc(_run("pdftotext", "-layout", str(path), "-"))


def pdf_pages(path: Path) -> int:
    match = re.search(r"^Pages:\s+(\d+)", _run("pdfinfo", str(path)), re.MULTILINE)
    assert match, "pdfinfo gave no page count"
    return int(match.group(1))


def write_pdf(figures: dict, path: Path) -> Path:
    body = render_document_pdf(figures)
    assert body.startswith(b"%PDF-")
    path.write_bytes(body)
    return path


@pytest.fixture
def figures(session) -> dict:
    """The demo province's figures for the half-month of DEMO_TODAY (16–30/11/2026)."""
    campaign = session.exec(select(Campaign)).one()
    return compute_figures(
        session, campaign=campaign, period=period_containing(DEMO_TODAY), cutoff=CUTOFF
    )


@pytest.fixture
def example() -> dict:
    """A province-scale example: 99 communes in 18 old districts, six-figure totals."""
    return json.loads(EXAMPLE.read_text(encoding="utf-8"))


def test_pdf_text_reads_as_the_summary(figures, tmp_path):
    text = pdf_text(write_pdf(figures, tmp_path / "summary.pdf"))

    assert TITLE in text
    assert "Kỳ ngày 30/11/2026" in text  # the second half-month is "the 30th"
    assert _nfc(figures["province"]["name"]) in text
    assert "từ ngày 16/11/2026 đến ngày 30/11/2026" in text
    assert "Số liệu tính đến 16:30 ngày 22/11/2026" in text  # the cut-off, in Vietnam time
    lead_start = " ".join(figures["lead"].split()[:8])
    assert lead_start.startswith("Tính đến ngày 22/11/2026")
    assert _nfc(lead_start) in text
    assert "Trang 1/" in text
    assert "Biểu dương" in text and "Cần cố gắng" in text
    assert "Chưa có danh sách thu của BHXH/bưu điện để đối chiếu" in text
    assert "Nguồn: " + _nfc(figures["source"]) in text
    for commune in figures["communes"]:
        assert _nfc(commune["name"]) in text, commune["name"]


def test_pdf_writes_big_numbers_the_vietnamese_way(figures, tmp_path):
    big = copy.deepcopy(figures)
    big["totals"]["total"]["new"] = 1125000
    big["totals"]["total"]["renewals"] = 2250300
    big["totals"]["period"]["visits"] = 43210
    big["totals"]["ratio"] = 0.9394
    text = pdf_text(write_pdf(big, tmp_path / "big.pdf"))

    assert "1.125.000" in text
    assert "2.250.300" in text
    assert "43.210" in text
    assert "93,94%" in text
    assert "1,125,000" not in text and "1125000" not in text


def test_pdf_embeds_be_vietnam_pro_only(figures, tmp_path):
    listing = _run("pdffonts", str(write_pdf(figures, tmp_path / "fonts.pdf")))
    rows = listing.splitlines()[2:]  # after the header and the dashes
    assert rows, listing
    assert any("Be-Vietnam-Pro" in row for row in rows), listing
    for row in rows:
        # name, type (one or two words), encoding, then emb sub uni as yes/no
        flags = re.search(r"\s(yes|no)\s+(yes|no)\s+(yes|no)\s+\d+\s+\d+\s*$", row)
        assert flags and flags.group(1) == "yes", f"font not embedded: {row}"
        assert "Be-Vietnam-Pro" in row, f"a fallback font was used: {row}"


def test_pdf_first_page_is_not_blank(figures, tmp_path):
    pdf = write_pdf(figures, tmp_path / "page.pdf")
    stem = tmp_path / "page1"
    _run("pdftoppm", "-r", "40", "-png", "-f", "1", "-l", "1", "-singlefile", str(pdf), str(stem))
    with Image.open(stem.with_suffix(".png")) as image:
        gray = image.convert("L")
        pixels = gray.width * gray.height
        inked = sum(count for value, count in enumerate(gray.histogram()) if value < 240)
    assert inked / pixels > 0.01, f"page 1 is almost blank ({inked} of {pixels} pixels inked)"


def test_province_scale_example_spans_pages_with_every_commune(example, tmp_path):
    pdf = write_pdf(example, tmp_path / "example.pdf")
    text = pdf_text(pdf)

    assert pdf_pages(pdf) > 1
    assert len(example["communes"]) == 99
    for commune in example["communes"]:
        assert _nfc(commune["name"]) in text, commune["name"]
    for group in example["groups"]:
        assert _nfc(group["name"]) in text, group["name"]
    assert "Kỳ ngày 15/11/2026" in text
    assert "Số liệu tính đến 16:30 ngày 15/11/2026" in text
    assert "226.144" in text and "1.917.031" in text  # cumulative new participants, visits
    pages = pdf_pages(pdf)
    assert "Trang 1/" in text and f"Trang {pages}/{pages}" in text
    # The running header of the following pages names the province and the period.
    assert text.count("Tỉnh Bắc Ninh · Kỳ ngày 15/11/2026") == pages - 1


@pytest.mark.parametrize("which", ["demo", "example", "bare"])
def test_document_html_has_no_inline_style_or_script(figures, example, which):
    chosen = {"demo": figures, "example": example, "bare": _bare(figures)}[which]
    html = render_document_html(chosen)
    assert '<article class="summary-doc"' in html
    assert not re.search(r"\sstyle\s*=", html, re.IGNORECASE)
    assert not re.search(r"<\s*(style|script)\b", html, re.IGNORECASE)
    assert "<svg" in html and 'role="img"' in html and "<title>" in html
    assert "<caption>" in html and 'scope="col"' in html and 'scope="row"' in html


def _bare(figures: dict) -> dict:
    """The first half-month of a campaign in February with no targets and no old districts."""
    bare = copy.deepcopy(figures)
    bare["period"] = {
        "key": "2027-02-30",
        "starts_on": "2027-02-16",
        "ends_on": "2027-02-28",
        "label_day": 30,
    }
    bare["previous"] = None
    bare["groups"] = []
    bare["trend"] = bare["trend"][-1:]
    bare["ranking"] = {"top": [], "bottom": [], "ranked": 0}
    for row in [*bare["communes"], bare["totals"]]:
        row.update(target_new=0, target_renewals=0, ratio_new=None, ratio_renewals=None, ratio=None)
        row["group"] = None
    return bare


def test_february_second_half_is_labelled_by_its_last_day(figures):
    html = _nfc(render_document_html(_bare(figures)))
    assert "Kỳ ngày 28/02/2027" in html
    assert "từ ngày 16/02/2027 đến ngày 28/02/2027" in html
    assert "Chưa đủ đơn vị được giao kế hoạch để xếp hạng." in html
    assert "Huyện (cũ)" not in html


def test_document_stays_vietnamese_inside_an_english_page(app, figures):
    """Media staff may read the app in English; the official text keeps Vietnamese formats, and
    the English request around it is left as it was."""
    visits = figures["totals"]["total"]["visits"]
    assert visits >= 1000
    with app.test_request_context(), force_locale("en"):
        html = _nfc(render_document_html(figures))
        assert str(get_locale()) == "en"
    assert html == _nfc(render_document_html(figures))  # the same as with no request at all
    assert format_number(visits, "vi") in html and format_number(visits, "en") not in html
    assert "Số liệu tính đến 16:30 ngày 22/11/2026" in html
    assert re.search(r"\d,\d\d%", html) and not re.search(r"\d\.\d\d%", html)


def test_the_pdf_shows_the_fragment_the_browser_pages_show(example):
    """One HTML for both: the PDF's page wraps exactly the fragment the browser pages insert."""
    fragment = render_document_html(example)
    assert fragment.startswith('<article class="summary-doc"')
    assert fragment.rstrip().endswith("</article>")
    assert render_document_html_page(example).count(fragment) == 1
    nested = render_document_html(example, heading_level=2)
    assert '<h2 class="doc-title">' in nested and "<h1" not in nested


def test_pdf_is_rendered_and_published_with_no_flask_app_or_request(db_url, tmp_path):
    """A plain session from an engine, no app, no request: the service drafts, renders, hashes
    and stores the PDF, and the PDF reads as the summary."""
    assert not flask.has_app_context() and not flask.has_request_context()
    engine = make_engine(db_url)
    try:
        with Session(engine, expire_on_commit=False) as session:
            campaign = session.exec(select(Campaign)).one()
            admin = session.exec(select(User).where(User.username == "admin")).one()
            draft = draft_summary(
                session,
                campaign=campaign,
                period=period_containing(DEMO_TODAY),
                user_id=admin.id,
                now=CUTOFF,
            )
            published = publish_summary(session, summary_id=draft.id, user_id=admin.id)
            session.commit()
        with Session(engine) as session:
            stored = session.get(Summary, published.id)
            body, content_hash = stored.pdf, stored.content_hash
            lead = json.loads(stored.figures_json)["lead"]
    finally:
        engine.dispose()
    assert not flask.has_app_context()
    assert body.startswith(b"%PDF-") and content_hash == hashlib.sha256(body).hexdigest()
    path = tmp_path / "published.pdf"
    path.write_bytes(body)
    text = pdf_text(path)
    assert TITLE in text and "Kỳ ngày 30/11/2026" in text
    assert "Số liệu tính đến 16:30 ngày 22/11/2026" in text
    assert _nfc(" ".join(lead.split()[:8])) in text


def test_the_document_imports_no_flask(example, tmp_path):
    """In a fresh interpreter, rendering the PDF (and importing the service that publishes it)
    loads no Flask module at all."""
    source = tmp_path / "figures.json"
    source.write_text(json.dumps(example), encoding="utf-8")
    script = (
        "import json, sys\n"
        "import outreach.summaries.service\n"
        "from outreach.summaries.document import render_document_pdf\n"
        f"body = render_document_pdf(json.loads(open({str(source)!r}, encoding='utf-8').read()))\n"
        "assert body.startswith(b'%PDF-')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'flask_babel')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "resource",
    [
        '<link rel="stylesheet" href="css/missing.css">',  # a stylesheet that is not there
        '<link rel="stylesheet" href="file:///etc/hostname">',  # outside the static folder
        '<img src="http://127.0.0.1:9/x.png" alt="">',  # never the network
    ],
)
def test_pdf_reads_only_local_files_and_fails_loudly(app, resource):
    base_url = Path(app.static_folder).resolve().as_uri() + "/"
    assert html_to_pdf("<p>Bản tin</p>", base_url=base_url).startswith(b"%PDF-")
    with pytest.raises(PdfError):
        html_to_pdf(f"{resource}<p>Bản tin</p>", base_url=base_url)
