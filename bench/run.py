"""One run of the bench, once Django is set up on ``bench.settings``."""

import os
import time

from django.conf import settings
from django.core.management import call_command

from bench import env, plots, replica
from bench.context import Context
from bench.figures import FIGURES
from bench.report import Figure, now, write_json

LATEST = env.RESULTS / "latest.json"
BUSY_LOAD = 0.7  # 1-minute load average above which another job is competing for the 2 cores


def run(*, only: list[str] | None, quick: bool) -> int:
    unknown = set(only or []) - set(FIGURES)
    if unknown:
        print(f"bench: unknown figure(s) {sorted(unknown)}; known: {', '.join(FIGURES)}")
        return 2
    started, clock = now(), time.perf_counter()
    env.RESULTS.mkdir(parents=True, exist_ok=True)  # a figure run alone writes its logs there first
    _warn_if_busy()
    _prepare()
    context = Context(quick=quick)
    for name, figure_run in FIGURES.items():
        if only and name not in only:
            continue
        print(f"bench: {name} …", flush=True)
        for figure in figure_run(context):
            context.figures[figure.name] = figure
            print(f"  {_verdict(figure)}", flush=True)
    figures = list(context.figures.values())
    write_json(LATEST, figures, started=started, seconds=time.perf_counter() - clock)
    for path in plots.write(figures, env.RESULTS):
        print(f"bench: wrote {path.relative_to(env.ROOT)}")
    print(f"bench: wrote {LATEST.relative_to(env.ROOT)} ({time.perf_counter() - clock:.0f} s)")
    for figure in figures:
        print(figure.line())
    return 0


def _prepare() -> None:
    """A fresh bench database with Blipay's tables and the bench's replica table."""
    print(f"bench: recreating database {settings.DATABASES['default']['NAME']} …", flush=True)
    env.recreate_database(settings.DATABASES["default"])
    call_command("migrate", verbosity=0)
    replica.create_table()


def _warn_if_busy() -> None:
    """Figures are only comparable on an otherwise idle machine: say so when it isn't."""
    load = os.getloadavg()[0]
    if load > BUSY_LOAD:
        print(f"bench: WARNING the machine is busy (load average {load:.1f}): figures will be low and noisy")


def _verdict(figure: Figure) -> str:
    if figure.skipped is not None:
        return f"{figure.name}: skipped ({figure.skipped})"
    mark = {True: "target met", False: "TARGET MISSED", None: "no target"}[figure.met]
    return f"{figure.line()}  [{'; '.join(figure.targets)}: {mark}]"
