"""`make mutate`'s verdict: the share of mutants the tests killed, from mutmut's summary
(``mutmut export-cicd-stats``). Exits 1 below the threshold.

A mutant is killed when a test failed, or when it ran past its time (an endless loop the
tests would notice). Every other mutant counts against the score, those no test reaches
included; docs/conventions.md lists the survivors judged equivalent to the code."""

import argparse
import json
import sys
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stats", type=Path, help="mutants/mutmut-cicd-stats.json")
    parser.add_argument("--min", type=float, default=90.0, help="the least kill ratio that passes, in percent")
    args = parser.parse_args()

    stats = json.loads(args.stats.read_text())
    counted = stats["total"] - stats["skipped"]
    killed = stats["killed"] + stats["timeout"]
    if counted <= 0:
        print("mutation score: no mutant was tested", file=sys.stderr)
        return 1
    ratio = 100 * killed / counted
    print(
        f"mutation score: {killed}/{counted} mutants killed = {ratio:.1f}% (at least {args.min:g}% needed); "
        f"survived {stats['survived']}, reached by no test {stats['no_tests']}, suspicious {stats['suspicious']}"
    )
    return 0 if ratio >= args.min else 1


if __name__ == "__main__":
    sys.exit(main())
