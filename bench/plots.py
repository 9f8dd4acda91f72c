"""PNG plots of a run: throughput over time and latency distributions."""

from collections.abc import Sequence
from pathlib import Path

from matplotlib.axes import Axes
from matplotlib.figure import Figure as Canvas

from bench.figures.api_payments import TARGET_P99_MS
from bench.report import Figure

OURS, ANCHOR, CEILING = "tab:blue", "tab:orange", "tab:gray"


def write(figures: Sequence[Figure], folder: Path) -> list[Path]:
    """One PNG per measured figure, plus ``latest.png`` with all of them."""
    by_name = {f.name: f for f in figures if f.skipped is None}
    panels = [(file, draw) for file, needs, draw in _PANELS if needs in by_name]
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for file, draw in panels:
        fig = Canvas(figsize=(6.4, 4.2))
        ax = fig.subplots()
        draw(ax, by_name)
        fig.tight_layout()
        written.append(_save(fig, folder / f"{file}.png"))
    if panels:
        columns = (len(panels) + 1) // 2
        fig = Canvas(figsize=(6.4 * columns, 8.4))
        axes = fig.subplots(2, columns, squeeze=False)
        for ax, (_, draw) in zip(axes.flat, panels, strict=False):
            draw(ax, by_name)
        for ax in list(axes.flat)[len(panels) :]:
            ax.set_visible(False)
        fig.suptitle("make bench: Blipay's event backbone and API vs anchors (PostgreSQL + RabbitMQ, localhost)")
        fig.tight_layout()
        written.append(_save(fig, folder / "latest.png"))
    return written


def _save(fig: Canvas, path: Path) -> Path:
    fig.savefig(path, dpi=90)  # a bare Figure renders with Agg: no pyplot, no display
    return path


def _ours_and_anchor(ax: Axes, figure: Figure, count: str) -> None:
    """Both sides' running count over time, labelled with their rates."""
    for side, color, label, rate in (
        ("ours", OURS, figure.ours_label, figure.ours),
        ("anchor", ANCHOR, figure.anchor_label, figure.anchor),
    ):
        ax.plot(figure.series[side]["t"], figure.series[side][count], color=color, label=f"{label}: {rate:,.0f}/s")


def _drain(ax: Axes, figures: dict[str, Figure]) -> None:
    relay = figures["relay_throughput"]
    _ours_and_anchor(ax, relay, "arrived")
    ceiling = figures.get("relay_ceiling")
    if ceiling is not None and ceiling.series.get("ceiling"):
        ax.plot(
            ceiling.series["ceiling"]["t"],
            ceiling.series["ceiling"]["arrived"],
            color=CEILING,
            linestyle="--",
            label=f"ceiling, py-amqp, no database: {ceiling.anchor:,.0f}/s",
        )
    ax.set(
        title="Figures 1 and 3: draining 10,000 outbox rows",
        xlabel="seconds since the first message",
        ylabel="messages at the broker",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def _latency(ax: Axes, figures: dict[str, Figure]) -> None:
    latency = figures["relay_latency_p99"]
    for key, color, label in (("ours", OURS, latency.ours_label), ("anchor", ANCHOR, latency.anchor_label)):
        values = sorted(latency.series[key]["ms"])
        if not values:
            continue
        share = [(i + 1) / len(values) for i in range(len(values))]
        p50, p99 = latency.details[key]["p50_ms"], latency.details[key]["p99_ms"]
        ax.plot(values, share, color=color, label=f"{label}: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    ax.set_xscale("log")
    ax.axvline(50, color="red", linestyle=":", label="target p99 50 ms")
    ax.set(
        title="Figure 2: commit-to-broker latency at 50 events/s (CDF)",
        xlabel="ms (log scale)",
        ylabel="share of events",
    )
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, which="both")


def _latency_over_time(ax: Axes, figures: dict[str, Figure]) -> None:
    latency = figures["relay_latency_p99"]
    for key, color in (("ours", OURS), ("anchor", ANCHOR)):
        ax.plot(
            latency.series[key]["t"],
            latency.series[key]["ms"],
            ".",
            markersize=2,
            color=color,
            label=getattr(latency, f"{key}_label"),
        )
    ax.set_yscale("log")
    ax.set(title="Figure 2: latency of each event over the run", xlabel="seconds", ylabel="ms (log scale)")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")


def _consumer(ax: Axes, figures: dict[str, Figure]) -> None:
    consumer = figures["consumer_throughput"]
    _ours_and_anchor(ax, consumer, "applied")
    ax.set(title="Figure 4: one consumer process applying 10,000 events", xlabel="seconds", ylabel="events applied")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)


def _api(ax: Axes, figures: dict[str, Figure]) -> None:
    api = figures["api_payments"]
    concurrency = figures["api_payments_p99"].details.get("concurrency") if "api_payments_p99" in figures else None
    lines = (
        ("ours", OURS, "-", api.ours_label),
        ("keyed", OURS, ":", f"{api.ours_label} + Idempotency-Key"),
        ("anchor", ANCHOR, "-", api.anchor_label),
    )
    for key, color, style, label in lines:
        run = api.series.get(key)
        if not run:
            continue
        share = [percent / 100 for percent in run["percent"]]
        p99 = run["ms"][run["percent"].index(99)]
        text = f"{label}: {run['per_s']:,.0f}/s, p99 {p99:.0f} ms"
        ax.plot(run["ms"], share, color=color, linestyle=style, label=text)
    ax.set_xscale("log")
    ax.axvline(TARGET_P99_MS, color="red", linestyle=":", label=f"target p99 {TARGET_P99_MS:.0f} ms")
    ax.set(
        title=f"Figure 5: API latency under load (wrk, {concurrency} connections, CDF)",
        xlabel="ms per request (log scale)",
        ylabel="share of requests",
    )
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, which="both")


def _proxy(ax: Axes, figures: dict[str, Figure]) -> None:
    proxy = figures["proxy_p50"]
    for way, color in (("direct", ANCHOR), ("strangler", OURS), ("nginx", CEILING)):
        run = proxy.series.get(way)
        if not run:
            continue
        share = [percent / 100 for percent in run["percent"]]
        p50 = run["ms"][run["percent"].index(50)]
        ax.plot(run["ms"], share, color=color, label=f"{run['label']}: {run['per_s']:,.0f}/s, p50 {p50:.1f} ms")
    ax.set_xscale("log")
    ax.set(
        title="Figure 6: GET notifications, the service direct or through a proxy (CDF)",
        xlabel="ms per request (log scale)",
        ylabel="share of requests",
    )
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(alpha=0.3, which="both")


# (PNG file name, the figure it draws, how)
_PANELS = [
    ("relay_throughput", "relay_throughput", _drain),
    ("relay_latency", "relay_latency_p99", _latency),
    ("consumer_throughput", "consumer_throughput", _consumer),
    ("relay_latency_over_time", "relay_latency_p99", _latency_over_time),
    ("api_payments", "api_payments", _api),
    ("proxy_overhead", "proxy_p50", _proxy),
]
