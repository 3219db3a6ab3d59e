"""deploy/grafana/linli.json asks only for what /metrics serves."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "linli.json"


def test_every_query_names_a_served_family(client):
    # Families, whether or not they have samples yet (a labelled one has none
    # before its first count).
    served = {family.name for family in text_string_to_metric_families(client.get("/metrics").text)}
    panels = json.loads(DASHBOARD.read_text())["panels"]
    exprs = [target["expr"] for panel in panels for target in panel.get("targets", [])]
    assert exprs
    asked = {
        re.sub(r"_(bucket|count|sum|total)$", "", name)
        for expr in exprs
        for name in re.findall(r"\blinli_[a-z_]+", expr)
    }
    assert sorted(asked - served) == []
