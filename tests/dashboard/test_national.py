"""National scope: leaders, admins and media for the whole country; the national dashboard rolls
the provinces up with each province's own figures, and shows no personal data anywhere."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlmodel import select

from outreach.core.scope import scope_for
from outreach.dashboard.service import dashboard_for
from outreach.geography.service import load_province
from outreach.models import AuditLog, Campaign, GeoUnit, Household, Target, User
from outreach.models.codes import UnitKind
from tests.conftest import DEMO_TODAY, login

HANOI_TARGET = (300, 200)
PASSWORD = "Quoc-gia-2026!"


@pytest.fixture
def country(app, session):
    """Hà Nội next to the demo's Bắc Ninh, with a campaign and a province target, no visits."""
    hanoi = load_province(session, province_code="01")
    campaign = Campaign(
        province_id=hanoi.id,
        name="Vận động BHXH tự nguyện Hà Nội",
        starts_on=date(2026, 7, 1),
        ends_on=date(2026, 12, 31),
    )
    session.add(campaign)
    session.flush()
    session.add(
        Target(
            campaign_id=campaign.id,
            unit_id=hanoi.id,
            new_participants=HANOI_TARGET[0],
            renewals=HANOI_TARGET[1],
        )
    )
    session.commit()
    runner = app.test_cli_runner()
    for role, username in (("leader", "lanhdao.quocgia"), ("media", "baochi.quocgia")):
        created = runner.invoke(
            args=[
                "create-user",
                "--username",
                username,
                "--full-name",
                "Nguyễn Văn Quốc",
                "--role",
                role,
                "--scope",
                "VN",
                "--password",
                PASSWORD,
            ]
        )
        assert created.exit_code == 0, created.output
        assert "phạm vi Việt Nam" in created.output
    nation = session.exec(select(GeoUnit).where(GeoUnit.kind == UnitKind.NATION)).one()
    bac_ninh = session.exec(select(GeoUnit).where(GeoUnit.code == "24")).one()
    return nation, bac_ninh, hanoi


def test_a_canvasser_cannot_have_the_whole_country(app, country):
    refused = app.test_cli_runner().invoke(
        args=[
            "create-user",
            "--username",
            "canbo.quocgia",
            "--full-name",
            "Lê Văn Cán",
            "--role",
            "canvasser",
            "--scope",
            "VN",
            "--password",
            PASSWORD,
        ]
    )
    assert refused.exit_code != 0 and "Cán bộ vận động phải có phạm vi là một xã" in refused.output


def _numbers(html: str, row: str) -> list[str]:
    """The cells of a table row, as the page prints them."""
    match = re.search(rf'data-row="{row}">(.*?)</tr>', html, re.S)
    assert match, f"no row {row}"
    return [
        re.sub(r"<[^>]+>", " ", cell).split()[0]
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", match.group(1), re.S)
    ]


def test_the_national_dashboard_rolls_the_provinces_up(app, client, session, country):
    nation, bac_ninh, hanoi = country
    assert login(client, "lanhdao.quocgia", PASSWORD).status_code == 302
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Tiến độ: Việt Nam" in html
    # Bắc Ninh's row is its own dashboard's top line: the same definition of every figure.
    leader = session.exec(select(User).where(User.username == "lanhdao.tinh")).one()
    campaign = session.exec(select(Campaign).where(Campaign.province_id == bac_ninh.id)).one()
    own = dashboard_for(
        session, scope=scope_for(session, leader), campaign=campaign, today=DEMO_TODAY
    ).totals
    assert own.new > 0
    from outreach.core.formatting import format_number, format_ratio

    assert _numbers(html, f"province-{bac_ninh.id}") == [
        format_ratio(own.ratio),
        *(format_number(v) for v in (own.new, own.renewals, own.promises, own.visits)),
        format_number(own.households),
        format_ratio(own.conversion),
    ]
    assert _numbers(html, f"province-{hanoi.id}")[:3] == ["0,00%", "0", "0"]
    # The country: the sum of its provinces, targets included.
    total_target = own.target_new + HANOI_TARGET[0]
    assert f"{format_number(own.new)} / {format_number(total_target)}" in html
    # A province of the country opens as its own dashboard.
    page = client.get(f"/dashboard?unit={bac_ninh.id}")
    assert page.status_code == 200 and "Tiến độ: Tỉnh Bắc Ninh" in page.get_data(as_text=True)


