from django.apps import AppConfig


class EventSinkConfig(AppConfig):
    """A module that exists only in tests: it publishes and consumes test events."""

    name = "tests.eventsink"
    label = "eventsink"
