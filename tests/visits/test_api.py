"""The sync API through HTTP: JSON only, login before CSRF, canvassers only, documented in OpenAPI."""

import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from sqlalchemy import func
from sqlmodel import select

from outreach.core.clock import VIETNAM, today_local
from outreach.models import Household, Person, User, Visit
from outreach.visits.api import LOGIN_REQUIRED, MAX_BODY, openapi_document
from outreach.visits.sync import MAX_BATCH, parse_item, scope_token
from tests.conftest import csrf_token
from tests.crash.conftest import GUNICORN, Client, Server

URL = "/api/visits/sync"


def _count(session) -> int:
    return session.exec(select(func.count()).select_from(Visit)).one()


def _me(session, username="canbo.07210.1") -> User:
    return session.exec(select(User).where(User.username == username)).one()


def _household(session, *where) -> tuple[Household, list[Person]]:
    for h in session.exec(select(Household).where(*where).order_by(Household.id)):
        members = session.exec(
            select(Person).where(Person.household_id == h.id).order_by(Person.id)
        ).all()
        if members:
            return h, list(members)
    raise AssertionError("no household with members")


def _visit(household, members, **fields) -> dict:
    body = {
        "client_uuid": str(uuid.uuid4()),
        "household_id": household.id,
        "channel": "phone",
        "visited_at": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
        "outcomes": [
            {
                "person_id": members[0].id,
                "outcome": "promised",
                "follow_up_on": (today_local() + timedelta(days=2)).isoformat(),
                "amount": 792_000,
            }
        ],
    }
    body.update(fields)
    return body


def _post(client, body, *, token: str | None = None, **kwargs):
    headers = {"X-CSRFToken": token} if token else {}
    return client.post(URL, json=body, headers=headers, **kwargs)


@pytest.fixture
def canvasser_client(login_as):
    client = login_as("canbo.07210.1")
    return client, csrf_token(client, "/worklist")


@pytest.fixture
def mine(session):
    return _household(session, Household.commune_id == _me(session).scope_unit_id)


# --- checking JSON against the served document (JSON Schema 2020-12, as OpenAPI 3.1 uses) -------

DOCUMENT_URI = "urn:outreach:api:openapi.json"


def _validator(doc: dict, schema: dict) -> Draft202012Validator:
    """A validator for `schema`, its `#/components/...` references resolved in the document."""
    registry = Registry().with_resource(DOCUMENT_URI, DRAFT202012.create_resource(doc))
    if "$ref" in schema:
        schema = {**schema, "$ref": DOCUMENT_URI + schema["$ref"]}
    return Draft202012Validator(
        schema, registry=registry, format_checker=Draft202012Validator.FORMAT_CHECKER
    )


def _conforms(value, schema: dict, doc: dict) -> None:
    """Raise jsonschema's ValidationError unless value matches the schema."""
    _validator(doc, schema).validate(value)


