"""Where an imported person lives: the household they join or start, its village (made when
new) and the canvasser a new household goes to. A part of the import's writer (writer.py).
"""

from __future__ import annotations

import heapq
from collections import defaultdict

from sqlalchemy import func
from sqlmodel import select

from outreach.core.text import compact_key
from outreach.geography.places import Place
from outreach.imports.matching import ImportRow, matching_rows
from outreach.models import GeoUnit, Household, User
from outreach.models.codes import Role, UnitKind

VILLAGE_COLUMNS = tuple(GeoUnit.__table__.columns.keys())
NEW_VILLAGES_SHOWN = 200  # villages named on the preview (all are counted)


class HouseholdPlacement:
    """The writer's households, villages and canvassers: loaded once per import, kept in step
    with the rows it writes."""

    def _household_for(self, row: ImportRow, households: list[tuple]) -> int | None:
        """The household a new person joins or starts; None when it would need a village the
        admin has not confirmed (`create_villages`)."""
        values, commune_id = row.parsed.values, row.place.commune_id
        code = (values.get("household_code") or "").strip()
        address = (values.get("address") or "").strip()
        key = (commune_id, f"code:{code}") if code else None
        if key is None and address:
            key = (commune_id, f"addr:{row.address_key}")
        if key and key in self.new_households:
            return self.new_households[key]
        village_id = self._village(row.place)
        if village_id is None and row.place.village_key:
            return None
        household_id = self.ids["household"].take()
        households.append(
            (
                household_id,
                self.province_id,
                commune_id,
                village_id,
                code or None,
                address,
                row.address_key if address else "",
                values.get("full_name", ""),
                values.get("phone"),
                self._canvasser_for(commune_id, village_id),
                self.now,
                self.now,
            )
        )
        if key:
            self.new_households[key] = household_id
        self.report.new_households += 1
        return household_id

    def _prefetch_households(self, rows: list[ImportRow]) -> None:
        """Existing households the chunk's new people join, by household code or address."""
        codes, addresses = set(), set()
        for row in rows:
            values, commune_id = row.parsed.values, row.place.commune_id
            if (values.get("household_code") or "").strip():
                codes.add((commune_id, values["household_code"].strip()))
            elif (values.get("address") or "").strip():
                addresses.add((commune_id, row.address_key))
        # Households met earlier in the file (or found for it) are known: not looked up again.
        known = self.new_households
        codes = {(c, code) for c, code in codes if (c, f"code:{code}") not in known}
        addresses = {(c, key) for c, key in addresses if (c, f"addr:{key}") not in known}
        columns = ("id", "commune_id", "code", "address_key")
        found = []
        for keys, wanted in (
            (("commune_id", "code"), codes),
            (("commune_id", "address_key"), addresses),
        ):
            if wanted:
                found += matching_rows(self.session, Household.__table__, columns, keys, wanted)
        found.sort(key=lambda row: row["id"])  # oldest first: `setdefault` keeps the first seen
        for household_id, commune_id, code, address_key in (r.values() for r in found):
            if code and (commune_id, code) in codes:
                self.new_households.setdefault((commune_id, f"code:{code}"), household_id)
            if address_key and (commune_id, address_key) in addresses:
                self.new_households.setdefault((commune_id, f"addr:{address_key}"), household_id)

    def _load_households(self) -> None:
        """Every stored household of the province, by code and by address (oldest first, as
        `_prefetch_households` keeps them), so that a first load never looks one up."""
        table = Household.__table__
        found = self.conn.execute(
            select(table.c.id, table.c.commune_id, table.c.code, table.c.address_key)
            .where(table.c.province_id == self.province_id)
            .order_by(table.c.id)
        )
        for household_id, commune_id, code, address_key in found:
            if code:
                self.new_households.setdefault((commune_id, f"code:{code}"), household_id)
            if address_key:
                self.new_households.setdefault((commune_id, f"addr:{address_key}"), household_id)

    def _load_canvassers(self) -> None:
        """Every commune's canvassers with their households, in two queries, once per import (a
        first load does it before its household indexes are set aside)."""
        counts: dict[int, dict[int | None, int]] = defaultdict(dict)
        for commune_id, canvasser_id, households in self.session.execute(
            select(Household.commune_id, Household.assigned_canvasser_id, func.count())
            .where(Household.province_id == self.province_id)
            .group_by(Household.commune_id, Household.assigned_canvasser_id)
        ):
            counts[commune_id][canvasser_id] = households
        users: dict[int, list[int]] = defaultdict(list)
        for user_id, commune_id in self.session.execute(
            select(User.id, User.scope_unit_id).where(User.role == Role.CANVASSER)
        ):
            users[commune_id].append(user_id)
        for commune in self.places.communes_by_code.values():
            heap = [(counts[commune.id].get(u, 0), u) for u in users[commune.id]]
            heapq.heapify(heap)
            self.load[commune.id] = heap
        self._load_village_canvassers(users)

    def _load_village_canvassers(self, users: dict[int, list[int]]) -> None:
        """Each village's canvasser: the one holding most of its households (a leader's village
        assignment gives them all), among the commune's canvassers."""
        theirs = {(commune, user) for commune, ids in users.items() for user in ids}
        best: dict[int, tuple[int, int]] = {}
        for village_id, commune_id, canvasser_id, households in self.session.execute(
            select(
                Household.village_id,
                Household.commune_id,
                Household.assigned_canvasser_id,
                func.count(),
            )
            .where(Household.province_id == self.province_id, Household.village_id.is_not(None))
            .where(Household.assigned_canvasser_id.is_not(None))
            .group_by(Household.village_id, Household.commune_id, Household.assigned_canvasser_id)
        ):
            if (commune_id, canvasser_id) not in theirs:
                continue  # moved to another commune since: not this village's canvasser
            # Most households first, then the lower id: the same answer on every backend.
            if village_id not in best or (households, -canvasser_id) > best[village_id]:
                best[village_id] = (households, -canvasser_id)
        self.village_canvassers = {village: -rank[1] for village, rank in best.items()}

    def _village(self, place: Place) -> int | None:
        if not place.village_key:
            return None
        key = (place.commune_id, place.village_key)
        # As a plain int: read for every new household, where the ORM attribute costs more.
        village_id = self.village_ids.get(key)
        if village_id is None:
            village = self._village_unit(place, key)
            if village is None:
                return None
            village_id = self.village_ids[key] = village.id
        return village_id

    def _village_unit(self, place: Place, key: tuple[int, str]) -> GeoUnit | None:
        village = self.places.villages.get(key)
        if village is None:
            if self.write and not self.create_villages:
                return None  # the admin did not confirm it on the preview
            name = place.village_name
            village = GeoUnit(
                kind=UnitKind.VILLAGE.value,
                code=f"{place.commune.code}-{compact_key(name)[:20]}",
                name=name,
                type_name=name.split(" ")[0] if " " in name else "",
                name_key=place.village_key,
                parent_id=place.commune_id,
                province_id=self.province_id,
                is_island=False,
                is_active=True,
            )
            self.report.new_villages += 1
            if len(self.report.new_village_names) < NEW_VILLAGES_SHOWN:
                self.report.new_village_names.append((place.commune.name, name))
            if self.write:  # inserted with the chunk's households (one flush each cost 6%)
                village.id = self.ids["village"].take()
                self.new_villages.append(tuple(getattr(village, c) for c in VILLAGE_COLUMNS))
            else:
                village.id = -len(self.places.villages) - 1  # a placeholder in a dry run
            self.places.villages[key] = village
        return village

    def _canvasser_for(self, commune_id: int, village_id: int | None = None) -> int | None:
        """The village's canvasser, else the commune's canvasser with the fewest households (who
        then holds the village, if new, for its next households); leaders reassign later."""
        if not self.load:
            self._load_canvassers()
        if village_id is not None and (owner := self.village_canvassers.get(village_id)):
            # The heap is not told: its counts only break ties between the others.
            return owner
        load = self.load.get(commune_id)  # a heap of (households, canvasser): least loaded on top
        if not load:
            return None
        households, canvasser = load[0]
        heapq.heapreplace(load, (households + 1, canvasser))
        if village_id is not None:
            self.village_canvassers[village_id] = canvasser
        return canvasser
