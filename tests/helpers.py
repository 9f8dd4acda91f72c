import time
from collections.abc import Callable


def wait_until(condition: Callable[[], object], *, timeout: float = 15.0, message: str = "condition not met") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} within {timeout}s")
        time.sleep(0.02)
