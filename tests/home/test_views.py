"""Each role lands on its own home page; errors are Vietnamese pages."""

import re

import pytest

from tests.conftest import DEMO_PERSONS


@pytest.mark.parametrize(
    ("username", "expected"),
    [
        ("canbo.07210.1", ["Cán bộ vận động", "Xin chào", "hộ cần thăm", "Hôm nay", "Kỳ này"]),
        ("lanhdao.07210", ["Lãnh đạo, chỉ đạo", "Phường Bắc Giang", "theo dõi các xã"]),
        ("lanhdao.tinh", ["Lãnh đạo, chỉ đạo", "Tỉnh Bắc Ninh", "Chiến dịch"]),
        ("admin", ["Quản trị (BHXH tỉnh)", "xã, phường, đặc khu", "Nhập danh sách"]),
        ("baochi", ["Báo chí, truyền hình", "Chưa có bản tin nào được công bố"]),
    ],
)
def test_role_home_pages(login_as, username, expected):
    html = login_as(username).get("/", follow_redirects=True).get_data(as_text=True)
    for text in expected:
        assert text in html, text


def test_commune_leader_table_has_only_their_commune(login_as):
    html = login_as("lanhdao.07210").get("/").get_data(as_text=True)
    table = html.split('id="commune-counts"')[1].split("</table>")[0]
    assert table.count("<tr>") == 2  # header + one commune


def test_province_numbers_use_vietnamese_separators(login_as):
    html = login_as("lanhdao.tinh").get("/").get_data(as_text=True)
    values = re.findall(r'stat-value">([^<]+)<', html)
    assert values and all(re.fullmatch(r"\d{1,3}(\.\d{3})*", v) for v in values)
    assert f'stat-value">{DEMO_PERSONS // 1000}.{DEMO_PERSONS % 1000:03d}<' in html


def test_not_found_page_is_vietnamese(login_as):
    response = login_as("admin").get("/khong-co-trang-nay")
    assert response.status_code == 404 and "Không tìm thấy trang" in response.get_data(as_text=True)


def test_server_error_page_is_vietnamese(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/boom")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/boom")
    assert response.status_code == 500
    html = response.get_data(as_text=True)
    assert "Hệ thống gặp sự cố" in html and "Dữ liệu của bạn không bị mất" in html