def _component(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


@pytest.fixture
def openapi(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


def _documented(doc: dict, path: str, method: str, status: int) -> dict:
    responses = doc["paths"][path][method]["responses"]
    assert str(status) in responses, f"{method.upper()} {path} does not document {status}"
    return responses[str(status)]["content"]["application/json"]["schema"]


# --- the checker must be able to fail ------------------------------------------------------------


def test_the_schema_check_catches_undocumented_and_mistyped_keys(openapi):
    schema = _component("ItemResult")
    good = {
        "client_uuid": None,
        "status": "stored",
        "visit_id": 1,
        "out_of_scope": False,
        "errors": {},
    }
    _conforms(good, schema, openapi)
    for bad in (
        {**good, "extra": 1},
        {**good, "status": "saved"},
        {**good, "visit_id": "1"},
        {**good, "errors": {"note": 3}},
        {k: v for k, v in good.items() if k != "errors"},
    ):
        with pytest.raises(SchemaError):
            _conforms(bad, schema, openapi)


# --- authentication, CSRF, roles -----------------------------------------------------------------


def test_logged_out_gets_401_json_not_a_redirect(client, session, mine, openapi):
    before = _count(session)
    for token in (None, "stale-token"):
        response = _post(client, {"visits": [_visit(*mine)]}, token=token)
        assert response.status_code == 401 and response.mimetype == "application/json"
        _conforms(response.get_json(), _documented(openapi, URL, "post", 401), openapi)
        assert "Location" not in response.headers
        assert response.get_json() == {"error": LOGIN_REQUIRED, "code": "login_required"}
    assert "các lượt thăm chưa gửi vẫn được giữ trên máy" in LOGIN_REQUIRED
    assert _count(session) == before


def test_missing_or_wrong_csrf_token_is_400_json(canvasser_client, session, mine, openapi):
    client, token = canvasser_client
    before = _count(session)
    for bad in (None, token[:-4] + "xxxx"):
        response = _post(client, {"visits": [_visit(*mine)]}, token=bad)
        assert response.status_code == 400 and response.mimetype == "application/json"
        _conforms(response.get_json(), _documented(openapi, URL, "post", 400), openapi)
        body = response.get_json()
        assert body["code"] == "csrf" and "tải lại trang" in body["error"]
    assert _count(session) == before


def test_the_html_pages_keep_their_csrf_error_page(login_as, session, mine):
    client = login_as("canbo.07210.1")
    h, _ = mine
    response = client.post(f"/households/{h.id}/visits", data={"channel": "home"})
    assert response.status_code == 400 and response.mimetype == "text/html"
    assert "Yêu cầu không hợp lệ" in response.get_data(as_text=True)


@pytest.mark.parametrize("username", ["lanhdao.07210", "admin", "baochi"])
def test_other_roles_get_403_json(login_as, session, mine, openapi, username):
    client = login_as(username)
    before = _count(session)
    response = _post(client, {"visits": [_visit(*mine)]}, token=csrf_token(client, "/"))
    assert response.status_code == 403 and response.mimetype == "application/json"
    _conforms(response.get_json(), _documented(openapi, URL, "post", 403), openapi)
    assert response.get_json()["code"] == "forbidden"
    assert _count(session) == before


def test_a_password_to_change_is_403_json_not_the_password_page(
    canvasser_client, session, mine, openapi
):
    """Issue 19 #18: the sync got the redirect to the password form, and the phone, reading no
    JSON, thought it had no signal. It gets a JSON 403 it can show; pages still redirect."""
    client, token = canvasser_client
    me = _me(session)
    me.must_change_password = True
    session.add(me)
    session.commit()
    before = _count(session)
    response = _post(client, {"visits": [_visit(*mine)]}, token=token)
    assert response.status_code == 403 and response.mimetype == "application/json"
    assert "Location" not in response.headers
    _conforms(response.get_json(), _documented(openapi, URL, "post", 403), openapi)
    body = response.get_json()
    assert body["code"] == "password_change_required"
    assert "đổi mật khẩu" in body["error"] and "vẫn được giữ trên máy" in body["error"]
    assert _count(session) == before
    page = client.get("/worklist")
    assert page.status_code == 302 and page.headers["Location"].endswith("/account/password")


# --- the batch ------------------------------------------------------------------------------------


def test_a_batch_gets_one_result_per_item_and_a_replay_stores_nothing(
    canvasser_client, session, mine, openapi
):
    client, token = canvasser_client
    h, members = mine
    good = _visit(h, members)
    bad = _visit(h, members, channel="bay")
    batch = {"visits": [good, bad, 17]}
    before = _count(session)

    response = _post(client, batch, token=token)
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.get_json()
    _conforms(body, _documented(openapi, URL, "post", 200), openapi)
    assert (body["stored"], body["duplicates"], body["rejected"]) == (1, 0, 2)
    first, second, third = body["results"]
    assert first["status"] == "stored" and first["client_uuid"] == good["client_uuid"]
    assert isinstance(first["visit_id"], int) and first["errors"] == {}
    assert second["status"] == "rejected" and second["visit_id"] is None
    assert "hình thức" in second["errors"]["channel"]
    assert third == {
        "client_uuid": None,
        "status": "rejected",
        "visit_id": None,
        "out_of_scope": False,
        "errors": {"item": "Mỗi lượt thăm phải là một đối tượng JSON."},
    }
    assert _count(session) == before + 1

    again = _post(client, batch, token=token).get_json()
    assert [r["status"] for r in again["results"]] == ["duplicate", "rejected", "rejected"]
    assert again["results"][0]["visit_id"] == first["visit_id"]
    assert (again["stored"], again["duplicates"]) == (0, 1)
    assert _count(session) == before + 1


def test_a_replay_with_other_content_is_answered_conflict(canvasser_client, session, mine, openapi):
    client, token = canvasser_client
    sent = _visit(*mine)
    assert _post(client, {"visits": [sent]}, token=token).get_json()["stored"] == 1
    changed = {**sent, "outcomes": [{**sent["outcomes"][0], "amount": 1_584_000}]}
    response = _post(client, {"visits": [changed, sent]}, token=token)
    body = response.get_json()
    _conforms(body, _documented(openapi, URL, "post", 200), openapi)
    conflict, duplicate = body["results"]
    assert conflict["status"] == "conflict" and conflict["visit_id"] is None
    assert "vẫn được giữ trên máy" in conflict["errors"]["client_uuid"]
    assert duplicate["status"] == "duplicate"
    assert (body["stored"], body["duplicates"], body["rejected"], body["conflicts"]) == (0, 1, 1, 1)


def test_the_offline_window_comes_from_the_configuration(app, canvasser_client, session, mine):
    client, token = canvasser_client
    three_days_ago = (datetime.now(UTC) - timedelta(days=3)).isoformat()
    late, in_time = (_visit(*mine, visited_at=three_days_ago) for _ in range(2))
    for sent, window in ((late, 2), (in_time, 14)):
        app.config["OFFLINE_WINDOW_DAYS"] = window
        body = _post(client, {"visits": [sent]}, token=token).get_json()
        assert body["stored"] == 1, body
    counted = dict(
        session.exec(
            select(Visit.client_uuid, Visit.counted_on).where(
                Visit.client_uuid.in_([late["client_uuid"], in_time["client_uuid"]])
            )
        ).all()
    )
    assert counted[in_time["client_uuid"]] is None
    assert counted[late["client_uuid"]] == datetime.now(VIETNAM).date()


def test_a_household_that_left_the_scope_is_stored_flagged_with_its_token(
    app, canvasser_client, session
):
    client, token = canvasser_client
    me = _me(session)
    h, members = _household(session, Household.commune_id != me.scope_unit_id)
    proof = scope_token(secret=app.config["SECRET_KEY"], canvasser_id=me.id, household_id=h.id)
    with_proof, without = _visit(h, members, scope_token=proof), _visit(h, members)
    body = _post(client, {"visits": [with_proof, without]}, token=token).get_json()
    flagged, refused = body["results"]
    assert flagged["status"] == "stored" and flagged["out_of_scope"] is True
    assert refused["status"] == "rejected"
    assert refused["errors"] == {"household": "Hộ này không thuộc phạm vi của bạn."}
    stored = session.exec(
        select(Visit.client_uuid, Visit.out_of_scope).where(Visit.household_id == h.id)
    ).all()
    assert (with_proof["client_uuid"], True) in stored
    assert without["client_uuid"] not in {key for key, _ in stored}


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"data": "visits=1", "content_type": "application/x-www-form-urlencoded"}, "bad_json"),
        ({"data": "{not json", "content_type": "application/json"}, "bad_json"),
        ({"json": [{"client_uuid": "x"}]}, "bad_json"),
        ({"json": {"visit": []}}, "bad_json"),
        ({"json": {"visits": {"0": {}}}}, "bad_json"),
        ({"json": {"visits": [{}] * (MAX_BATCH + 1)}}, "too_many"),
        ({"data": "[" * 100_000 + "]" * 100_000, "content_type": "application/json"}, "bad_json"),
    ],
)
def test_a_malformed_request_is_400_json(canvasser_client, session, openapi, kwargs, code):
    client, token = canvasser_client
    before = _count(session)
    response = client.post(URL, headers={"X-CSRFToken": token}, **kwargs)
    assert response.status_code == 400 and response.mimetype == "application/json"
    body = response.get_json()
    _conforms(body, _documented(openapi, URL, "post", 400), openapi)
    assert body["code"] == code and re.search(r"[ạảãáàăâđêôơư]", body["error"])
    assert _count(session) == before


