"""Who may do what: one entry per (endpoint, method) of the app's URL map, and the answer per role.

Policy (brief §9, web/guards.py, core/scope.py):
- anonymous: 302 to /login for pages, 401 JSON for /api/ and /session.json; public files answer 200;
- a logged-in role a route is not for: 403 (the Vietnamese page; JSON under /api/);
- an allowed role naming an object outside its scope: 404, whether the object exists or not —
  except the leaders' form actions (assign, review), which answer 303 back to their page with an
  error message and change nothing, and pages that take a filter they simply ignore when it is
  not theirs (shown as the same 200);
- national accounts (leader, admin, media of the whole country): the figures pages only (the
  dashboard, rankings, the country's bulletin); every other route, personal data above all, 403.

Each entry builds its URL (and, for unsafe methods, a valid body) from `Objects`: the ids of a
household, person, visit, village, canvasser, campaign, summary or import batch that is in the
requesting role's scope ("in"), or the same kind of object just outside it ("out"): for the
canvasser and commune leader a commune of the group leader's group, for the group leader the
canvasser's commune, for province-wide roles a second province (tests/security/conftest.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

ANON = "anonymous"
CANVASSER = "canvasser"
COMMUNE_LEADER = "commune_leader"
GROUP_LEADER = "group_leader"
PROVINCE_LEADER = "province_leader"
# A steering-committee member: a province leader following a set of units (07210 and another
# group's communes, never the group leader's): commune-scoped like the local roles.
MEMBER = "member_leader"
ADMIN = "admin"
MEDIA = "media"
# National accounts (scope: the whole country): figures only, never a person (core/scope.py).
NATIONAL_LEADER = "national_leader"
NATIONAL_ADMIN = "national_admin"
NATIONAL_MEDIA = "national_media"
NATIONAL = (NATIONAL_LEADER, NATIONAL_ADMIN, NATIONAL_MEDIA)

ROLES = (
    ANON,
    CANVASSER,
    COMMUNE_LEADER,
    GROUP_LEADER,
    MEMBER,
    PROVINCE_LEADER,
    ADMIN,
    MEDIA,
    *NATIONAL,
)
USERNAMES = {
    NATIONAL_LEADER: "lanhdao.quocgia",
    NATIONAL_ADMIN: "quantri.quocgia",
    NATIONAL_MEDIA: "baochi.quocgia",
    CANVASSER: "canbo.07210.1",
    COMMUNE_LEADER: "lanhdao.07210",
    GROUP_LEADER: "lanhdao.cum",
    MEMBER: "lanhdao.theodoi",
    PROVINCE_LEADER: "lanhdao.tinh",
    ADMIN: "admin",
    MEDIA: "baochi",
}
LOGGED_IN = ROLES[1:]
LEADERS = (COMMUNE_LEADER, GROUP_LEADER, MEMBER, PROVINCE_LEADER, ADMIN)  # leaders + admin
STAFF = (CANVASSER, *LEADERS)  # the roles that read personal data
LOCAL = (CANVASSER, COMMUNE_LEADER, GROUP_LEADER, MEMBER)  # scoped to communes, not the province
# National accounts may open the figures pages only: every other route answers them 403 (a
# before_request hook, web/guards.py COUNTRY_FIGURES_ENDPOINTS), personal data above all.
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Expected "status" meaning: a 302 whose Location is the login page.
LOGIN = "login"


@dataclass(frozen=True)
class Objects:
    """Ids a request names, resolved for one role and "in" or "out" of its scope."""

    commune: int
    other_commune: int  # another commune of the same scope kind (where a village may move)
    village: int  # the household's village
    other_village: int  # a second village of the same commune
    household: int
    person: int
    visit: int
    canvasser: int  # a canvasser of the commune (never the logged-in one)
    other_canvasser: int
    campaign: int
    summary: int  # published
    draft: int
    batch: int
    export: int  # an audit-log export: the admin's own ("in"), another admin's ("out")
    period_key: str
    draft_key: str
    home_commune: int


@dataclass(frozen=True)
class Entry:
    """One (endpoint, method): its URL, a valid body, and the status each role should get."""

    endpoint: str
    method: str
    path: Callable[[Objects], str]
    allowed: Mapping[str, int | str]  # role -> status for an object in its scope
    out: int | str | Mapping[str, int | str] | None = None  # None: the route names no object
    form: Callable[[Objects], dict] | None = None
    json: Callable[[Objects], dict] | None = None
    # An allowed, in-scope request changes data: it gets a fresh database (True: for every role
    # allowed, or just for these roles).
    writes: bool | tuple[str, ...] = False
    ends_session: bool = False  # logs the client out: it gets a client of its own
    anonymous: int | str = LOGIN
    denied: int = 403
    tables: tuple[str, ...] = ()  # the tables this route may change (hashed around requests)
    no_fuzz: str = ""  # why the form is not fuzzed in test_form_fuzz.py ("" = fuzzed)
    xfail: Mapping[tuple[str, str], str] = field(default_factory=dict)  # (role, which) -> why

    @property
    def key(self) -> str:
        """`endpoint METHOD`, the entry's id in test names."""
        return f"{self.endpoint} {self.method}"

    def expected(self, role: str, which: str) -> int | str:
        """The status `role` should get for an object in ("in") or out of ("out") its scope."""
        if role not in self.allowed:
            return self.anonymous if role == ANON else self.denied
        if which == "in" or self.out is None:
            return self.allowed[role]
        if isinstance(self.out, Mapping):
            return self.out.get(role, self.allowed[role])
        return self.out

    def writes_for(self, role: str, which: str) -> bool:
        """Whether this request is allowed to change data (so it needs its own database)."""
        if which != "in" or role not in self.allowed:
            return False
        return role in self.writes if isinstance(self.writes, tuple) else self.writes

    def cases(self) -> list[tuple[str, str]]:
        """(role, "in"/"out") pairs worth a request: "out" only where an object can be refused."""
        pairs = [(role, "in") for role in ROLES]
        if self.out is not None:  # nothing of the country is outside a national scope
            pairs += [
                (role, "out") for role in ROLES if role in self.allowed and role not in NATIONAL
            ]
        return pairs


