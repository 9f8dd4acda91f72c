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


Snapshot = dict[str, dict[int, float]]  # name: {pid: CPU seconds so far}


def snapshot(trees: Mapping[str, int]) -> Snapshot:
    """CPU seconds so far of each process of each named tree (a gunicorn master and its
    workers, a Celery worker and its children), of PostgreSQL, of RabbitMQ, and of the
    machine (as pid 0)."""
    seconds: Snapshot = {name: {} for name in [*trees, POSTGRES, RABBITMQ]}
    roots = {pid: name for name, pid in trees.items()}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        pid, command = int(stat.parent.name), text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        name = roots.get(pid) or roots.get(int(fields[1])) or _COMMANDS.get(command)
        if name:
            seconds[name][pid] = (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime
    with open("/proc/stat") as machine:
        ticks = [int(x) for x in machine.readline().split()[1:]]
    seconds[MACHINE] = {0: (sum(ticks) - ticks[3] - ticks[4]) / _TICK}  # all but idle and iowait
    return seconds


def ms_per(before: Snapshot, after: Snapshot, count: int) -> dict[str, float]:
    """Milliseconds of CPU each named set of processes spent per one of ``count`` requests
    between two snapshots. By process, so one that ended between them (a PostgreSQL backend
    closed) takes nothing away; what it spent in its last moments goes uncounted."""
    return {
        name: round(
            sum(used - before[name].get(pid, 0.0) for pid, used in after[name].items()) * 1000 / max(count, 1), 3
        )
        for name in before
    }
