"""Places a list names outside its place columns: the old district or the commune of its title
block ("BẢO HIỂM XÃ HỘI HUYỆN YÊN THẾ", "UBND XÃ ĐỒNG KỲ"), and the commune of an address."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from outreach.core.text import compact_key
from outreach.geography.spelling import commune_in_text, district_in_text, village_type
from outreach.imports.reading.cells import Cell
from outreach.imports.reading.headers import Header, HeaderMatch, header_text

# Data rows whose addresses decide whether they name the commune (no commune column).
ADDRESS_SAMPLE = 200


class _Sheet(Protocol):
    """What of a parsed sheet these read and set (`rows.ParsedSheet`)."""

    header: Header
    match: HeaderMatch
    commune_from: str
    title_commune: str


def commune_elsewhere(sheet: _Sheet, rows: Sequence[Sequence[Cell]]) -> None:
    """With no commune column: the commune each address names, when the addresses of the first
    rows do name one, else the commune a commune's own list names in its title ("UBND XÃ ĐỒNG
    KỲ"), which is also the commune of an address that names none."""
    match, header = sheet.match, sheet.header
    group = next((g for g in match.missing if "commune" in g), None)
    if group is None:
        return
    sheet.title_commune = _named_once(rows[: header.row_index], header.tcvn3, commune_in_text)
    if "address" in match.columns:
        index = match.columns["address"]
        sample = [
            header_text(row[index], header.tcvn3)
            for row in rows[header.first_data_index : header.first_data_index + ADDRESS_SAMPLE]
            if index < len(row) and isinstance(row[index], str) and row[index].strip()
        ]
        named = sum(1 for text in sample if commune_in_text(text))
        if sample and named * 5 >= len(sample) * 4:  # four addresses in five name a commune
            sheet.commune_from = "address"
    if not sheet.commune_from and sheet.title_commune:
        sheet.commune_from = "title"
    if sheet.commune_from:
        match.missing.remove(group)


def commune_of_row(sheet: _Sheet, values: dict[str, Any]) -> None:
    """The commune (and village) of a row whose list has no commune column: the one its address
    names, else the one of the title."""
    address = values.get("address") or ""
    commune = commune_in_text(address) or sheet.title_commune
    if commune:
        values["commune"] = commune
    if "village" not in values:
        for part in address.split(","):
            if village_type(part):
                values["village"] = part.strip()
                break


def title_district(title_rows: Sequence[Sequence[Cell]], tcvn3: bool = False) -> str:
    """The one old district the rows above the header name, or "" (none, or two different)."""
    return _named_once(title_rows, tcvn3, district_in_text)


def _named_once(
    title_rows: Sequence[Sequence[Cell]], tcvn3: bool, named_in: Callable[[str], str]
) -> str:
    found: dict[str, str] = {}
    for row in title_rows:
        for cell in row:
            if isinstance(cell, str) and (place := named_in(header_text(cell, tcvn3))):
                found.setdefault(compact_key(place), place)
    return next(iter(found.values())) if len(found) == 1 else ""
