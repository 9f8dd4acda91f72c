"""What the observability tests read: a scrape of /metrics, parsed."""

from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

METRICS_TOKEN = "test-metrics-token-0123456789"


class Scrape:
    """One scrape's samples, looked up by name and labels (a label not named matches any)."""

    def __init__(self, text: str) -> None:
        self.samples = [
            (sample.name, sample.labels, sample.value)
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        ]

    def value(self, name: str, **labels: str) -> float:
        """The sum of ``name``'s samples with these labels (0 when there is none)."""
        return sum(
            value
            for sample, sample_labels, value in self.samples
            if sample == name and all(sample_labels.get(k) == v for k, v in labels.items())
        )

    def has(self, name: str, **labels: str) -> bool:
        return any(
            sample == name and all(sample_labels.get(k) == v for k, v in labels.items())
            for sample, sample_labels, _ in self.samples
        )

    def label_values(self, name: str, label: str) -> set[str]:
        return {labels[label] for sample, labels, _ in self.samples if sample == name and label in labels}


def scrape(settings) -> Scrape:
    """GET /metrics with the metrics token (set in ``settings`` for the test)."""
    settings.BLIPAY_METRICS_TOKEN = METRICS_TOKEN
    response = APIClient().get("/metrics", HTTP_AUTHORIZATION=f"Bearer {METRICS_TOKEN}")
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    return Scrape(response.content.decode())
