"""Compatibility is checked here, not remembered: every registered (type, version) is
compared with the committed snapshot. A schema already published never changes; a new
type or version is added to the snapshot deliberately, with

    BLIPAY_SCHEMA_SNAPSHOT=add pytest tests/blipay/events/test_schema_snapshot.py

which writes the new entries and leaves every existing one as it is.
"""

import json
import os
from pathlib import Path

from blipay.events.registry import event_types

SNAPSHOT = Path(__file__).with_name("schemas.snapshot.json")


def _published() -> dict[str, dict]:
    """The contract of every type Blipay's modules publish (test and bench types aside)."""
    return {
        t.routing_key: {"schema": t.schema, "state": t.state}
        for t in event_types()
        if t.payload.__module__.startswith("apps.")
    }


def test_no_published_schema_changed_and_none_disappeared():
    snapshot = json.loads(SNAPSHOT.read_text())
    registered = json.loads(json.dumps(_published()))  # tuples and the like as JSON has them

    changed = sorted(key for key in snapshot if key in registered and registered[key] != snapshot[key])
    gone = sorted(set(snapshot) - set(registered))

    assert not changed, f"published schemas changed: {changed}; add a new version instead"
    assert not gone, f"published types no longer registered: {gone}; consumers may still read them"


def test_every_registered_type_is_in_the_snapshot():
    snapshot = json.loads(SNAPSHOT.read_text())
    new = {key: value for key, value in _published().items() if key not in snapshot}
    if new and os.environ.get("BLIPAY_SCHEMA_SNAPSHOT") == "add":
        SNAPSHOT.write_text(json.dumps(snapshot | new, indent=2, sort_keys=True) + "\n")
        return

    assert not new, f"new event types {sorted(new)}: add them to the snapshot deliberately (see this module)"