def test_national_users_read_no_personal_data(client, session, country):
    _nation, bac_ninh, _hanoi = country
    heads = [h.head_name for h in session.exec(select(Household).limit(200))]
    assert login(client, "lanhdao.quocgia", PASSWORD).status_code == 302
    # The lists behind the figures name households: refused (web/guards.py).
    listing = client.get(f"/dashboard/list?kind=never_visited&unit={bac_ninh.id}")
    assert listing.status_code == 403
    text = client.get(f"/dashboard?unit={bac_ninh.id}").get_data(as_text=True)
    assert not [name for name in heads if name in text]
    # and nothing of a province's own people through its scope either
    user = session.exec(select(User).where(User.username == "lanhdao.quocgia")).one()
    assert scope_for(session, user).sees_personal_data is False


def test_the_provinces_are_ranked_by_their_dashboard_figures(client, session, country):
    _nation, bac_ninh, hanoi = country
    leader = session.exec(select(User).where(User.username == "lanhdao.tinh")).one()
    campaign = session.exec(select(Campaign).where(Campaign.province_id == bac_ninh.id)).one()
    own = dashboard_for(
        session, scope=scope_for(session, leader), campaign=campaign, today=DEMO_TODAY
    ).totals
    assert login(client, "lanhdao.quocgia", PASSWORD).status_code == 302
    html = client.get("/rankings").get_data(as_text=True)
    order = re.findall(r'data-unit="(\d+)"', html)
    assert order == [str(bac_ninh.id), str(hanoi.id)]  # Hà Nội has no result yet
    from outreach.core.formatting import format_number, format_ratio

    assert format_ratio(own.ratio) in html
    assert f"{format_number(own.new)} / {format_number(own.target_new)}" in html
    assert f"0 / {format_number(HANOI_TARGET[0])}" in html
    bad = client.get("/rankings?date=31/02/2026")
    assert bad.status_code == 400 and "không hợp lệ" in bad.get_data(as_text=True)


def test_national_users_land_on_the_countrys_figures(app, country):
    for username, page in (("lanhdao.quocgia", "/dashboard"), ("baochi.quocgia", "/summaries")):
        client = app.test_client()
        assert login(client, username, PASSWORD).status_code == 302
        home = client.get("/")
        assert home.status_code == 302 and home.headers["Location"] == page


def test_national_users_get_pages_not_errors(app, country):
    pages = ("/", "/dashboard", "/rankings", "/summaries", "/leaders/assign", "/leaders/review")
    for username in ("lanhdao.quocgia", "baochi.quocgia"):
        client = app.test_client()
        assert login(client, username, PASSWORD).status_code == 302
        for path in pages + ("/leaders/promises", "/targets", "/audit"):
            status = client.get(path).status_code
            assert status < 500, (username, path, status)


def test_the_national_bulletin_sums_what_each_province_publishes(app, client, country):
    import json

    _nation, bac_ninh, hanoi = country
    runner = app.test_cli_runner()
    national = runner.invoke(args=["summary", "--national", "--period", "2026-11-15"])
    assert national.exit_code == 0, national.output
    figures = json.loads(national.output)
    own = json.loads(
        runner.invoke(
            args=["summary", "--json", "--period", "2026-11-15", "--province", "24"]
        ).output
    )
    by_id = {p["id"]: p for p in figures["provinces"]}
    assert set(by_id) == {bac_ninh.id, hanoi.id}
    # Bắc Ninh's line is its own bulletin's province line.
    assert by_id[bac_ninh.id]["period"] == own["province"]["period"]
    assert by_id[bac_ninh.id]["total"] == own["province"]["total"]
    country_line = figures["country"]
    for key in ("new", "renewals", "visits"):
        assert country_line["total"][key] == sum(p["total"][key] for p in by_id.values())
    assert country_line["target"]["new"] == own["province"]["target"]["new"] + HANOI_TARGET[0]
    assert own["province"]["period"]["new"] > 0
    # National media read the same figures on their page.
    assert login(client, "baochi.quocgia", PASSWORD).status_code == 302
    html = client.get("/summaries?period=2026-11-15").get_data(as_text=True)
    assert "Số liệu cả nước kỳ 01/11–15/11/2026" in html
    from outreach.core.formatting import format_number

    row = re.search(rf'data-unit="{bac_ninh.id}">(.*?)</tr>', html, re.S).group(1)
    assert format_number(own["province"]["period"]["new"]) in row