def test_an_oversized_body_is_413_json(canvasser_client, openapi):
    client, token = canvasser_client
    huge = json.dumps({"visits": [{"note": "x" * (5 * 1024 * 1024)}]})
    response = client.post(
        URL, data=huge, content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert response.status_code == 413 and response.mimetype == "application/json"
    _conforms(response.get_json(), _documented(openapi, URL, "post", 413), openapi)


class _Chunked(io.RawIOBase):
    """A body as a chunked upload hands it to the app: pieces of a generator, counted as read."""

    def __init__(self, pieces):
        self.pieces, self.pending, self.consumed = iter(pieces), b"", 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self.pending:
            self.pending = next(self.pieces, b"")
            if not self.pending:
                return 0
        n = min(len(buffer), len(self.pending))
        buffer[:n], self.pending = self.pending[:n], self.pending[n:]
        self.consumed += n
        return n


def _post_chunked(client, token: str, body: _Chunked):
    # No Content-Length, and the server says it ends the stream itself, as gunicorn does.
    return client.post(
        URL,
        content_type="application/json",
        headers={"X-CSRFToken": token, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input": body, "wsgi.input_terminated": True},
    )


def test_a_chunked_body_over_the_limit_is_refused_before_it_is_read_whole(
    canvasser_client, session, openapi
):
    """Issue 19 #3: a chunked body had no Content-Length to check, so the app-wide 210 MB limit
    applied, and a 100 MB one pushed a worker to ~2.9 GB. It stops at the route's 4 MB now."""
    client, token = canvasser_client
    piece = 64 * 1024
    total = 64 * 1024 * 1024  # produced lazily: the test never holds it either

    def pieces():
        yield b'{"visits": [{"note": "'
        for _ in range(total // piece):
            yield b"x" * piece
        yield b'"}]}'

    body = _Chunked(pieces())
    before = _count(session)
    response = _post_chunked(client, token, body)
    assert response.status_code == 413 and response.mimetype == "application/json"
    _conforms(response.get_json(), _documented(openapi, URL, "post", 413), openapi)
    assert response.get_json()["code"] == "too_large"
    # Read up to the limit and no further: not the 64 MB sent.
    assert MAX_BODY <= body.consumed <= MAX_BODY + piece, body.consumed
    assert _count(session) == before


def test_a_chunked_body_under_the_limit_is_synced(canvasser_client, session, mine):
    client, token = canvasser_client
    sent = _visit(*mine)
    data = json.dumps({"visits": [sent]}).encode()
    body = _Chunked(data[i : i + 7] for i in range(0, len(data), 7))
    response = _post_chunked(client, token, body)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert [r["status"] for r in response.get_json()["results"]] == ["stored"]
    assert body.consumed == len(data)
    assert session.exec(select(Visit).where(Visit.client_uuid == sent["client_uuid"])).one()


def _peak_kb(pid: int) -> int:
    """A process's peak resident memory (VmHWM), in kB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError(f"no VmHWM for {pid}")


@pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed")
def test_a_real_gunicorn_stops_reading_a_chunked_body_at_the_limit(databases, tmp_path):
    """The same through gunicorn (./gunicorn.conf.py, two gthread workers as `make run`), which
    hands the app chunked bodies with `wsgi.input_terminated`: a 64 MB chunked body costs the
    workers a few MB, not the ~2.9 GB a 100 MB one did, and they go on serving."""
    instance = tmp_path / "instance"
    instance.mkdir()
    server = Server(databases.copy_of_template(), instance)
    server.start()
    try:
        client = Client(server).login("canbo.07210.1")
        token = client.csrf("/worklist")
        assert client.post_json(URL, {"visits": []}, csrf=token).status == 200  # warmed up
        workers = server.worker_pids()
        before = {pid: _peak_kb(pid) for pid in workers}
        piece, total, sent = 64 * 1024, 64 * 1024 * 1024, [0]

        def pieces():
            yield b'{"visits": [{"note": "'
            for _ in range(total // piece):
                sent[0] += piece
                yield b"x" * piece
            yield b'"}]}'

        headers = {"Content-Type": "application/json", "X-CSRFToken": token}
        try:  # urllib sends an iterable without a Content-Length chunked
            answer = client.request("POST", URL, body=pieces(), headers=headers)
        except OSError:  # gunicorn answered 413 and closed the connection while we still sent
            assert sent[0] < total / 2
        else:
            assert answer.status == 413 and answer.json()["code"] == "too_large"
        grown = sum(_peak_kb(pid) - before[pid] for pid in workers)
        assert grown < 24 * 1024, f"the workers grew by {grown} kB"
        assert server.worker_pids() == workers
        assert client.post_json(URL, {"visits": []}, csrf=token).status == 200
    finally:
        server.stop()


def test_the_route_limit_is_set_before_any_hook_opens_the_body(app, login_as):
    """The app's own before_request hooks run first and may open the stream (reading a form):
    it is bounded by the route's limit, not the app-wide one sized for imports."""
    from flask import request

    seen = {}

    @app.before_request
    def _open_the_stream():
        seen[request.path] = request.max_content_length
        request.stream  # noqa: B018 - opened here, as a form-reading hook does

    client = login_as("canbo.07210.1")
    token = csrf_token(client, "/worklist")
    response = _post(client, {"visits": []}, token=token)
    assert response.status_code == 200
    assert seen[URL] == MAX_BODY < seen["/worklist"] == app.config["MAX_CONTENT_LENGTH"]


def test_other_methods_and_unknown_api_paths_answer_json(canvasser_client, openapi):
    client, _ = canvasser_client
    wrong_method = client.get(URL)
    assert wrong_method.status_code == 405 and wrong_method.get_json()["code"] == (
        "method_not_allowed"
    )
    missing = client.get("/api/khong-co")
    assert missing.status_code == 404 and missing.get_json()["code"] == "not_found"
    for answer in (wrong_method, missing):
        _conforms(answer.get_json(), _component("ApiError"), openapi)
    # Elsewhere the pages stay HTML.
    assert client.get("/khong-co").mimetype == "text/html"


# --- the OpenAPI document -------------------------------------------------------------------------


def test_the_openapi_document_is_public_and_describes_the_session_and_csrf(client, openapi):
    assert openapi["openapi"].startswith("3.1")
    schemes = openapi["components"]["securitySchemes"]
    assert schemes["csrfToken"] == {**schemes["csrfToken"], "in": "header", "name": "X-CSRFToken"}
    assert schemes["sessionCookie"]["in"] == "cookie"
    sync = openapi["paths"][URL]["post"]
    assert {"sessionCookie": [], "csrfToken": []} in sync["security"]
    assert {"200", "400", "401", "403", "413", "500"} <= set(sync["responses"])
    assert openapi["paths"]["/api/openapi.json"]["get"]["security"] == []


def _openapi_path(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _api_routes(app) -> set[tuple[str, str]]:
    """(OpenAPI path, method) of every /api/ rule the app serves."""
    return {
        (_openapi_path(rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def _documented_routes(doc: dict) -> set[tuple[str, str]]:
    return {
        (path, method)
        for path, operations in doc["paths"].items()
        for method in operations
        if method in {"get", "post", "put", "patch", "delete"}
    }


def test_every_api_route_is_documented_and_every_documented_route_exists(app, openapi):
    routes = _api_routes(app)
    assert {(URL, "post"), ("/api/openapi.json", "get")} <= routes
    assert routes == _documented_routes(openapi)


def test_an_undocumented_api_route_would_be_caught(app):
    @app.post("/api/visits/<int:visit_id>/undo")
    def undo(visit_id):  # pragma: no cover - never called
        return ""

    doc = openapi_document()
    assert _api_routes(app) - _documented_routes(doc) == {("/api/visits/{visit_id}/undo", "post")}


def test_the_documented_examples_match_the_documented_schemas(openapi):
    checked = 0
    for operations in openapi["paths"].values():
        for operation in operations.values():
            for response in operation["responses"].values():
                content = response["content"]["application/json"]
                if "example" in content:
                    _conforms(content["example"], content["schema"], openapi)
                    checked += 1
    assert checked >= 2, "the document should show examples of its answers"
    request = openapi["paths"][URL]["post"]["requestBody"]["content"]["application/json"]
    _conforms(request["example"], request["schema"], openapi)


def test_the_served_document_is_generated_from_the_contract(openapi):
    assert openapi == json.loads(json.dumps(openapi_document()))
    schemas = openapi["components"]["schemas"]
    assert {"SyncRequest", "VisitItem", "OutcomeItem", "SyncResponse", "ItemResult"} <= set(schemas)
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)
    item = schemas["VisitItem"]
    assert item["required"] == ["client_uuid", "household_id", "channel", "visited_at", "outcomes"]
    assert "Unknown fields are ignored" in item["description"]
    assert item["properties"]["outcomes"]["maxItems"] == 50
    assert schemas["SyncRequest"]["properties"]["visits"]["maxItems"] == MAX_BATCH


def test_the_documented_request_example_is_accepted_by_the_checks(openapi):
    request = openapi["paths"][URL]["post"]["requestBody"]["content"]["application/json"]
    for item in request["example"]["visits"]:
        assert parse_item(item).household_id == item["household_id"]


# --- the document and the checks cannot drift apart ----------------------------------------------


def _accepted(household, members) -> list[dict]:
    """Items the API stores, in the shapes a phone may send them."""
    person = members[0].id
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    return [
        _visit(household, members),
        _visit(household, members, visited_at=an_hour_ago.strftime("%Y-%m-%dT%H:%M:%SZ")),
        _visit(household, members, client_uuid=str(uuid.uuid4()).upper(), channel="meeting"),
        _visit(
            household,
            members,
            channel="home",
            note=None,
            latitude=21,
            longitude=106.5,
            accuracy_m=0,
            scope_token=None,
            phone_model="Galaxy A12",  # unknown fields are ignored
        ),
        _visit(household, members, note="x" * 2000, scope_token="không phải mã của chúng tôi"),
        _visit(
            household,
            members,
            outcomes=[
                {
                    "person_id": person,
                    "outcome": "refused",
                    "refusal_reason": "no_money",
                    "follow_up_on": None,
                    "amount": None,
                }
            ],
        ),
        _visit(
            household,
            members,
            outcomes=[{"person_id": person, "outcome": "not_home", "months_paid": 0, "x": [1]}],
        ),
        _visit(
            household,
            members,
            outcomes=[
                {
                    "person_id": person,
                    "outcome": "enrolled_new",
                    "months_paid": 12,
                    "amount": 1_000_000_000,
                    "receipt_number": "BL-0001",
                }
            ],
        ),
    ]


def _refused(household, members) -> list[tuple[object, str]]:
    """Items the API refuses whatever the database holds, with the field it names."""
    person = members[0].id

    def outcome(**fields) -> dict:
        return _visit(household, members, outcomes=[{"person_id": person, **fields}])

    one = {"person_id": person, "outcome": "not_home"}
    return [
        (17, "item"),
        ("rác", "item"),
        (None, "item"),
        ([], "item"),
        (_visit(household, members, client_uuid=None), "client_uuid"),
        (_visit(household, members, client_uuid="1234"), "client_uuid"),
        (
            {k: v for k, v in _visit(household, members).items() if k != "household_id"},
            "household_id",
        ),
        (_visit(household, members, household_id="1"), "household_id"),
        (_visit(household, members, household_id=0), "household_id"),
        (_visit(household, members, household_id=2**31), "household_id"),
        (_visit(household, members, household_id=True), "household_id"),
        (_visit(household, members, channel="bay"), "channel"),
        (_visit(household, members, channel=""), "channel"),
        (_visit(household, members, channel=None), "channel"),
        (_visit(household, members, visited_at="2026-11-22T09:15:00"), "visited_at"),
        (_visit(household, members, visited_at="2026-11-22"), "visited_at"),
        (_visit(household, members, visited_at="22/11/2026 09:15"), "visited_at"),
        (_visit(household, members, visited_at="1999-12-31T23:00:00+07:00"), "visited_at"),
        (_visit(household, members, visited_at=1763780100), "visited_at"),
        (_visit(household, members, outcomes=[]), "outcomes"),
        (_visit(household, members, outcomes=one), "outcomes"),
        (_visit(household, members, outcomes=[one] * 51), "outcomes"),
        (_visit(household, members, outcomes=[7]), "outcomes[0]"),
        (_visit(household, members, outcomes=[{"outcome": "moved"}]), "outcomes[0].person_id"),
        (_visit(household, members, outcomes=[{**one, "person_id": "2"}]), "outcomes[0].person_id"),
        (outcome(outcome="bogus"), "outcomes[0].outcome"),
        (outcome(outcome="promised", follow_up_on="2026-02-30"), "outcomes[0].follow_up_on"),
        (outcome(outcome="promised", follow_up_on="30/11/2026"), "outcomes[0].follow_up_on"),
        (outcome(outcome="refused", refusal_reason="r" * 25), "outcomes[0].refusal_reason"),
        (outcome(outcome="refused", refusal_reason=["no_money"]), "outcomes[0].refusal_reason"),
        (outcome(outcome="renewed", months_paid=-1), "outcomes[0].months_paid"),
        (outcome(outcome="promised", amount=1.5), "outcomes[0].amount"),
        (outcome(outcome="promised", amount=10**12), "outcomes[0].amount"),
        (outcome(outcome="renewed", receipt_number="B" * 41), "outcomes[0].receipt_number"),
        (outcome(outcome="renewed", receipt_number="B\x00"), "outcomes[0].receipt_number"),
        (_visit(household, members, note="x" * 2001), "note"),
        (_visit(household, members, note="a\x00b"), "note"),
        (_visit(household, members, note=["ghi chú"]), "note"),
        (_visit(household, members, latitude=91), "latitude"),
        (_visit(household, members, latitude="21.2"), "latitude"),
        (_visit(household, members, longitude=False), "longitude"),
        (_visit(household, members, accuracy_m=-1), "accuracy_m"),
        (_visit(household, members, scope_token=5), "scope_token"),
        (_visit(household, members, scope_token="t" * 501), "scope_token"),
    ]


def _fields_refused_by(validator: Draft202012Validator, item: object) -> set[str]:
    """The fields the document blames, named like the API's error keys (`outcomes[0].amount`)."""
    fields = set()
    for error in validator.iter_errors(item):
        paths = [list(error.absolute_path)]
        if error.validator == "required":
            missing = [name for name in error.validator_value if name not in error.instance]
            paths = [[*paths[0], name] for name in missing]
        for path in paths:
            key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path)
            fields.add(key.removeprefix(".") or "item")
    return fields


def test_the_document_accepts_what_the_api_stores_and_refuses_what_it_refuses(
    canvasser_client, session, mine, openapi
):
    client, token = canvasser_client
    accepted, refused = _accepted(*mine), _refused(*mine)
    item = _validator(openapi, _component("VisitItem"))
    for sent in accepted:
        assert not list(item.iter_errors(sent)), sent
    for sent, field in refused:
        assert _fields_refused_by(item, sent) == {field}, (sent, field)
    _conforms({"visits": accepted}, _documented_request(openapi), openapi)
    # The document asks for good items; the API takes any JSON value and rejects a bad item alone.
    batch = {"visits": accepted + [sent for sent, _ in refused]}

    before = _count(session)
    body = _post(client, batch, token=token).get_json()
    _conforms(body, _documented(openapi, URL, "post", 200), openapi)
    results = body["results"]
    assert [r["status"] for r in results[: len(accepted)]] == ["stored"] * len(accepted), results
    for result, (sent, field) in zip(results[len(accepted) :], refused, strict=True):
        assert result["status"] == "rejected" and set(result["errors"]) == {field}, (sent, result)
    assert _count(session) == before + len(accepted)


def _documented_request(doc: dict) -> dict:
    return doc["paths"][URL]["post"]["requestBody"]["content"]["application/json"]["schema"]


def test_the_document_and_the_checks_differ_only_where_json_schema_cannot_say_it(
    canvasser_client, mine, openapi
):
    client, token = canvasser_client
    h, members = mine
    item = _validator(openapi, _component("VisitItem"))
    # JSON Schema counts 1.0 as an integer, and a lone surrogate as a character: the API refuses
    # both (an id is written 1; a note must be text PostgreSQL can store).
    stricter = [
        (_visit(h, members, household_id=float(h.id)), "household_id"),
        (_visit(h, members, note="\ud800"), "note"),
    ]
    # Any spelling Python's uuid reads is taken (the description says so); format "uuid" is the
    # hyphenated one.
    looser = [
        _visit(h, members, client_uuid=uuid.uuid4().hex),
        _visit(h, members, client_uuid=f"{{{uuid.uuid4()}}}"),
    ]
    for sent, _field in stricter:
        assert not list(item.iter_errors(sent))
    for sent in looser:
        assert _fields_refused_by(item, sent) == {"client_uuid"}
    body = _post(client, {"visits": [s for s, _ in stricter] + looser}, token=token).get_json()
    assert [set(r["errors"]) for r in body["results"][:2]] == [{f} for _, f in stricter]
    assert [r["status"] for r in body["results"][2:]] == ["stored", "stored"]
