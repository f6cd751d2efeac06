"""Report figures as PNG bytes (matplotlib Agg), reproducible: fixed size and dpi, no metadata
(``Software`` removed), fonts from matplotlib's bundled DejaVu Sans with the project's Noto Sans CJK
SC subset as fallback (:mod:`hepatrial.fonts`); text is drawn as written (no mathtext)."""

from __future__ import annotations

import datetime as dt
import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from hepatrial.fonts import configure_matplotlib
from hepatrial.tlf.format import superscripts

configure_matplotlib()
plt.rcParams.update(
    {
        "font.size": 9,
        "svg.hashsalt": "hepatrial",
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)
POOLED_COLOUR = "#333333"
SITE_COLOURS = (
    "#4477AA",
    "#EE6677",
    "#228833",
    "#CCBB44",
    "#66CCEE",
    "#AA3377",
    "#BBBBBB",
    "#000000",
)


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def _month_start(m: str) -> dt.date:
    return dt.date.fromisoformat(m + "-01")


def enrolment_figure(
    series: dict[str, list[tuple[str, float]]],
    colours: dict[str, str],
    planned: int | None,
    months_planned: float | None,
    title: str,
    verb: str = "randomised",
) -> bytes:
    """Cumulative subjects ``verb`` (randomised, enrolled) by month per series, with the planned
    linear accrual line (planned subjects over ``enrolment_months`` from the first month)."""
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    first = None
    # arms randomised 1:1 have near-equal counts: distinct line styles and widths keep each visible
    styles = [("-", 2.6), ("--", 1.6), (":", 1.6), ("-.", 1.4)]
    for k, (name, pts) in enumerate(series.items()):
        if not pts:
            continue
        xs = [_month_start(m) for m, _ in pts]
        first = min(first, xs[0]) if first else xs[0]
        ls, lw = styles[k % len(styles)] if len(series) <= 4 else ("-", 1.4)
        ax.step(
            xs,
            [v for _, v in pts],
            where="post",
            label=superscripts(name),  # an arm "Low 1x10^6/kg": 1x10⁶/kg, as the tables print it
            color=colours.get(name, POOLED_COLOUR),
            lw=lw,
            ls=ls,
        )
    if planned and months_planned and first:
        end = first + dt.timedelta(days=round(30.4375 * months_planned))
        ax.plot(
            [first, end],
            [0, planned],
            ls="--",
            color="#888888",
            lw=1,
            label=f"plan ({planned} in {months_planned:g} months)",
        )
    ax.set_ylabel(f"subjects {verb} (cumulative)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, ncol=3, frameon=False, loc="upper left")
    fig.autofmt_xdate()
    fig.tight_layout()
    return png(fig)


def km_figure(
    curves: dict[str, tuple[list[float], list[float]]],
    colours: dict[str, str],
    title: str,
    ylabel: str = "event-free probability",
) -> bytes:
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for name, (t, s) in curves.items():
        ax.step(t, s, where="post", label=name, color=colours.get(name, POOLED_COLOUR), lw=1.4)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("days from the analysis origin (day 1)")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, frameon=False, loc="lower left")
    fig.tight_layout()
    return png(fig)


def boundary_figure(
    bounds: list[dict], looks: list[dict], current: int | None, title: str
) -> bytes:
    """Group-sequential boundaries on the Z scale against the information fraction, and the
    observed looks as points joined in order (the current look filled and labelled, earlier looks
    open). ``bounds``: per look ``info_frac``, ``z_efficacy``, ``z_futility`` (None without),
    ``z_futility_cp`` (optional), ``observed`` (a look done); ``looks``: ``look``, ``info_frac``,
    ``z``, ``cut``. Two-sided designs draw the lower efficacy bound as -z_efficacy when
    ``bounds`` carries ``two_sided``."""
    fig, ax = plt.subplots(figsize=(6.8, 3.8))
    t = [b["info_frac"] for b in bounds]
    eff = [b["z_efficacy"] for b in bounds]
    ax.plot(t, eff, color="#AA3377", lw=1.6, marker="s", ms=4, label="efficacy bound")
    if any(b.get("two_sided") for b in bounds):
        ax.plot(
            t,
            [-z for z in eff],
            color="#AA3377",
            lw=1.6,
            marker="s",
            ms=4,
            ls="--",
            label="efficacy bound (harm direction)",
        )
    fut = [(b["info_frac"], b["z_futility"]) for b in bounds if b.get("z_futility") is not None]
    if fut:
        ax.plot(
            *zip(*fut),
            color="#4477AA",
            lw=1.6,
            marker="s",
            ms=4,
            label="futility bound (beta spending)",
        )
    cp = [
        (b["info_frac"], b["z_futility_cp"]) for b in bounds if b.get("z_futility_cp") is not None
    ]
    if cp:
        ax.plot(
            *zip(*cp),
            color="#66CCEE",
            lw=0,
            marker="v",
            ms=6,
            label="conditional-power futility threshold",
        )
    ax.axhline(0, color="#999999", lw=0.6)
    pts = sorted(looks, key=lambda x: x["info_frac"])
    if pts:
        ax.plot(
            [p["info_frac"] for p in pts],
            [p["z"] for p in pts],
            color=POOLED_COLOUR,
            lw=0.8,
            ls=":",
        )
        for p in pts:
            now = p["look"] == current
            ax.plot(
                p["info_frac"],
                p["z"],
                marker="o",
                ms=8 if now else 6,
                mfc=POOLED_COLOUR if now else "white",
                mec=POOLED_COLOUR,
                mew=1.4,
                lw=0,
                label="this data cut" if now else None,
            )
            ax.annotate(
                f"look {p['look']}" + (f"\n{p['cut']}" if p.get("cut") else ""),
                (p["info_frac"], p["z"]),
                textcoords="offset points",
                xytext=(6, 4),
                fontsize=7,
            )
        if any(p["look"] != current for p in pts):
            ax.plot(
                [],
                [],
                marker="o",
                ms=6,
                mfc="white",
                mec=POOLED_COLOUR,
                lw=0,
                label="earlier looks",
            )
    ax.set_xlim(0, max([1.05, *(x * 1.05 for x in t)]))
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo, hi + 0.15 * (hi - lo))  # headroom: the look labels stay inside the panel
    ax.set_xlabel("information fraction")
    ax.set_ylabel("Z (benefit positive)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7, frameon=False, loc="lower left")
    fig.tight_layout()
    return png(fig)