def test_a_province_bulletin_names_its_province_when_several_run_campaigns(app, country):
    import json

    runner = app.test_cli_runner()
    ambiguous = runner.invoke(args=["summary", "--json", "--period", "2026-11-15"])
    assert ambiguous.exit_code != 0 and "--province" in ambiguous.output
    hanoi = runner.invoke(args=["summary", "--json", "--period", "2026-11-15", "--province", "01"])
    assert hanoi.exit_code == 0, hanoi.output
    assert json.loads(hanoi.output)["province"]["name"] == "Thành phố Hà Nội"
    unknown = runner.invoke(
        args=["summary", "--json", "--period", "2026-11-15", "--province", "99"]
    )
    assert unknown.exit_code != 0 and "Không có tỉnh mã 99" in unknown.output


def _pdf_text(data: bytes, tmp_path) -> str:
    import subprocess

    path = tmp_path / "national.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def test_the_national_bulletin_as_a_pdf(app, client, session, country, tmp_path):
    import json

    _nation, bac_ninh, _hanoi = country
    runner = app.test_cli_runner()
    figures = json.loads(
        runner.invoke(args=["summary", "--national", "--period", "2026-11-15"]).output
    )
    out = tmp_path / "ca-nuoc.pdf"
    written = runner.invoke(
        args=["summary", "--national", "--period", "2026-11-15", "--out", str(out)]
    )
    assert written.exit_code == 0, written.output
    text = _pdf_text(out.read_bytes(), tmp_path)
    from outreach.core.formatting import format_number

    assert "Bản tin kết quả vận động tham gia BHXH tự nguyện cả nước" in " ".join(text.split())
    assert "Tỉnh Bắc Ninh" in text and "Thành phố Hà Nội" in text
    country_new = format_number(figures["country"]["total"]["new"])
    assert country_new in text and "01/11/2026" in text and "15/11/2026" in text

    assert login(client, "baochi.quocgia", PASSWORD).status_code == 302
    page = client.get("/summaries?period=2026-11-15").get_data(as_text=True)
    assert "/summaries/national.pdf?period=2026-11-15" in page
    # A period past the calendar's end is a 404, not a crash (found by the crawl).
    assert client.get("/summaries/national.pdf?period=9999-12-30").status_code == 404
    download = client.get("/summaries/national.pdf?period=2026-11-15")
    assert download.status_code == 200 and download.mimetype == "application/pdf"
    assert country_new in _pdf_text(download.data, tmp_path)
    entry = session.exec(
        select(AuditLog).where(AuditLog.action == "summary.download").order_by(AuditLog.id.desc())
    ).first()
    assert entry.username == "baochi.quocgia" and '"national": true' in entry.detail
    # A province's media account has no national PDF.
    province_media = app.test_client()
    assert login(province_media, "baochi").status_code == 302
    assert province_media.get("/summaries/national.pdf").status_code == 404


def test_national_users_see_no_staff_by_name_and_no_personal_page(client, session, country):
    _nation, bac_ninh, _hanoi = country
    canvassers = session.exec(select(User).where(User.role == "canvasser")).all()
    commune_id = canvassers[0].scope_unit_id
    assert login(client, "lanhdao.quocgia", PASSWORD).status_code == 302
    page = client.get(f"/dashboard?unit={commune_id}&by=canvasser")
    assert page.status_code == 200  # the commune's figures, by village: not by canvasser
    text = page.get_data(as_text=True)
    assert not [u.full_name for u in canvassers if u.full_name in text]
    for path in (
        f"/dashboard/list?kind=never_visited&unit={bac_ninh.id}",
        f"/worklist?canvasser={canvassers[0].id}",
        "/leader/corrections/export.xlsx",
        "/admin/audit",
    ):
        assert client.get(path).status_code == 403, path
