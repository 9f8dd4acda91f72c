"""The figures, in the order they run and print. Each is ``run(context) -> list[Figure]``."""

from collections.abc import Callable

from bench.context import Context
from bench.figures import (
    api_payments,
    consumer_throughput,
    growth,
    growth_http,
    proxy_overhead,
    read_model_lag,
    relay_ceiling,
    relay_latency,
    relay_throughput,
)
from bench.report import Figure

Run = Callable[[Context], list[Figure]]

FIGURES: dict[str, Run] = {
    "relay_throughput": relay_throughput.run,
    "relay_latency_p99": relay_latency.run,
    "relay_ceiling": relay_ceiling.run,  # after relay_throughput: it compares against that figure
    "consumer_throughput": consumer_throughput.run,
    "api_payments": api_payments.run,
    "read_model_lag_p99": read_model_lag.run,
    "proxy_overhead": proxy_overhead.run,
    # Before growth, whose relay drains empty the outbox this one fills: both leave large tables behind.
    "growth_http": growth_http.run,
    "growth": growth.run,  # last: it leaves the largest tables behind
}
