"""Where a figure's CPU goes: user + system time per process, read from ``/proc``, so a
figure can say what one request cost each process (its server, the relay, PostgreSQL,
RabbitMQ) and the machine as a whole. A figure that misses its target then names what
limits it from its own run, not from a profile taken another day."""

import os
from collections.abc import Mapping
from pathlib import Path

MACHINE = "machine"  # every core's non-idle time, whoever spent it (wrk and the kernel too)
POSTGRES = "postgres"  # every backend and helper of the server, by command name
RABBITMQ = "rabbitmq"  # the Erlang VM
_COMMANDS = {"postgres": POSTGRES, "beam.smp": RABBITMQ}
_TICK = os.sysconf("SC_CLK_TCK")


def snapshot(trees: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process tree (a gunicorn master and its workers, a
    Celery worker and its children), of PostgreSQL, of RabbitMQ and of the machine."""
    seconds = dict.fromkeys([*trees, POSTGRES, RABBITMQ], 0.0)
    roots = {pid: name for name, pid in trees.items()}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        command, fields = text[text.index("(") + 1 : text.rindex(")")], text.rsplit(")", 1)[1].split()
        used = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
        name = roots.get(int(stat.parent.name)) or roots.get(int(fields[1])) or _COMMANDS.get(command)
        if name:
            seconds[name] += used
    with open("/proc/stat") as machine:
        ticks = [int(x) for x in machine.readline().split()[1:]]
    seconds[MACHINE] = (sum(ticks) - ticks[3] - ticks[4]) / _TICK  # all but idle and iowait
    return seconds


def ms_per(before: Mapping[str, float], after: Mapping[str, float], count: int) -> dict[str, float]:
    """Milliseconds of CPU each process spent per one of ``count`` requests between two snapshots."""
    return {name: round((after[name] - before[name]) * 1000 / max(count, 1), 3) for name in before}
