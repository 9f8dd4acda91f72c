"""Where a figure's CPU goes: user + system time per process, read from ``/proc``, so a
figure can say what one request cost each process (its server, the relay, PostgreSQL,
RabbitMQ) and the machine as a whole. A figure that misses its target then names what
limits it from its own run, not from a profile taken another day."""

import os
from collections.abc import Mapping
from pathlib import Path

MACHINE = "machine"  # every core's non-idle time, whoever spent it (wrk and the kernel too)
POSTGRES = "postgres"  # the server and every backend and helper it started
RABBITMQ = "rabbitmq"  # the Erlang VM and what it started
_COMMANDS = {"postgres": POSTGRES, "beam.smp": RABBITMQ}
_TICK = os.sysconf("SC_CLK_TCK")


def snapshot(trees: Mapping[str, int]) -> dict[str, float]:
    """CPU seconds so far of each named process tree (a gunicorn master and its workers, a
    Celery worker and its children), of PostgreSQL's, of RabbitMQ's and of the machine.

    A tree's time is its root's, its children's, and what the children that have ended
    spent (the root's ``cutime``/``cstime`` once it reaped them): it never goes back when a
    worker or a PostgreSQL backend exits between two snapshots."""
    processes = {}  # pid: (parent, command, own seconds, reaped children's seconds, start time)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue  # ended meanwhile
        fields = text.rsplit(")", 1)[1].split()
        own, reaped = int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
        command = text[text.index("(") + 1 : text.rindex(")")]
        processes[int(stat.parent.name)] = (int(fields[1]), command, own, reaped, int(fields[19]))
    roots = dict(trees)
    servers = sorted(  # the postmaster, not a backend; the oldest VM, not a rabbitmqctl's
        (start, pid, _COMMANDS[command])
        for pid, (parent, command, _, _, start) in processes.items()
        if command in _COMMANDS and processes.get(parent, (0, ""))[1] != command
    )
    for _, pid, name in reversed(servers):
        roots[name] = pid  # the oldest of a kind written last
    seconds = dict.fromkeys([*trees, POSTGRES, RABBITMQ], 0.0)
    for name, root in roots.items():
        members = [pid for pid, (parent, *_) in processes.items() if root in (pid, parent)]
        seconds[name] = sum(processes[pid][2] + processes[pid][3] for pid in members) / _TICK
    with open("/proc/stat") as machine:
        ticks = [int(x) for x in machine.readline().split()[1:]]
    seconds[MACHINE] = (sum(ticks) - ticks[3] - ticks[4]) / _TICK  # all but idle and iowait
    return seconds


def ms_per(before: Mapping[str, float], after: Mapping[str, float], count: int) -> dict[str, float]:
    """Milliseconds of CPU each process tree spent per one of ``count`` requests between two snapshots."""
    return {name: round((after[name] - before[name]) * 1000 / max(count, 1), 3) for name in before}
