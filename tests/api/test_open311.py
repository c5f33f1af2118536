"""Open311 GeoReport v2, driven the way the spec's examples call it (form-encoded POST,
``api_key`` and ``jurisdiction_id`` parameters, ``.json`` resources, array answers)."""

from __future__ import annotations

from urllib.parse import urlencode

import orjson
import pytest
from api_world import COUNTY, OTHER_COUNTY_VILLAGE, VILLAGE, Api
from history import TOPICS, History, event

from gridflow.api.projection import apply_batch

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def database_kind() -> str:
    """The HTTP layer's rules do not depend on the database: SQLite only (the queries are
    tested on both in test_projection.py and test_cases_feedback.py)."""
    return "sqlite"


async def test_services_list_the_catalogue_in_the_specs_shape(api: Api) -> None:
    r = await api.client.get("/open311/v2/services.json", params={"jurisdiction_id": "cq.gov.cn"})
    assert r.status_code == 200
    services = r.json()
    assert len(services) == len(api.ctx.catalogue.categories)
    first = services[0]
    assert set(first) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    assert first["metadata"] is False and first["type"] == "realtime"


async def test_unknown_jurisdiction_is_404_in_the_specs_error_format(api: Api) -> None:
    r = await api.client.get("/open311/v2/services.json", params={"jurisdiction_id": "sf.gov"})
    assert r.status_code == 404
    assert r.json() == [{"code": 404, "description": "jurisdiction_id sf.gov not found"}]


def spec_example(**override: str) -> dict[str, str]:
    """The spec's POST example, with this city's codes and a village's address_id."""
    form = {
        "api_key": "t-app",
        "jurisdiction_id": "cq.gov.cn",
        "service_code": "SJ0102",
        "lat": "29.55",
        "long": "106.57",
        "address_string": "解放碑步行街",
        "address_id": VILLAGE,
        "email": "smit333@example.org",
        "device_id": "tt222111",
        "account_id": "123456",
        "first_name": "john",
        "last_name": "smith",
        "phone": "13812345678",
        "description": "菜市场旁垃圾堆积无人清运",
        "media_url": "http://example.com/images/a.jpg",
    }
    form.update(override)
    return {k: v for k, v in form.items() if v}


async def test_a_request_becomes_an_open311_grid_event_without_personal_data(api: Api) -> None:
    r = await api.client.post(
        "/open311/v2/requests.json", content=urlencode(spec_example()), headers=FORM
    )
    assert r.status_code == 200, r.text
    ((created,),) = [r.json()]
    assert created["service_request_id"].startswith("o311-") and created["account_id"] == "123456"
    assert created["service_notice"]
    ((topic, key, value),) = api.sink.records
    sent = orjson.loads(value)
    assert topic == api.ctx.events_topic and key == VILLAGE.encode()
    assert sent["source_network"] == "open311" and sent["category"] == "SJ0102"
    assert sent["location"] == {"lat": 29.55, "lon": 106.57}
    assert sent["attachments"] == ["http://example.com/images/a.jpg"]
    assert sent["reporter"] == {"id": "123456", "role": "citizen"}
    assert b"13812345678" not in value and b"smit333" not in value and b"smith" not in value


async def test_the_networks_own_codes_are_mapped(api: Api) -> None:
    r = await api.client.post(
        "/open311/v2/requests.json",
        content=urlencode(spec_example(service_code="pothole")),
        headers=FORM,
    )
    assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("override", "status", "words"),
    [
        ({"service_code": ""}, 400, "service_code is required"),
        ({"service_code": "NOPE"}, 400, "service_code NOPE not found"),
        ({"lat": "", "long": "", "address_string": "", "address_id": ""}, 400, "lat and long"),
        ({"address_id": ""}, 400, "address_id"),
        ({"address_id": "500103001999"}, 400, "not a village"),
        ({"address_id": OTHER_COUNTY_VILLAGE}, 403, "outside"),
        ({"api_key": ""}, 401, "Bearer"),
        ({"api_key": "wrong"}, 401, "unknown token"),
        ({"api_key": "t-ops"}, 403, "may not"),
        ({"lat": "north"}, 400, "lat must be a number"),
    ],
    ids=[
        "no-service",
        "unknown-service",
        "no-location",
        "coordinates-only",
        "unknown-address",
        "other-region",
        "no-key",
        "bad-key",
        "ops-key",
        "bad-lat",
    ],
)
async def test_bad_requests_get_the_specs_error_array(
    api: Api, override: dict[str, str], status: int, words: str
) -> None:
    r = await api.client.post(
        "/open311/v2/requests.json", content=urlencode(spec_example(**override)), headers=FORM
    )
    assert r.status_code == status, r.text
    (error,) = r.json()
    assert error["code"] == status and words in error["description"]
    assert api.sink.records == []


async def test_request_status_comes_from_the_case(api: Api) -> None:
    h = History(VILLAGE)
    (d, *_) = h.report(event("o311-abc", VILLAGE, network="open311"))
    async with api.ctx.engine.begin() as conn:
        await apply_batch(conn, TOPICS, h.records)
    r = await api.client.get("/open311/v2/requests/o311-abc.json", params={"api_key": "t-app"})
    assert r.status_code == 200, r.text
    (req,) = r.json()
    assert req["service_request_id"] == "o311-abc" and req["status"] == "open"
    assert req["agency_responsible"].endswith(f"({d.center_code})")
    assert req["expected_datetime"] is not None and req["address_id"] == VILLAGE
    listed = await api.client.get(
        "/open311/v2/requests.json", params={"api_key": "t-app", "status": "open"}
    )
    assert [x["service_request_id"] for x in listed.json()] == [d.case_id]
    by_ids = await api.client.get(
        "/open311/v2/requests.json",
        params={"api_key": "t-app", "service_request_id": f"o311-abc,{d.case_id}"},
    )
    assert [x["service_request_id"] for x in by_ids.json()] == ["o311-abc", d.case_id]
    missing = await api.client.get(
        "/open311/v2/requests/o311-nope.json", params={"api_key": "t-app"}
    )
    assert missing.status_code == 404 and missing.json()[0]["code"] == 404


@pytest.mark.parametrize("path", ["/open311/v2/requests.json", "/open311/v2/requests/o311-x.json"])
async def test_reading_requests_needs_a_key_of_the_region(api: Api, path: str) -> None:
    assert (await api.client.get(path)).status_code == 401
    assert (await api.client.get(path, params={"api_key": "t-ops"})).status_code == 403
    other = await api.client.get(
        "/open311/v2/requests.json",
        params={"api_key": "t-other-county", "service_request_id": f"{COUNTY[:6]}001003-x"},
    )
    assert other.status_code == 403 and other.json()[0]["code"] == 403
