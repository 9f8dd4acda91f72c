"""The Grafana dashboard in deploy/grafana/ reads the metrics /metrics exports, by their names."""

import json
import re

import pytest
from django.conf import settings
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from tests.helpers import purge_module_queues
from tests.observed import METRICS_TOKEN

pytestmark = pytest.mark.django_db(transaction=True)

SAMPLE_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def _dashboard() -> dict:
    return json.loads((settings.BASE_DIR / "deploy" / "grafana" / "blipay.json").read_text())


def _exported(django_settings) -> dict[str, str]:
    """Every sample name /metrics can show → its family, for Blipay's own families."""
    django_settings.BLIPAY_METRICS_TOKEN = METRICS_TOKEN
    purge_module_queues()  # the queue gauges exist once the queues do
    body = APIClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}").content.decode()
    return {
        f"{family.name}{suffix}": family.name
        for family in text_string_to_metric_families(body)
        if family.name.startswith("blipay_")
        for suffix in SAMPLE_SUFFIXES[family.type]
    }


def test_every_expression_names_only_metrics_blipay_exports(settings):
    exported = _exported(settings)
    targets = [target for panel in _dashboard()["panels"] for target in panel.get("targets", [])]
    assert targets
    for target in targets:
        named = set(re.findall(r"\bblipay_[a-z_]+", target["expr"]))
        assert named, target["expr"]
        assert named <= exported.keys(), f"{target['expr']} names {named - exported.keys()}"


def test_every_metric_blipay_exports_has_a_panel(settings):
    families = set(_exported(settings).values())
    exprs = " ".join(target["expr"] for panel in _dashboard()["panels"] for target in panel.get("targets", []))
    used = {family for family in families if re.search(rf"\b{family}(_total|_bucket|_count|_sum)?\b", exprs)}
    assert families - used == set()


def test_panels_do_not_overlap_and_ids_are_unique():
    panels = _dashboard()["panels"]
    assert len({panel["id"] for panel in panels}) == len(panels)
    cells = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24
        columns, rows = range(grid["x"], grid["x"] + grid["w"]), range(grid["y"], grid["y"] + grid["h"])
        area = {(x, y) for x in columns for y in rows}
        assert not cells & area, panel["title"]
        cells |= area
