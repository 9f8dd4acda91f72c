"""The fault suite's system (started once for the module) and its seed.

``BLIPAY_FAULT_SEED`` picks the traffic (default fixed, so a run is repeatable); a failing
test prints how to run it again with the same seed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.faults.stack import Stack, fault_stack
from tests.faults.traffic import Api, Client, Traffic, World, fault_seed


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    report = yield
    if report.failed and item.get_closest_marker("faults"):
        seed = fault_seed()
        report.sections.append(
            (
                "replay this fault run",
                f"seed {seed}; the same draws again: BLIPAY_FAULT_SEED={seed} make test-faults\n"
                f"this test alone (its own draws, on a world without the earlier tests' members): "
                f"BLIPAY_FAULT_SEED={seed} make test-faults FAULT_TESTS='{item.nodeid}'",
            )
        )
    return report


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with fault_stack("faults") as started:
        yield started


@pytest.fixture(scope="module")
def client(stack: Stack) -> Iterator[Client]:
    """The clients' side: their API access and tally, with a promoted merchant and members
    holding money before any fault."""
    client = Client(Api(stack.url), World(), stack.staff_token)
    traffic = Traffic(client, seed=f"{fault_seed()}:world", rate=1)
    traffic.seed_world()
    traffic.close()
    yield client
    client.api.pool.clear()
