"""`make mutate`'s verdict: the share of the mutants in scope that the tests killed, read
from ``mutmut results --all true``. Exits 1 below the threshold.

A mutant is killed when a test failed, or when it ran past its time (an endless loop the
tests would notice). Every other mutant in scope counts against the score, those no test
reaches included; docs/conventions.md lists the survivors judged equivalent to the code."""

import argparse
import fnmatch
import sys
from collections import Counter
from pathlib import Path

KILLED = {"killed", "timeout"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="the output of `mutmut results --all true`")
    parser.add_argument("scope", nargs="+", help="the mutant name patterns `mutmut run` was given")
    parser.add_argument("--min", type=float, default=90.0, help="the least kill ratio that passes, in percent")
    args = parser.parse_args()

    statuses: dict[str, str] = {}
    for line in args.results.read_text().splitlines():
        name, _, status = line.strip().rpartition(": ")
        if name and any(fnmatch.fnmatchcase(name, pattern) for pattern in args.scope):
            statuses[name] = status
    counts = Counter(statuses.values())
    counted = len(statuses) - counts["skipped"]
    if counted <= 0 or counts["not checked"]:
        print(f"mutation score: {counts['not checked']} mutant(s) in scope not checked of {counted}", file=sys.stderr)
        return 1
    killed = sum(counts[status] for status in KILLED)
    ratio = 100 * killed / counted
    survivors = sorted(name for name, status in statuses.items() if status not in KILLED | {"skipped"})
    print("\n".join(f"  not killed: {name} ({statuses[name]})" for name in survivors))
    print(
        f"mutation score: {killed}/{counted} mutants killed = {ratio:.1f}% (at least {args.min:g}% needed); "
        + ", ".join(f"{status} {n}" for status, n in sorted(counts.items()))
    )
    return 0 if ratio >= args.min else 1


if __name__ == "__main__":
    sys.exit(main())