def each(status: int | str, roles=LOGGED_IN) -> dict[str, int | str]:
    """The same status for each of these roles."""
    return {role: status for role in roles}


PUBLIC = each(200, ROLES)
PROVINCE_WIDE_OUT = {PROVINCE_LEADER: 404, ADMIN: 404, MEDIA: 404}
VISIT_TABLES = ("visit", "visit_outcome", "household", "person", "daily_tally", "audit_log")
USER_TABLES = ("app_user", "audit_log")
CAMPAIGN_TABLES = ("campaign", "target", "audit_log")
VILLAGE_TABLES = ("geo_unit", "household", "audit_log")
ASSIGN_TABLES = ("household", "audit_log")
REVIEW_TABLES = ("visit", "audit_log")
TEAM_TABLES = ("team", "team_member", "audit_log")
CORRECTION_TABLES = ("correction", "person", "household", "audit_log")
SUMMARY_TABLES = ("summary", "report_period", "audit_log")
IMPORT_TABLES = ("import_batch", "import_mapping", "audit_log")
NEW_PASSWORD = "Mat-Khau-Moi-2026"

MATRIX: tuple[Entry, ...] = (
    # ---- logging in and out, language, own account -------------------------------------------
    Entry("auth.login", "GET", lambda o: "/login", {ANON: 200, **each(302)}),
    Entry(
        "auth.login",
        "POST",
        lambda o: "/login",
        {ANON: 302, **each(302)},
        form=lambda o: {"username": "canbo.07210.2", "password": "Demo@2026"},
        writes=(ANON,),  # a logged-in user is sent home before anything is checked
        tables=USER_TABLES,
    ),
    Entry(
        "auth.logout",
        "POST",
        lambda o: "/logout",
        each(302),
        form=lambda o: {},
        writes=True,
        ends_session=True,
        tables=USER_TABLES,
    ),
    Entry(
        "prefs.set_language",
        "POST",
        lambda o: "/language",
        {ANON: 302, **each(302)},
        form=lambda o: {"lang": "vi", "next": "/"},
    ),
    Entry("account.password", "GET", lambda o: "/account/password", each(200)),
    Entry(
        "account.password",
        "POST",
        lambda o: "/account/password",
        each(302),
        form=lambda o: {
            "current_password": "Demo@2026",
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        writes=True,
        tables=USER_TABLES,
    ),
    # National accounts are sent on to the country's dashboard (leaders, admins) or figures.
    Entry("home.index", "GET", lambda o: "/", {**each(200), CANVASSER: 302, **each(302, NATIONAL)}),
    # ---- the installable app and the JSON API ------------------------------------------------
    Entry("pwa.manifest", "GET", lambda o: "/manifest.webmanifest", PUBLIC),
    Entry("pwa.service_worker", "GET", lambda o: "/sw.js", PUBLIC),
    Entry("pwa.offline", "GET", lambda o: "/offline", PUBLIC),
    Entry("pwa.outbox", "GET", lambda o: "/outbox", PUBLIC),
    Entry("pwa.session_info", "GET", lambda o: "/session.json", each(200), anonymous=401),
    Entry("pwa.offline_pages", "GET", lambda o: "/offline/pages.json", {CANVASSER: 200}),
    Entry("pwa.offline_search", "GET", lambda o: "/offline/search", {CANVASSER: 200}),
    Entry(
        # The demo's visit was not returned: "not waiting for your answer", back to the household
        # page, nothing written (in and out of scope alike: the page itself then answers 404).
        # Answering a returned visit: tests/households/test_views.py, tests/browser/test_visit_form.py.
        "households.reply",
        "POST",
        lambda o: f"/households/{o.household}/visits/{o.visit}/reply",
        {CANVASSER: 303},
        out=303,
        form=lambda o: {"reply": "Em đã kiểm tra lại, hộ ở đúng địa chỉ"},
        tables=("visit", "audit_log"),
    ),
    Entry("api.openapi", "GET", lambda o: "/api/openapi.json", PUBLIC),
    Entry(
        "api.sync",
        "POST",
        lambda o: "/api/visits/sync",
        {CANVASSER: 200},
        json=lambda o: {"visits": []},
        anonymous=401,
        tables=VISIT_TABLES,
        no_fuzz="JSON, not a form: fuzzed in tests/visits/test_sync.py",
    ),
    # ---- households, visits, the calculator, the worklist ------------------------------------
    Entry(
        "households.show",
        "GET",
        lambda o: f"/households/{o.household}",
        each(200, STAFF),
        out=404,
    ),
    Entry(
        "visits.new",
        "GET",
        lambda o: f"/households/{o.household}/visits/new",
        {CANVASSER: 200},
        out=404,
    ),
    Entry(
        "visits.create",
        "POST",
        lambda o: f"/households/{o.household}/visits",
        {CANVASSER: 302},
        out=404,
        form=lambda o: {
            "client_uuid": "5b0c1f4e-0000-4000-8000-0000000000a1",
            "channel": "home",
            f"outcome_{o.person}": "promised",
            f"date_{o.person}": "2026-11-30",
            "note": "Hẹn cuối tháng",
        },
        writes=True,
        tables=VISIT_TABLES,
    ),
    Entry(
        "calculator.index",
        "GET",
        lambda o: f"/calculator?person={o.person}",
        each(200, STAFF),
        out=404,
    ),
    Entry(
        "worklist.show",
        "GET",
        lambda o: f"/worklist?canvasser={o.canvasser}",
        each(200, STAFF),
        # A canvasser's own list ignores ?canvasser=; a leader naming another one gets 404.
        out={**each(404, LEADERS), CANVASSER: 200},
    ),
    Entry("worklist.canvassers", "GET", lambda o: "/worklist/canvassers", each(200, LEADERS)),
    # ---- leaders: dashboard, assignment, review, promises, targets, rankings -----------------
    Entry(
        "dashboard.show",
        "GET",
        lambda o: f"/dashboard?unit={o.commune}",
        each(200, (*LEADERS, NATIONAL_LEADER, NATIONAL_ADMIN)),  # figures of any unit
        out=404,
    ),
    Entry(
        "dashboard.list_page",
        "GET",
        lambda o: f"/dashboard/list?kind=never_visited&unit={o.commune}",
        each(200, LEADERS),
        out=404,
    ),
    Entry(
        "dashboard.cell_page",
        "GET",
        lambda o: f"/dashboard/cell?metric=visits&unit={o.commune}&village={o.village}",
        each(200, LEADERS),
        out=404,
    ),
    Entry(
        "leader.assign",
        "GET",
        lambda o: f"/leader/assign?commune={o.commune}&village={o.village}",
        each(200, LEADERS),
        out=200,  # a commune outside the scope is not in the picker: the page ignores it
    ),
    Entry(
        "leader.assign_village",
        "POST",
        lambda o: "/leader/assign/village",
        each(303, LEADERS),
        out=303,
        form=lambda o: {"village_id": o.village, "canvasser_id": o.canvasser, "commune": o.commune},
        writes=True,
        tables=ASSIGN_TABLES,
    ),
    Entry(
        "leader.assign_households",
        "POST",
        lambda o: "/leader/assign/households",
        each(303, LEADERS),
        out=303,
        form=lambda o: {
            "village_id": o.village,
            "canvasser_id": o.canvasser,
            "household_id": [o.household],
            "commune": o.commune,
        },
        writes=True,
        tables=ASSIGN_TABLES,
    ),
    Entry(
        "leader.move_work",
        "POST",
        lambda o: "/leader/assign/move",
        each(303, LEADERS),
        out=303,
        form=lambda o: {
            "from_canvasser_id": o.other_canvasser,
            "to_canvasser_id": o.canvasser,
            "commune": o.commune,
        },
        writes=True,
        tables=ASSIGN_TABLES,
    ),
    Entry("leader.review_list", "GET", lambda o: "/leader/review", each(200, LEADERS)),
    Entry(
        "leader.confirm",
        "POST",
        lambda o: f"/leader/review/{o.visit}/confirm",
        each(303, LEADERS),
        out=303,
        form=lambda o: {"from": "2026-11-01", "to": "2026-11-22"},
        writes=True,
        tables=REVIEW_TABLES,
    ),
    Entry(
        "leader.return_",
        "POST",
        lambda o: f"/leader/review/{o.visit}/return",
        each(303, LEADERS),
        out=303,
        form=lambda o: {"comment": "Hãy gọi lại hộ này để kiểm tra."},
        writes=True,
        tables=REVIEW_TABLES,
    ),
    Entry("leader.promises", "GET", lambda o: "/leader/promises", each(200, LEADERS)),
    # ---- advisory teams (no team in the demo: setting one up, in and out of scope, changing and
    # dissolving it are in tests/teams/test_views.py; here the ids name no team) ----
    Entry("teams.index", "GET", lambda o: "/teams", each(200, LEADERS)),
    Entry("teams.new", "GET", lambda o: f"/teams/new?commune={o.commune}", each(200, LEADERS)),
    Entry(
        # One member is not a team: refused with its message, nothing written.
        "teams.new",
        "POST",
        lambda o: "/teams/new",
        each(422, LEADERS),
        form=lambda o: {"commune": str(o.commune), "name": "Tổ thử", "members": str(o.canvasser)},
        tables=TEAM_TABLES,
    ),
    Entry("teams.edit", "GET", lambda o: "/teams/999999", each(404, LEADERS)),
    Entry(
        "teams.edit",
        "POST",
        lambda o: "/teams/999999",
        each(404, LEADERS),
        form=lambda o: {"name": "Tổ thử", "members": str(o.canvasser)},
        tables=TEAM_TABLES,
    ),
    Entry(
        "teams.dissolve",
        "POST",
        lambda o: "/teams/999999/dissolve",
        each(404, LEADERS),
        form=lambda o: {},
        tables=TEAM_TABLES,
    ),
    # ---- corrections at the door (their scope per object: tests/corrections/test_views.py) ----
    Entry(
        "corrections.household",
        "GET",
        lambda o: f"/households/{o.household}/corrections",
        {CANVASSER: 200},
        out=404,
    ),
    Entry(
        "corrections.household",
        "POST",
        lambda o: f"/households/{o.household}/corrections",
        {CANVASSER: 303},
        out=404,
        form=lambda o: {"kind": "phone", "whose": str(o.person), "phone": "0912 345 678"},
        writes=True,
        tables=CORRECTION_TABLES,
    ),
    Entry("corrections.leader_list", "GET", lambda o: "/leader/corrections", each(200, LEADERS)),
    Entry(
        "corrections.export",
        "GET",
        lambda o: "/leader/corrections/export.xlsx?status=all",
        each(200, LEADERS),
    ),
    Entry(
        # The demo holds no correction: the id names none, so every leader is sent back with a
        # message and nothing changes (deciding in and out of scope: tests/corrections).
        "corrections.decide",
        "POST",
        lambda o: f"/leader/corrections/{o.household}",
        each(303, LEADERS),
        form=lambda o: {"decision": "reject", "note": "Số này của hàng xóm"},
        tables=CORRECTION_TABLES,
    ),
    Entry("leader.retention", "GET", lambda o: "/leader/retention", each(200, LEADERS)),
    Entry("leader.meetings_page", "GET", lambda o: "/leader/meetings", each(200, LEADERS)),
    Entry(
        "leader.record_meeting",
        "POST",
        lambda o: "/leader/meetings",
        each(303, LEADERS),
        out=400,  # a commune outside the scope: the form again with the error, nothing written
        form=lambda o: {
            "held_on": "2026-11-05",
            "unit_id": o.commune,
            "findings": "Chậm tiến độ",
            "decision": "none",
        },
        writes=True,
        tables=("review_meeting", "review_meeting_unit", "commitment", "audit_log"),
    ),
    Entry(
        "leader.add_milestone",
        "POST",
        lambda o: "/leader/milestones",
        {ADMIN: 303},
        form=lambda o: {"kind": "review", "due_on": "2026-11-07"},
        writes=True,
        tables=("milestone", "audit_log"),
    ),
    # No commitment exists in the matrix's database: closing one answers 404 for every leader
    # (tests/leaders/test_meetings.py closes a real one, and refuses one outside the scope).
    Entry(
        "leader.commitment_done",
        "POST",
        lambda o: "/leader/commitments/987654/done",
        each(404, LEADERS),
        form=lambda o: {},
        tables=("commitment",),
    ),
    Entry(
        "targets.index",
        "GET",
        lambda o: f"/targets?campaign={o.campaign}&commune={o.commune}",
        each(200, LEADERS),
        out=404,
    ),
    Entry(
        "targets.save",
        "POST",
        lambda o: "/targets",
        each(302, LEADERS),
        out=404,
        form=lambda o: {
            "campaign": o.campaign,
            "unit_id": o.commune,
            "new_participants": "12",
            "renewals": "3",
        },
        writes=True,
        tables=("target", "audit_log"),
    ),
    Entry(
        "targets.upload",
        "POST",
        lambda o: "/targets/upload",
        each(400, LEADERS),  # no file: the page again with "Chưa chọn tệp chỉ tiêu."
        out={**PROVINCE_WIDE_OUT, COMMUNE_LEADER: 400, GROUP_LEADER: 400, MEMBER: 400},
        form=lambda o: {"campaign": o.campaign},
        tables=("target", "audit_log"),
        no_fuzz="a file upload: target sheets are checked in tests/campaigns/test_targets.py",
    ),
    Entry(
        "rankings.show",
        "GET",
        lambda o: f"/rankings?campaign={o.campaign}&level=village&commune={o.commune}",
        each(200, (*LEADERS, NATIONAL_LEADER, NATIONAL_ADMIN)),  # nationally: the provinces
        out=404,
    ),
    Entry(
        "rankings.workbook",
        "GET",
        lambda o: f"/rankings.xlsx?campaign={o.campaign}&level=village&commune={o.commune}",
        # No workbook of the country's ranking (a province's campaign is not theirs to rank).
        {**each(200, LEADERS), **each(404, (NATIONAL_LEADER, NATIONAL_ADMIN))},
        out=404,
    ),
    # ---- admins: users, campaigns, villages --------------------------------------------------
    Entry("admin.users", "GET", lambda o: "/admin/users", {ADMIN: 200}),
    Entry("admin.new_user", "GET", lambda o: "/admin/users/new", {ADMIN: 200}),
    Entry(
        "admin.new_user",
        "POST",
        lambda o: "/admin/users/new",
        {ADMIN: 200},  # the page that shows the temporary password once
        out=400,  # a scope in another province is refused like any bad choice
        form=lambda o: {
            "username": "canbo.moi.1",
            "full_name": "Nguyễn Văn Mới",
            "role": "canvasser",
            "scope_unit_id": o.commune,
            "organization": "Bưu điện xã",
        },
        writes=True,
        tables=USER_TABLES,
    ),
    Entry(
        "admin.edit_user",
        "GET",
        lambda o: f"/admin/users/{o.canvasser}",
        {ADMIN: 200},
        out=404,
    ),
    Entry(
        "admin.edit_user",
        "POST",
        lambda o: f"/admin/users/{o.canvasser}",
        {ADMIN: 303},
        out=404,
        form=lambda o: {
            "full_name": "Trần Thị Sửa",
            "organization": "UBND phường",
            "role": "canvasser",
            "scope_unit_id": o.commune,
            "is_active": "1",
        },
        writes=True,
        tables=USER_TABLES,
    ),
    Entry(
        "admin.reset_password",
        "POST",
        lambda o: f"/admin/users/{o.canvasser}/reset-password",
        {ADMIN: 200},
        out=404,
        form=lambda o: {},
        writes=True,
        tables=USER_TABLES,
    ),
    Entry(
        # A canvasser follows no units: the admin's request for one is refused (400, the page
        # with its message); clearing and setting a leader's units: tests/accounts/test_followed.py.
        "admin.followed_units",
        "POST",
        lambda o: f"/admin/users/{o.canvasser}/followed",
        {ADMIN: 400},
        out=404,
        form=lambda o: {"units": str(o.commune)},
        tables=("followed_unit", "audit_log"),
    ),
    Entry(
        "admin.deactivate_user",
        "POST",
        lambda o: f"/admin/users/{o.canvasser}/deactivate",
        {ADMIN: 303},
        out=404,
        form=lambda o: {},
        writes=True,
        tables=USER_TABLES,
    ),
    Entry("admin.campaigns_index", "GET", lambda o: "/admin/campaigns", {ADMIN: 200}),
    Entry("admin.new_campaign", "GET", lambda o: "/admin/campaigns/new", {ADMIN: 200}),
    Entry(
        "admin.new_campaign",
        "POST",
        lambda o: "/admin/campaigns/new",
        {ADMIN: 303},
        form=lambda o: {
            "name": "Chiến dịch năm 2027",
            "starts_on": "2027-01-01",
            "ends_on": "2027-06-30",
            "is_active": "",
        },
        writes=True,
        tables=CAMPAIGN_TABLES,
    ),
    Entry(
        "admin.edit_campaign",
        "GET",
        lambda o: f"/admin/campaigns/{o.campaign}",
        {ADMIN: 200},
        out=404,
    ),
    Entry(
        "admin.edit_campaign",
        "POST",
        lambda o: f"/admin/campaigns/{o.campaign}",
        {ADMIN: 303},
        out=404,
        form=lambda o: {
            "name": "Chiến dịch đổi tên",
            "starts_on": "2026-07-01",
            "ends_on": "2026-12-31",
            "is_active": "1",
        },
        writes=True,
        tables=CAMPAIGN_TABLES,
    ),
    Entry(
        "admin.campaign_targets",
        "GET",
        lambda o: f"/admin/campaigns/{o.campaign}/targets",
        {ADMIN: 200},
        out=404,
    ),
    Entry(
        "admin.campaign_targets",
        "POST",
        lambda o: f"/admin/campaigns/{o.campaign}/targets",
        {ADMIN: 303},
        out=404,
        form=lambda o: {f"new_{o.home_commune}": "40", f"renew_{o.home_commune}": "25"},
        writes=True,
        tables=CAMPAIGN_TABLES,
    ),
    Entry(
        "admin.villages_index",
        "GET",
        lambda o: f"/admin/villages?commune={o.commune}",
        {ADMIN: 200},
        out=200,  # a commune of another province is not offered: the picker alone
    ),
    Entry(
        "admin.show_village",
        "GET",
        lambda o: f"/admin/villages/{o.village}",
        {ADMIN: 200},
        out=404,
    ),
    Entry(
        "admin.rename_village",
        "POST",
        lambda o: f"/admin/villages/{o.village}/rename",
        {ADMIN: 303},
        out=404,
        form=lambda o: {"name": "Thôn Đổi Tên"},
        writes=True,
        tables=VILLAGE_TABLES,
    ),
    Entry(
        "admin.merge_villages",
        "POST",
        lambda o: "/admin/villages/merge",
        {ADMIN: 303},
        out=404,
        form=lambda o: {"commune": o.commune, "into_id": o.village, "from_ids": [o.other_village]},
        writes=True,
        tables=VILLAGE_TABLES,
    ),
    Entry(
        "admin.move_village",
        "POST",
        lambda o: f"/admin/villages/{o.village}/move",
        {ADMIN: 303},
        out=404,
        form=lambda o: {"to_commune_id": o.other_commune},
        writes=True,
        tables=VILLAGE_TABLES,
    ),
    # ---- admins: the audit log (read-only; each admin sees their province's entries) ---------
    Entry("audit.index", "GET", lambda o: "/admin/audit", {ADMIN: 200}),
    # ---- admins: exports a worker writes (each admin opens only their own) --------------------
    Entry(
        "exports.audit_log",
        "POST",
        lambda o: "/exports/audit-log?action=login",
        {ADMIN: 303},  # queued: to the export's page
        form=lambda o: {},
        writes=True,
        tables=("background_job", "audit_log"),
    ),
    Entry("exports.show", "GET", lambda o: f"/exports/{o.export}", {ADMIN: 200}, out=404),
    Entry("exports.file", "GET", lambda o: f"/exports/{o.export}/file", {ADMIN: 200}, out=404),
    # ---- admins: imports ---------------------------------------------------------------------
    Entry("imports.index", "GET", lambda o: "/imports", {ADMIN: 200}),
    Entry(
        "imports.upload",
        "POST",
        lambda o: "/imports",
        {ADMIN: 303},  # no file: back to the form with "Tệp rỗng"
        form=lambda o: {"kind": "participants", "office": ""},
        tables=IMPORT_TABLES,
        no_fuzz="a file upload: fuzzed in tests/imports/test_writer_fuzz.py",
    ),
    Entry("imports.show", "GET", lambda o: f"/imports/{o.batch}", {ADMIN: 200}, out=404),
    Entry(
        "imports.errors",
        "GET",
        lambda o: f"/imports/{o.batch}/errors.xlsx",
        {ADMIN: 200},
        out=404,
    ),
    # The world's batches are done: each step is refused (nothing starts) after the scope check.
    Entry(
        "imports.mapping",
        "POST",
        lambda o: f"/imports/{o.batch}/mapping",
        {ADMIN: 303},
        out=404,
        form=lambda o: {"header_0": "Họ tên", "field_0": "full_name"},
        tables=IMPORT_TABLES,
    ),
    Entry(
        "imports.commit",
        "POST",
        lambda o: f"/imports/{o.batch}/import",
        {ADMIN: 303},
        out=404,
        form=lambda o: {"skip_rejected": "1"},
        tables=IMPORT_TABLES,
    ),
    Entry(
        "imports.retry",
        "POST",
        lambda o: f"/imports/{o.batch}/retry",
        {ADMIN: 303},  # only a failed batch can be checked again: refused, with the reason
        out=404,
        form=lambda o: {},
        tables=IMPORT_TABLES,
    ),
    # ---- summaries ---------------------------------------------------------------------------
    Entry(
        "summaries.index",
        "GET",
        lambda o: "/summaries",
        each(200, (ADMIN, MEDIA, NATIONAL_ADMIN, NATIONAL_MEDIA)),
    ),
    Entry("summaries.period", "GET", lambda o: f"/summaries/{o.period_key}", {ADMIN: 200}),
    Entry(
        "summaries.draft",
        "POST",
        lambda o: f"/summaries/{o.draft_key}/draft",
        {ADMIN: 302},
        form=lambda o: {},
        writes=True,
        tables=SUMMARY_TABLES,
    ),
    Entry(
        "summaries.publish",
        "POST",
        lambda o: f"/summaries/{o.draft_key}/publish",
        {ADMIN: 302},
        out=404,
        # The world's day is inside the period: publishing it now needs the explicit "early".
        form=lambda o: {"summary_id": o.draft, "reason": "", "early": "1"},
        writes=True,
        tables=(*SUMMARY_TABLES, "background_job"),
        no_fuzz="each accepted example queues a publication (one per period); its inputs are one "
        "id and a reason, covered by tests/summaries/test_service.py and test_publishing.py",
    ),
    Entry(
        "summaries.version",
        "GET",
        lambda o: f"/summaries/versions/{o.summary}",
        {ADMIN: 200, MEDIA: 200},
        out=404,
    ),
    Entry(
        "summaries.pdf",
        "GET",
        lambda o: f"/summaries/versions/{o.summary}.pdf",
        {ADMIN: 200, MEDIA: 200},
        out=404,
    ),
    # The national bulletin: only for national accounts; a province's admin and media get 404.
    Entry(
        "summaries.national_pdf",
        "GET",
        lambda o: "/summaries/national.pdf",
        {ADMIN: 404, MEDIA: 404, NATIONAL_ADMIN: 200, NATIONAL_MEDIA: 200},
    ),
    Entry(
        "summaries.csv",
        "GET",
        lambda o: f"/summaries/versions/{o.summary}.csv",
        {ADMIN: 200, MEDIA: 200},
        out=404,
    ),
    Entry(
        "summaries.deliver",
        "POST",
        lambda o: f"/summaries/versions/{o.summary}/deliver",
        {ADMIN: 303},
        out=404,
        form=lambda o: {},
        writes=True,
        tables=("bulletin_delivery", "background_job"),
    ),
    # Nobody has a notice in the matrix's database: each user may dismiss only their own, so every
    # logged-in role gets 404 here (tests/summaries/test_schedule.py dismisses a real one).
    Entry(
        "home.dismiss",
        "POST",
        lambda o: "/notices/987654/dismiss",
        each(404),
        form=lambda o: {},
        tables=("notice",),
    ),
)

# Endpoints the matrix leaves out on purpose.
EXCLUDED = {"static": "files from /static, served to everyone, logged in or not"}


def entries_by_key() -> dict[str, Entry]:
    """The matrix keyed by `endpoint METHOD` (duplicates would be a mistake in the table)."""
    table: dict[str, Entry] = {}
    for entry in MATRIX:
        assert entry.key not in table, f"two entries for {entry.key}"
        table[entry.key] = entry
    return table
