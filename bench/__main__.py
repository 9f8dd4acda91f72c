"""``python -m bench``: set up, run the figures, write the results, print the BENCH lines."""

import argparse
import os
import sys

from bench import env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", nargs="+", metavar="FIGURE", help="run only these figures (default: all)")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, figures not comparable")
    args = parser.parse_args(argv)
    try:
        env.check_urls()
    except env.BenchSetupError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 2
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from bench.run import run

    return run(only=args.only, quick=args.quick)


if __name__ == "__main__":
    sys.exit(main())
