"""The bulletin's figures for machines and spreadsheets: the CLI's JSON and the media CSV."""

from __future__ import annotations

from outreach.core.formatting import excel_csv


def unit_figures(row: dict) -> dict:
    """One unit's figures as the bulletin shows them, for machines (the CLI's --json)."""
    out = {"id": row["id"], "name": row["name"]}
    for key in ("period", "total"):
        counts = row[key]
        out[key] = {
            name: counts[name] for name in ("new", "renewals", "visits", "households", "promises")
        }
        out[key]["refusals"] = counts["refusals"]
        out[key]["refusals_by_reason"] = dict(counts["refusal_reasons"])
    out["target"] = {"new": row["target_new"], "renewals": row["target_renewals"]}
    out["achieved"] = row["ratio"]
    out["achieved_new"] = row["ratio_new"]
    if "rank" in row:
        out["rank"], out["mark"] = row["rank"], row["mark"]
    return out


def machine_figures(figures: dict) -> dict:
    """The figures of a bulletin, as it shows them, as plain JSON: province, groups, communes
    (new, renewals, visits, households reached, promises, refusals by reason, target, share of
    the target achieved, rank and mark), the period, its cut-off and its comparison."""
    return {
        "period": figures["period"],
        "cutoff_at": figures["cutoff_at"],
        "as_of": figures["as_of"],
        "comparison": figures.get("comparison"),
        "campaign": figures["campaign"],
        "province": unit_figures({**figures["totals"], **figures["province"]}),
        "previous": figures.get("previous"),
        "groups": [unit_figures(g) for g in figures["groups"]],
        "communes": [unit_figures(c) for c in figures["communes"]],
        "lead": figures["lead"],
    }


# --- CSV ---------------------------------------------------------------------------------------

CSV_HEADER = [
    "Đơn vị",
    "Cụm (huyện cũ)",
    "Tham gia mới trong kỳ",
    "Đóng tiếp trong kỳ",
    "Lượt vận động trong kỳ",
    "Hộ được vận động trong kỳ",
    "Hẹn đóng trong kỳ",
    "Từ chối trong kỳ",
    "Tham gia mới lũy kế",
    "Đóng tiếp lũy kế",
    "Chỉ tiêu tham gia mới",
    "Chỉ tiêu đóng tiếp",
    "Tỷ lệ hoàn thành (%)",
]


def figures_csv(figures: dict) -> bytes:
    """The per-commune table as a CSV that Excel set to Vietnamese opens as columns (";" between
    cells, UTF-8 with BOM, every cell quoted and formula-safe: `formatting.excel_csv`); counts as
    plain integers, the share of the target with a decimal comma (93,94)."""
    rows = [CSV_HEADER]
    for row in [*figures["communes"], {**figures["totals"], "group": None}]:
        p, t = row["period"], row["total"]
        rows.append(
            (
                row["name"],
                row.get("group") or "",
                p["new"],
                p["renewals"],
                p["visits"],
                p["households"],
                p["promises"],
                p["refusals"],
                t["new"],
                t["renewals"],
                row["target_new"],
                row["target_renewals"],
                "" if row["ratio"] is None else f"{row['ratio'] * 100:.2f}".replace(".", ","),
            )
        )
    return "".join(excel_csv(rows)).encode("utf-8")
