"""The bulletin's lead: a short Vietnamese paragraph a presenter reads on air, from its figures."""

from __future__ import annotations

from datetime import date, datetime

from outreach.core.clock import VIETNAM
from outreach.core.formatting import format_day, format_number, format_ratio


def _change(now: int, before: int, comparison: dict | None = None) -> str:
    against = "kỳ trước"
    if comparison and comparison.get("partial"):
        against = f"{comparison['days']} ngày đầu kỳ trước"
    if before == 0:
        return "" if now == 0 else f"({against} chưa có)"
    delta = (now - before) / before
    word = "tăng" if delta >= 0 else "giảm"
    return f"{word} {format_ratio(abs(delta))} so với {against}"


def lead_paragraph(figures: dict) -> str:
    """A short Vietnamese lead a presenter can read on air."""
    total, period = figures["totals"]["total"], figures["totals"]["period"]
    as_of = format_day(date.fromisoformat(figures["as_of"]))
    starts = date.fromisoformat(figures["period"]["starts_on"])
    ends = min(
        date.fromisoformat(figures["period"]["ends_on"]), date.fromisoformat(figures["as_of"])
    )
    cut = datetime.fromisoformat(figures["cutoff_at"]).astimezone(VIETNAM)
    parts = [
        f"Tính đến ngày {as_of} (số liệu chốt lúc {cut:%H:%M} ngày {format_day(cut.date())}), "
        f"toàn tỉnh {figures['province']['short_name']} có "
        f"{format_number(total['new'])} người tham gia BHXH tự nguyện mới và "
        f"{format_number(total['renewals'])} người đóng tiếp trong chiến dịch "
        f"“{figures['campaign']['name']}”"
    ]
    ratio = figures["totals"]["ratio_new"]
    if ratio is not None:
        parts[0] += f", đạt {format_ratio(ratio)} kế hoạch người tham gia mới"
    parts[0] += "."
    sentence = (
        f"Riêng từ ngày {format_day(starts)} đến ngày {format_day(ends)}, cán bộ vận động đã "
        f"thực hiện {format_number(period['visits'])} lượt vận động tại "
        f"{format_number(period['households'])} hộ, có {format_number(period['new'])} người "
        f"tham gia mới, {format_number(period['renewals'])} người đóng tiếp và "
        f"{format_number(period['promises'])} người hẹn đóng"
    )
    previous = figures.get("previous")
    comparison = figures.get("comparison")
    change = _change(period["new"], previous["new"], comparison) if previous else ""
    parts.append(sentence + (f"; số người tham gia mới {change}" if change else "") + ".")
    ranking = figures["ranking"]
    if ranking["top"]:
        parts.append(
            "Dẫn đầu về tỷ lệ hoàn thành kế hoạch là "
            + _names(ranking["top"])
            + "; các đơn vị có tỷ lệ thấp nhất là "
            + _names(ranking["bottom"])
            + "."
        )
    return " ".join(parts)


def _names(entries: list[dict]) -> str:
    names = [f"{e['name']} ({format_ratio(e['ratio'])})" for e in entries]
    return ", ".join(names[:-1]) + " và " + names[-1] if len(names) > 1 else "".join(names)
