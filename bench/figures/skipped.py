"""Figure 6 waits for what it measures: it prints its skip line until then.

To add one, write ``bench/figures/<name>.py`` with ``run(context) -> list[Figure]`` and
put it in ``bench.figures.FIGURES`` in place of its entry here.
"""

from bench.context import Context
from bench.report import Figure, skipped


def proxy_overhead(context: Context) -> list[Figure]:
    # One line for figure 6 (p50 and p99 come together once the proxy exists).
    return [skipped("proxy_overhead_p50", "strangler proxy not built yet (strangler/ has no proxy)")]
