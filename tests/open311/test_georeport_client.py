"""A third-party Open311 client (PyPI's `georeport`) reads a live Linli in both
formats; the POST is written as the spec's example is: form-encoded."""

from __future__ import annotations

from typing import Any

from georeport import GeoReport

from tests.conftest import World


def test_georeport_reads_what_a_form_post_filed(live: tuple[Any, World], live_server: str) -> None:
    http, world = live
    key = http.post(
        "/v1/integrations",
        json={"name": "12345 热线", "region_id": world.tianshan},
        headers=world.province_admin.headers,
    ).json()["key"]
    http.patch(
        f"/v1/communities/{world.community_a}",
        json={"latitude": 43.8256, "longitude": 87.6168},
        headers=world.province_admin.headers,
    ).raise_for_status()
    filed = []
    for n, code in enumerate(("public.lighting", "repair.plumbing")):
        response = http.post(
            "/open311/v2/requests.json",
            data={
                "api_key": key,
                "jurisdiction_id": str(world.tianshan),
                "service_code": code,
                "lat": "43.8250",
                "long": "87.6160",
                "first_name": "阿依古丽",
                "phone": f"1390000100{n}",
                "description": "3号楼楼道灯不亮",
            },
        )
        assert response.status_code == 201, response.text
        filed.append(response.json()[0]["service_request_id"])

    for fmt in ("json", "xml"):
        client = GeoReport(
            f"{live_server}/open311/v2", jurisdiction=str(world.tianshan), output_format=fmt
        )
        services = client.get_service_list()
        assert "repair.plumbing" in {s["service_code"] for s in services}, fmt
        definition = client.get_service_definition("repair.plumbing")
        assert definition["service_code"] == "repair.plumbing"
        requests = client.get_service_requests(status="open")
        ids = {int(r["service_request_id"]) for r in requests}
        assert set(filed) <= ids, (fmt, ids)
        both = client.get_service_requests(service_request_id=",".join(map(str, filed)))
        assert sorted(int(r["service_request_id"]) for r in both) == sorted(filed)
        one = client.get_service_request(str(filed[0]))
        assert int(one["service_request_id"]) == filed[0]
        assert one["service_code"] == "public.lighting"
        assert one["status"] == "open"
        assert int(one["address_id"]) == world.community_a
