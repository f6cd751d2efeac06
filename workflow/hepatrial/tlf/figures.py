"""Figures (plotnine), PNG and PDF, byte-identical across reruns.

Group-level figures read the ARD (``DESC``, ``MMRM_LSMEAN``, ``SUBGROUP``, ``SHIFT_CTP``) or the
Kaplan-Meier step table the survival rule writes beside it; individual-level figures (spaghetti,
waterfall) read ADEFF. Arm colours and order come from the study config (Okabe-Ito by default).
"""

from __future__ import annotations

import copy
import functools
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import plotnine as p9  # noqa: E402
import polars as pl  # noqa: E402

from hepatrial import stamp as dummy  # noqa: E402
from hepatrial.spec import Study  # noqa: E402
from hepatrial.spec.params import cause_labels  # noqa: E402
from hepatrial.tlf import format as F  # noqa: E402
from hepatrial.tlf.shell import Shell
from hepatrial.tlf.tables import (  # noqa: E402
    ARD,
    POP_LABEL,
    VAR_LABEL,
    category_label,
    low_df_visits,
    param_label,
)

WIDTH, HEIGHT = 7.0, 5.0
TITLE_PT = 11  # the plot title's size (_theme)
CAPTION_PT = 7  # the caption's (_theme)
STAMP_PT = 10  # the dummy-randomisation stamp's, a bold subtitle (stamp)
DPI = 300
PNG_METADATA = {"Software": None}
PDF_METADATA = {"Creator": None, "Producer": None, "CreationDate": None}
CTP_COLOURS = {"A": "#009E73", "B": "#E69F00", "C": "#D55E00", "Missing": "#999999"}
# Individual-level figures of a large trial draw a random sample of subjects per arm: thousands of lines or
# bars are unreadable and take minutes to draw (24 000 subjects: spaghetti 85 s, waterfall 29 s).
SPAGHETTI_MAX_PER_ARM = 200
WATERFALL_MAX_PER_ARM = 500
SAMPLE_SEED = 20240101


def caption(ard: ARD, note: str = "", population: str = "ITT") -> str:
    """A figure's footer: what it shows (``note``), then study, data cut and population."""
    foot = Shell.of(ard.study, ard.cut).footer_line(POP_LABEL.get(population, population))
    return f"{note}\n{foot}" if note else foot


def number_title(plot: p9.ggplot, number: str) -> p9.ggplot:
    """``Figure 14.2.7.1`` before the plot's title."""
    if not number:
        return plot
    title = getattr(plot.labels, "title", None) or ""
    return plot + p9.labs(title=f"Figure {number}  {title}".rstrip())


def stamp(plot: p9.ggplot, text: str) -> p9.ggplot:
    """``text`` (the dummy-randomisation stamp) as the subtitle and the caption's first line."""
    cap = getattr(plot.labels, "caption", None) or ""
    return (
        plot
        + p9.labs(subtitle=text, caption=f"{text}\n{cap}" if cap else text)
        + p9.theme(plot_subtitle=p9.element_text(size=STAMP_PT, weight="bold", colour="#D55E00"))
    )


def arm_colours(study: Study) -> dict[str, str]:
    return {a.label: a.colour for a in study.arms}


def _theme(size: tuple[float, float] = (WIDTH, HEIGHT)) -> p9.theme:
    return p9.theme_bw(base_size=10) + p9.theme(
        figure_size=size,
        legend_position="bottom",
        panel_grid_minor=p9.element_blank(),
        plot_title=p9.element_text(size=TITLE_PT),
        plot_caption=p9.element_text(size=CAPTION_PT, ha="left"),
    )


FIT_KEYS = ("title", "subtitle", "caption")  # the plot's texts wrapped to fit the figure
EDGE_PAD_IN = 0.08  # inches kept free at the figure's left and right edges


def typeset_powers(fig) -> None:
    """Every text of the drawn figure with a power of ten typeset, ``1x10^6/kg`` -> ``1x10⁶/kg``
    (:func:`hepatrial.tlf.format.superscripts`): titles, axis and tick labels (the arm labels of
    a risk table), legends, annotations."""
    from matplotlib.text import Text

    for art in fig.findobj(Text):
        text = art.get_text()
        if "^" in text:
            art.set_text(F.superscripts(text))
    # tick labels are written again from the axis formatter when the figure is rendered: plotnine's
    # fixed labels (a risk table's arms on the y axis) are typeset there
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            fmt = axis.get_major_formatter()
            seq = getattr(fmt, "seq", None)
            if seq is not None and any("^" in str(x) for x in seq):
                fmt.seq = [F.superscripts(str(x)) for x in seq]


def _greedy(para: str, width: float, measure) -> list[str]:
    lines, line = [], ""
    for word in para.split(" "):
        trial = f"{line} {word}" if line else word
        if line and measure(trial) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    return [*lines, line]


def _wrap_to(text: str, width: float, measure) -> str:
    """``text`` broken between words into as few lines as fit ``width`` pixels (``measure``: the
    width of a string), the lines of even length (the narrowest width giving that many lines), so
    that a title does not end on a lone word; a word longer than the width stands on its own line.
    Existing line breaks are kept; a line that fits is left as it is."""
    out = []
    for para in text.split("\n"):
        if measure(para) <= width:
            out.append(para)
            continue
        n = len(_greedy(para, width, measure))
        lo = max(measure(w) for w in para.split(" "))
        hi = width
        for _ in range(24):  # the narrowest width with as few lines
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if len(_greedy(para, mid, measure)) <= n else (mid, hi)
        out += _greedy(para, hi, measure)
    return "\n".join(out)


def _room(fig, position: str, pad: float) -> float:
    """Pixels a title (or caption) can take without passing either edge of the laid-out figure,
    set at the left or the centre of the panels (``position`` ``panel``, plotnine's
    ``plot_title_position``; plotnine centres a title that fits the panels and starts one that
    does not at their left) or of the whole plot: the narrower of the two."""
    fig_w = fig.bbox.width
    if position == "plot" or not fig.axes:
        left, right = pad, fig_w - pad
    else:
        renderer = fig.canvas.get_renderer()
        boxes = [ax.get_window_extent(renderer) for ax in fig.axes]
        left, right = min(b.x0 for b in boxes), max(b.x1 for b in boxes)
    centre = (left + right) / 2
    return min(fig_w - pad - left, 2 * min(centre - pad, fig_w - pad - centre))


# how far inside the edges (a fraction of the figure's width) the texts of a figure drawn once
# must be for it to be kept without a draft (:func:`drawn`)
FIT_SLACK = 0.03


def _widest_pt(text: str, size: float, weight: str) -> float:
    """Width in points of the widest line of ``text`` at ``size`` points in the figures' fonts
    (:func:`hepatrial.fonts.configure_matplotlib`)."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    renderer = RendererAgg(1, 1, 72)
    prop = FontProperties(size=size, weight=weight)
    lines = text.split("\n")
    return max(renderer.get_text_width_height_descent(s, prop, ismath=False)[0] for s in lines)


# the size and weight of each fitted text: title and caption as :func:`_theme` sets them, the
# subtitle as :func:`stamp` does (the only subtitle the figures have)
FIT_FONTS = {
    "title": (TITLE_PT, "normal"),
    "subtitle": (STAMP_PT, "bold"),
    "caption": (CAPTION_PT, "normal"),
}


def _may_fit(plot: p9.ggplot) -> bool:
    """Whether the title, subtitle and caption are narrow enough to fit the figure unbroken with
    :data:`FIT_SLACK` to spare on either side (so that :func:`drawn` tries drawing the figure
    once); where they are set over the drawn figure is what decides."""
    size = plot.theme.getp("figure_size") if plot.theme else None
    width_in = (size or (WIDTH, HEIGHT))[0]
    room = (width_in * (1 - 2 * FIT_SLACK) - 2 * EDGE_PAD_IN) * 72
    return all(_widest_pt(text, *FIT_FONTS[key]) <= room for key, text in _shown(plot).items())


def _shown(plot: p9.ggplot) -> dict[str, str]:
    """The title, subtitle and caption of ``plot`` as drawn (powers of ten typeset)."""
    texts = {key: getattr(plot.labels, key, None) for key in FIT_KEYS}
    return {key: F.superscripts(text) for key, text in texts.items() if text}


def _fits_drawn(fig, plot: p9.ggplot) -> bool:
    """Whether every title, subtitle and caption of ``fig`` (drawn from ``plot`` and laid out by
    a save) is inside the edges :func:`drawn` keeps with :data:`FIT_SLACK` to spare. A figure
    laid out once differs from a draft laid out on its own by a few pixels (at most 7.3 px of
    700-900 over the bundled cut's 50 figures, against a slack of 21-27 px), so a text that
    passes here would pass on a draft too."""
    from matplotlib.backends.backend_agg import RendererAgg

    # a renderer as an Agg canvas makes one, without giving the figure a canvas the saves would use
    renderer = RendererAgg(int(fig.bbox.width), int(fig.bbox.height), fig.dpi)
    for text in _shown(plot).values():
        art = _text_art(fig, text)
        if art is None or not _inside(fig, art, renderer, FIT_SLACK * fig.bbox.width):
            return False
    return True


def _text_art(fig, text: str):
    """The text artist of ``fig`` showing ``text``, or None."""
    return next((a for a in fig.texts if a.get_text() == text), None)


def _inside(fig, art, renderer, slack: float = 0.0) -> bool:
    """Whether the text ``art`` keeps ``slack`` pixels inside the edges the wrapping keeps: the
    figure's left edge and EDGE_PAD_IN / 2 from its right edge."""
    box = art.get_window_extent(renderer)
    return box.x0 >= slack and box.x1 <= fig.bbox.width - EDGE_PAD_IN * fig.dpi / 2 - slack


def _laid_out(plot: p9.ggplot):
    """A draft of ``plot`` drawn and laid out (Agg), powers of ten typeset."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = copy.deepcopy(plot).draw()  # plotnine keeps the figure it draws: ``plot`` stays fresh
    FigureCanvasAgg(fig)
    fig.get_layout_engine().execute(fig)
    typeset_powers(fig)
    return fig


def _rewrapped(plot: p9.ggplot, draft: p9.ggplot, attempt: int) -> dict[str, str]:
    """The title, subtitle and caption of ``plot`` that pass an edge of ``draft`` (``plot`` with
    the texts broken so far) laid out, each broken again between words to fit (with a tenth less
    room at each ``attempt``), by the room measured from the panels it is set over."""
    fig = _laid_out(draft)
    renderer = fig.canvas.get_renderer()
    pad = EDGE_PAD_IN * fig.dpi
    now_shown = _shown(draft)
    more = {}
    for key, shown in _shown(plot).items():
        now = now_shown[key]
        art = _text_art(fig, now)
        if art is None or _inside(fig, art, renderer):
            continue
        props = art.get_fontproperties()

        @functools.cache  # the search measures the same lines again and again
        def measure(s, props=props, renderer=renderer):
            return renderer.get_text_width_height_descent(s, props, ismath=False)[0]

        where = "caption" if key == "caption" else "title"
        room = _room(fig, draft.theme.getp(f"plot_{where}_position", "panel"), pad)
        text = _wrap_to(shown, room * (1 - 0.1 * attempt), measure)
        if text != now:
            more[key] = text
    plt.close(fig)
    return more


def _png(plot: p9.ggplot, dpi: int, metadata: dict) -> tuple:
    """``plot`` drawn afresh, powers of ten typeset, and its PNG bytes at ``dpi``."""
    import io

    fig = copy.deepcopy(plot).draw()  # ``plot`` stays fresh
    typeset_powers(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata=metadata)
    return fig, buf.getvalue()


def drawn(plot: p9.ggplot, dpi: int = DPI, metadata: dict | None = None) -> tuple:
    """``(figure, PNG bytes at dpi)``: ``plot`` drawn as it is saved, powers of ten typeset
    (:func:`typeset_powers`) and the title, subtitle and caption broken between words where
    they would pass an edge of the figure.

    The texts are measured on a laid-out draft, from the panels each is set over (the forest
    plot's long subgroup labels push its panel, and so its title, right), broken to fit, and
    checked on the next draft (at most two more, each with a tenth less room); the figure saved
    is drawn afresh (laying a figure out twice moves plotnine's panels a little). A draft is
    drawn only when needed: texts narrow enough to fit (:func:`_may_fit`) are tried on the
    figure itself, drawn and saved once, and kept when they fit it with room to spare
    (:func:`_fits_drawn`), where a draft would have found them fitting too."""
    metadata = PNG_METADATA if metadata is None else metadata
    wrapped: dict[str, str] = {}
    for attempt in range(3):
        draft = plot + p9.labs(**wrapped) if wrapped else plot
        tried = None  # the figure drawn once, kept in case a draft finds its texts fit after all
        if _may_fit(draft):
            tried = _png(draft, dpi, metadata)
            if _fits_drawn(tried[0], draft):
                return tried
        more = _rewrapped(plot, draft, attempt)
        if not more:
            return tried or _png(draft, dpi, metadata)
        if tried:
            plt.close(tried[0])
        wrapped.update(more)
    return _png(plot + p9.labs(**wrapped), dpi, metadata)


def save(plot: p9.ggplot, png: str | Path, pdf: str | Path | None = None, dpi: int = DPI) -> None:
    """PNG (``dpi``) and PDF with no creation date, producer or software version in the metadata,
    so that a rerun writes the same bytes. Long titles are wrapped (:func:`drawn`)."""
    # a blinded run: the stamp in the file's metadata too (it is in the image: :func:`stamp`)
    extra = {"Description": dummy.DUMMY_STAMP_ASCII} if dummy.active() else {}
    fig, data = drawn(plot, dpi, PNG_METADATA | extra)
    try:
        Path(png).parent.mkdir(parents=True, exist_ok=True)
        Path(png).write_bytes(data)
        if pdf is not None:
            fig.savefig(
                pdf, metadata=PDF_METADATA | ({"Subject": dummy.DUMMY_STAMP} if extra else {})
            )
    finally:
        plt.close(fig)


def png_bytes(plot: p9.ggplot, dpi: int = 150) -> bytes:
    """The figure as PNG bytes (no metadata), for embedding in a report."""
    fig, data = drawn(plot, dpi, PNG_METADATA)
    plt.close(fig)
    return data


def _visit_axis(
    ard: ARD, panels: int = 1, width: float = WIDTH, rotated: bool = False
) -> tuple[dict[str, float], list[float], list[str]]:
    """The visits a figure's week axis shows: positions (AVISITN, in weeks), breaks and tick
    labels. The baseline and the post-baseline visits; a screening visit comes before the
    baseline and is summarised in the tables, not drawn. A tick is labelled with its week, the
    baseline ``BL``: a visit named by its day (``DAY 28`` at AVISITN 4) reads 4 on the axis, like
    ``WEEK 4``, so that the labels of close visits do not run into each other."""
    vis = sorted((v for v in ard.study.visits if not v.screening), key=lambda v: v.avisitn)
    pos = {v.label: float(v.avisitn) for v in vis}
    breaks = [pos[v.label] for v in vis]
    labels = ["BL" if v.baseline else f"{v.avisitn:g}" for v in vis]
    return pos, breaks, _legible(breaks, labels, panels, width, rotated)


TICK_PT = 8.0  # axis tick labels: theme_bw(base_size=10) x 0.8


def _legible(
    breaks: list[float], labels: list[str], panels: int, width: float, rotated: bool
) -> list[str]:
    """The tick labels, with those blanked that would run into a neighbour on a panel of a
    figure ``width`` inches wide with ``panels`` panels side by side (weekly visits in the
    first month of a 52-week axis: "BL1 2 3 4"); the tick and its gridline stay. The baseline
    and the last visit always keep their label, then weeks that are multiples of 4, then even
    weeks, then the others, each where it leaves room (3 pt) to every label kept. An axis whose
    labels all fit keeps them all."""
    if len(breaks) < 3 or breaks[-1] <= breaks[0]:
        return labels
    room_in = (width - 0.9) / panels - (0.15 if panels > 1 else 0.0)
    pt_per_week = room_in * 72 / ((breaks[-1] - breaks[0]) * 1.1)  # plotnine pads 5 % a side
    extent = [TICK_PT * 0.75 if rotated else _widest_pt(t, TICK_PT, "normal") for t in labels]

    def apart(i: int, j: int) -> bool:
        return abs(breaks[i] - breaks[j]) * pt_per_week >= (extent[i] + extent[j]) / 2 + 3

    kept = [0, len(breaks) - 1]
    rest = sorted(
        range(1, len(breaks) - 1),
        key=lambda i: (0 if breaks[i] % 4 == 0 else 1 if breaks[i] % 2 == 0 else 2, breaks[i]),
    )
    for i in rest:
        if all(apart(i, k) for k in kept):
            kept.append(i)
    return [t if i in kept else "" for i, t in enumerate(labels)]


def _line(pdf: pd.DataFrame, groups: list[str] | None = None):
    """The line joining each arm's visits (``groups``: the columns of one line, default the
    arm), drawn over the arms with two visits or more: an arm seen at one visit only (a biopsy
    score read once after baseline) is its point, not a line of one point (plotnine would warn
    on the console)."""
    groups = groups or ["arm"]
    two = pdf.groupby(groups, observed=True)[groups[0]].transform("size") >= 2
    if two.all():
        return p9.geom_line()
    return p9.geom_line(data=pdf[two]) if two.any() else p9.geom_blank()


def _no_bar(bars: pd.DataFrame | None) -> str:
    """The caption's word on the error bars :func:`_defined` left out."""
    return "" if bars is None else " No bar where n = 1 (no SD)."


def _defined(pdf: pd.DataFrame, *cols: str) -> pd.DataFrame | None:
    """The rows of ``pdf`` whose ``cols`` are all defined, for a layer that needs them (an error
    bar: no SE with n = 1); None (the plot's own data) when every row has them."""
    ok = pdf[list(cols)].notna().all(axis=1)
    return None if ok.all() else pdf[ok]


def _empty(title: str, message: str) -> p9.ggplot:
    return (
        p9.ggplot(
            pd.DataFrame({"x": [0.0], "y": [0.0], "t": [message]}), p9.aes("x", "y", label="t")
        )
        + p9.geom_text(size=10)
        + p9.labs(title=title, x="", y="")
        + _theme()
        + p9.theme(axis_text=p9.element_blank(), axis_ticks=p9.element_blank())
    )


def _arm_scales(study: Study, aesthetics=("colour", "fill")) -> list:
    cols = arm_colours(study)
    order = list(cols)
    # the labels are the arms as configured, as every other arm scale of a figure (the shape scale
    # of the MMRM and observed-means figures): equal scales make one legend. A dose in a label,
    # 1x10^6/kg, is typeset when the figure is drawn (typeset_powers).
    return [
        p9.scale_colour_manual(values=cols, limits=order, name="Arm")
        if "colour" in aesthetics
        else None,
        p9.scale_fill_manual(values=cols, limits=order, name="Arm")
        if "fill" in aesthetics
        else None,
    ]


def _add(plot, layers):
    for layer in layers:
        if layer is not None:
            plot = plot + layer
    return plot


def _dodge_width(breaks: list[float]) -> float:
    """Horizontal offset between arms at a visit: 1.5% of the visit axis (one week of 48)."""
    return (max(breaks) - min(breaks)) * 0.015 if breaks and max(breaks) > min(breaks) else 0.3


def _dodge(ard: ARD, width: float) -> dict[str, float]:
    k = len(ard.arms)
    return {a: (i - (k - 1) / 2) * width for i, a in enumerate(ard.arms)}


def fig_mmrm(ard: ARD, paramcd: str) -> p9.ggplot:
    """LS mean change from baseline with 95% CI by visit and arm (ARD MMRM_LSMEAN)."""
    title = f"{param_label(paramcd)}: LS mean change from baseline (MMRM)"
    df = ard.rows("MMRM_LSMEAN", paramcd=paramcd, population="ITT").filter(
        pl.col("arm").is_in(ard.arms)
    )
    if df.height == 0:
        return _empty(title, "No MMRM results in the ARD of this cut")
    pos, breaks, labels = _visit_axis(ard)
    wide = df.pivot(on="stat", index=["arm", "avisit"], values="value").filter(
        pl.col("avisit").is_in(list(pos))
    )
    dodge = _dodge(ard, _dodge_width(breaks))
    pdf = wide.with_columns(
        pl.col("avisit").replace_strict(pos, return_dtype=pl.Float64).alias("x")
    ).to_pandas()
    pdf["x"] = pdf["x"] + pdf["arm"].map(dodge)
    fit = ard.rows("MMRM_FIT", paramcd=paramcd, population="ITT")
    # the method names the structure first ("UN REML Satterthwaite; CHG ~ ..."): keep that part
    models = sorted(set(fit["method"].drop_nulls().to_list())) if fit.height else []
    note = "Mixed model for repeated measures; arms offset horizontally at each visit."
    if models:
        from hepatrial.tlf.sap import COVARIANCE

        cov = models[0].split()[0]
        note = (
            f"Mixed model for repeated measures with {COVARIANCE.get(cov, cov)}; arms offset "
            "horizontally at each visit."
        )
    # no bar where the Satterthwaite df is below 1: its limits (up to 1E+151) say nothing and
    # would set the axis (the table's note names the visits)
    informative = pdf["df"].isna() | (pdf["df"] >= 1) if "df" in pdf else True
    bars = pdf[informative & np.isfinite(pdf[["lower", "upper"]]).all(axis=1)]
    if len(bars) < pdf[["lower", "upper"]].notna().all(axis=1).sum():
        note += (
            " No CI drawn at "
            + ", ".join(low_df_visits(ard, paramcd))
            + " (degrees of freedom below 1)."
        )
    plot = (
        p9.ggplot(pdf, p9.aes("x", "lsmean", colour="arm", group="arm", shape="arm"))
        + p9.geom_hline(yintercept=0, linetype="dashed", colour="#666666")
        + _line(pdf)
        + p9.geom_point(size=2)
        + p9.geom_errorbar(
            p9.aes(ymin="lower", ymax="upper"),
            data=bars if len(bars) < len(pdf) else None,
            width=_dodge_width(breaks) * 0.8,
        )
        + p9.scale_x_continuous(breaks=breaks, labels=labels, name="Week (analysis visit)")
        + p9.scale_shape_discrete(limits=ard.arms, name="Arm")
        + p9.labs(
            y="LS mean change from baseline (95% CI)", title=title, caption=caption(ard, note)
        )
        + _theme()
    )
    return _add(plot, _arm_scales(ard.study, ("colour",)))


def observed_summary(ard: ARD, code: str) -> pl.DataFrame:
    """DESC rows of one code as columns arm, avisit, n, mean, sd, se (= sd / sqrt(n))."""
    df = ard.rows("DESC", paramcd=code).filter(pl.col("arm").is_in(ard.arms))
    if df.height == 0:
        return pl.DataFrame()
    wide = df.pivot(on="stat", index=["arm", "avisit"], values="value")
    for c in ("mean", "sd"):
        if c not in wide.columns:
            wide = wide.with_columns(pl.lit(None, pl.Float64).alias(c))
    return wide.with_columns((pl.col("sd") / pl.col("n").sqrt()).alias("se"))


def fig_observed(ard: ARD, paramcd: str, change: bool = True) -> p9.ggplot:
    """Observed mean (change from baseline) +/- SE by visit and arm with n under each visit (ARD DESC)."""
    code = paramcd + ("_CHG" if change else "")
    what = "mean change from baseline" if change else "mean"
    title = f"{param_label(paramcd)}: observed {what} (± SE)"
    wide = observed_summary(ard, code)
    if wide.height == 0:
        return _empty(title, "No descriptive statistics in the ARD of this cut")
    pos, breaks, labels = _visit_axis(ard)
    wide = wide.filter(pl.col("avisit").is_in(list(pos))).with_columns(
        pl.col("avisit").replace_strict(pos, return_dtype=pl.Float64).alias("x0")
    )
    dodge = _dodge(ard, _dodge_width(breaks))
    pdf = wide.to_pandas()
    pdf["x"] = pdf["x0"] + pdf["arm"].map(dodge)
    lo = np.nanmin((pdf["mean"] - pdf["se"].fillna(0)).to_numpy(dtype=float))
    hi = np.nanmax((pdf["mean"] + pdf["se"].fillna(0)).to_numpy(dtype=float))
    lo, hi = (min(lo, 0.0), max(hi, 0.0)) if change else (lo, hi)
    span = (hi - lo) or 1.0
    # The n table under the x axis, one line per arm (same x positions as the visits).
    ntab = pdf[["arm", "x0", "n"]].copy()
    ntab["y"] = [lo - span * (0.12 + 0.07 * ard.arms.index(a)) for a in ntab["arm"]]
    ntab["label"] = [F.fmt_int(v) for v in ntab["n"]]
    heading = pd.DataFrame({"x": [min(breaks)], "y": [lo - span * 0.05], "label": ["Subjects (n)"]})
    bars = _defined(pdf, "mean", "se")
    plot = (
        p9.ggplot(pdf, p9.aes("x", "mean", colour="arm", group="arm"))
        + _line(pdf)
        + p9.geom_point(size=2)
        + p9.geom_errorbar(
            p9.aes(ymin="mean - se", ymax="mean + se"),
            data=bars,
            width=max(breaks) / 60 if breaks else 0.5,
        )
        + p9.geom_text(
            p9.aes("x0", "y", label="label", colour="arm"), data=ntab, size=7, show_legend=False
        )
        + p9.geom_text(
            p9.aes("x", "y", label="label"),
            data=heading,
            size=7,
            colour="black",
            inherit_aes=False,
            ha="left",
        )
        + p9.scale_x_continuous(breaks=breaks, labels=labels, name="Week (analysis visit)")
        + p9.labs(
            y=f"Observed {what} (± SE)",
            title=title,
            caption=caption(
                ard,
                "Mean ± standard error (SD / sqrt(n)) of the observed "
                "values; n: subjects with a value at the visit." + _no_bar(bars),
            ),
        )
        + _theme()
    )
    if change:
        plot = plot + p9.geom_hline(yintercept=0, linetype="dashed", colour="#666666")
    return _add(plot, _arm_scales(ard.study, ("colour",)))


def fig_labs(ard: ARD, params: list[str]) -> p9.ggplot:
    """Mean +/- SE of the observed values of several labs by visit and arm, one panel per lab (ARD DESC)."""
    frames = []
    for p in params:
        w = observed_summary(ard, p)
        if w.height:
            frames.append(
                w.select("arm", "avisit", "n", "mean", "se").with_columns(
                    pl.lit(param_label(p)).alias("param")
                )
            )
    title = "Laboratory values by visit: mean (± SE)"
    if not frames:
        return _empty(title, "No laboratory summaries in the ARD of this cut")
    size = (9.0, 4.0)
    pos, breaks, labels = _visit_axis(ard, len(frames), size[0], rotated=True)
    df = (
        pl.concat(frames)
        .filter(pl.col("avisit").is_in(list(pos)))
        .with_columns(pl.col("avisit").replace_strict(pos, return_dtype=pl.Float64).alias("x"))
    )
    pdf = df.to_pandas()
    pdf["x"] = pdf["x"] + pdf["arm"].map(_dodge(ard, _dodge_width(breaks)))
    pdf["param"] = pd.Categorical(pdf["param"], categories=[param_label(p) for p in params])
    bars = _defined(pdf, "mean", "se")
    plot = (
        p9.ggplot(pdf, p9.aes("x", "mean", colour="arm", group="arm"))
        + _line(pdf, ["param", "arm"])
        + p9.geom_point(size=1.5)
        + p9.geom_errorbar(
            p9.aes(ymin="mean - se", ymax="mean + se"),
            data=bars,
            width=max(breaks) / 60 if breaks else 0.5,
        )
        + p9.facet_wrap("param", scales="free_y", ncol=len(params))
        + p9.scale_x_continuous(breaks=breaks, labels=labels, name="Week (analysis visit)")
        + p9.labs(
            y="Mean (± SE)",
            title=title,
            caption=caption(ard, "Observed values." + _no_bar(bars), "SAFETY"),
        )
        + _theme(size)
        + p9.theme(axis_text_x=p9.element_text(rotation=90))
    )
    return _add(plot, _arm_scales(ard.study, ("colour",)))


def sample_subjects(
    df: pl.DataFrame, cap: int, seed: int = SAMPLE_SEED
) -> tuple[pl.DataFrame, str]:
    """The rows of at most ``cap`` subjects (``USUBJID``) per ``arm``, drawn at random with a fixed seed from
    the sorted subject ids (the same subjects on every rerun), and a note for the caption ("" when no arm
    has more than ``cap``)."""
    subj = df.select("arm", "USUBJID").unique().sort("arm", "USUBJID")
    counts = subj.group_by("arm").len().sort("arm")
    if counts["len"].max() <= cap:
        return df, ""
    rng = np.random.default_rng(seed)
    keep = []
    for arm, n in counts.iter_rows():  # one draw per arm, not per subject
        ids = subj.filter(pl.col("arm") == arm)["USUBJID"]
        keep.extend(
            ids.to_list()
            if n <= cap
            else ids.gather(np.sort(rng.choice(n, cap, replace=False))).to_list()
        )
    note = (
        f"\nRandom sample of {cap} subjects per arm (of {', '.join(f'{n} {a}' for a, n in counts.iter_rows())}"
        f" with a value; seed {seed})"
    )
    return df.filter(pl.col("USUBJID").is_in(keep)), note


def fig_spaghetti(adeff: pl.DataFrame, ard: ARD, paramcd: str) -> p9.ggplot:
    """Individual trajectories by analysis visit, one panel per arm, with the arm's median (ARD DESC)."""
    title = f"{param_label(paramcd)}: individual trajectories and median by arm"
    size = (8.0, 4.5)
    # one panel per arm, laid out as plotnine's facet_wrap does: ceil(sqrt(n)) side by side
    pos, breaks, labels = _visit_axis(ard, math.ceil(math.sqrt(len(ard.arms))), size[0])
    df = (
        adeff.filter(
            (pl.col("PARAMCD") == paramcd)
            & (pl.col("ANL01FL") == "Y")
            & (pl.col("ITTFL") == "Y")
            & pl.col("AVISIT").is_in(list(pos))
            & pl.col("AVAL").is_not_null()
        )
        .select("USUBJID", pl.col("TRT01P").alias("arm"), "AVISIT", "AVAL")
        .with_columns(pl.col("AVISIT").replace_strict(pos, return_dtype=pl.Float64).alias("x"))
    )
    if df.height == 0:
        return _empty(title, "No data")
    med = (
        ard.rows("DESC", paramcd=paramcd, stat="median")
        .filter(pl.col("arm").is_in(ard.arms) & pl.col("avisit").is_in(list(pos)))
        .with_columns(pl.col("avisit").replace_strict(pos, return_dtype=pl.Float64).alias("x"))
    )
    df, sampled = sample_subjects(df, SPAGHETTI_MAX_PER_ARM)
    pdf = df.to_pandas()
    pdf["arm"] = pd.Categorical(pdf["arm"], categories=ard.arms)
    mdf = med.to_pandas()
    mdf["arm"] = pd.Categorical(mdf["arm"], categories=ard.arms)
    plot = (
        p9.ggplot(pdf, p9.aes("x", "AVAL", group="USUBJID"))
        + p9.geom_line(colour="#9E9E9E", alpha=0.35, size=0.3)
        + p9.geom_line(
            p9.aes("x", "value", colour="arm", group="arm"), data=mdf, size=1.4, inherit_aes=False
        )
        + p9.facet_wrap("arm")
        + p9.scale_x_continuous(breaks=breaks, labels=labels, name="Week (analysis visit)")
        + p9.labs(
            y=param_label(paramcd),
            title=title,
            caption=caption(
                ard,
                f"Thick line: median of all subjects{sampled}"
                if sampled
                else "Thin lines: subjects; thick line: median of the arm.",
            ),
        )
        + _theme(size)
        + p9.theme(legend_position="none")
    )
    return _add(plot, _arm_scales(ard.study, ("colour",)))


def fig_waterfall(adeff: pl.DataFrame, ard: ARD, paramcd: str) -> p9.ggplot:
    """Each ITT subject's change from baseline at the primary visit, sorted, coloured by arm."""
    visit = ard.study.endpoints.primary_visit
    title = f"{param_label(paramcd)}: change from baseline at {visit} by subject"
    df = adeff.filter(
        (pl.col("PARAMCD") == paramcd)
        & (pl.col("ANL01FL") == "Y")
        & (pl.col("ITTFL") == "Y")
        & (pl.col("AVISIT") == visit)
        & pl.col("CHG").is_not_null()
    ).select("USUBJID", pl.col("TRT01P").alias("arm"), "CHG")
    if df.height == 0:
        return _empty(title, f"No change from baseline at {visit} in this cut")
    df, sampled = sample_subjects(df, WATERFALL_MAX_PER_ARM)
    df = df.sort(["CHG", "USUBJID"], descending=[True, False]).with_row_index("rank", offset=1)
    pdf = df.to_pandas()
    plot = (
        p9.ggplot(pdf, p9.aes("rank", "CHG", fill="arm"))
        + p9.geom_col(width=0.85)
        + p9.geom_hline(yintercept=0, colour="#333333")
        + p9.labs(
            x="Subjects, ordered by change",
            y=f"Change from baseline at {visit}",
            title=title,
            caption=caption(
                ard,
                f"Shown: {len(pdf)} subjects with a value at {visit}{sampled}"
                if sampled
                else f"{len(pdf)} subjects with a value at {visit}.",
            ),
        )
        + _theme()
        + p9.theme(axis_text_x=p9.element_blank(), axis_ticks_major_x=p9.element_blank())
    )
    return _add(plot, _arm_scales(ard.study, ("fill",)))


def fig_ctp_shift(ard: ARD) -> p9.ggplot:
    """CTP class at baseline against the class at the primary visit, stacked bars by arm (ARD SHIFT_CTP)."""
    df = ard.rows("SHIFT_CTP", stat="n").filter(pl.col("arm").is_in(ard.arms))
    visit = df["avisit"][0] if df.height else ard.study.endpoints.primary_visit
    title = f"Child-Turcotte-Pugh class: baseline to {visit}"
    if df.height == 0 or df["value"].sum() == 0:
        return _empty(title, "No CTP class shift in the ARD of this cut")
    parts = df["paramcd"].str.split("|")
    df = df.with_columns(parts.list.get(1).alias("base"), parts.list.get(2).alias("post")).filter(
        pl.col("value") > 0
    )
    pdf = df.to_pandas()
    pdf["arm"] = pd.Categorical(pdf["arm"], categories=ard.arms)
    levels = ["A", "B", "C", "Missing"]
    pdf["base"] = pd.Categorical(pdf["base"], categories=levels)
    pdf["post"] = pd.Categorical(pdf["post"], categories=levels[::-1])
    return (
        p9.ggplot(pdf, p9.aes("base", "value", fill="post"))
        + p9.geom_col(width=0.7, colour="white")
        + p9.facet_wrap("arm")
        + p9.scale_fill_manual(values=CTP_COLOURS, breaks=levels, name=f"Class at {visit}")
        + p9.labs(
            x="CTP class at baseline",
            y="Subjects (n)",
            title=title,
            caption=caption(
                ard,
                "Missing: no CTP class at the visit (death, transplant, "
                "withdrawal or not yet reached).",
            ),
        )
        + _theme()
    )


FOREST_CLIP = 2.5  # the axis: +/- this many times the overall CI's farthest bound
FOREST_MIN_N = 10  # subgroups with fewer subjects do not widen the axis


def forest_limit(est: np.ndarray, n: np.ndarray, overall: tuple) -> float:
    """Half-width of the forest plot's symmetric axis: FOREST_CLIP times the overall CI's farthest
    bound, and at least every estimate of a subgroup of FOREST_MIN_N subjects or more. CIs (and the
    estimates of small subgroups) beyond it are clipped with an arrow: a subgroup of 4 subjects does
    not stretch the axis."""
    bounds = [abs(x) for x in overall if np.isfinite(x)]
    big = np.abs(est[np.isfinite(est) & (np.nan_to_num(n) >= FOREST_MIN_N)])
    need = FOREST_CLIP * max(bounds) if bounds else 0.0
    need = max(need, float(big.max()) if big.size else 0.0)
    if need == 0.0:
        finite = np.abs(est[np.isfinite(est)])
        need = float(finite.max()) if finite.size else 1.0
    return _nice(need * 1.05)


def _nice(x: float) -> float:
    """The next 1, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 times a power of ten at or above ``x``."""
    if x <= 0:
        return 1.0
    p = 10 ** np.floor(np.log10(x))
    return float(next(m * p for m in (1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10) if m * p >= x - 1e-12))


def fig_forest(ard: ARD) -> p9.ggplot:
    """Treatment effect on the change from baseline at the primary visit by subgroup (ARD SUBGROUP):
    symmetric axis around 0, CIs beyond it clipped with arrows, squares sized by n, and columns with
    n and the estimate (95% CI) of each subgroup."""
    sg = ard.rows("SUBGROUP")
    title = "Subgroup analysis"
    if sg.height == 0 or not ard.tests:
        return _empty(
            title, "No subgroup estimates for this cut (single-arm design or none configured)"
        )
    param = sg["paramcd"][0].split("|")[0]
    visit = sg["avisit"][0]
    test = ard.tests[0]
    wide = sg.filter(
        (pl.col("arm") == test) & pl.col("stat").is_in(["estimate", "lower", "upper", "n"])
    ).pivot(on="stat", index="paramcd", values="value")
    keys = sorted(wide["paramcd"].to_list(), key=lambda k: (k != f"{param}|ALL", k))
    labels = []
    for k in keys:
        sub = k.split("|", 1)[1]
        var, _, level = sub.partition("=")
        level_label = category_label(ard.study, var, level)
        labels.append(
            "All subjects" if sub == "ALL" else f"{VAR_LABEL.get(var, var)}: {level_label}"
        )
    pdf = wide.to_pandas().set_index("paramcd").loc[keys].reset_index()
    pdf["label"] = pd.Categorical(labels, categories=labels[::-1])
    d = ard.stat_decimals(param, "estimate")
    pdf["text"] = [
        F.fmt_est_ci(e, lo, hi, d) for e, lo, hi in zip(pdf["estimate"], pdf["lower"], pdf["upper"])
    ]
    pdf["ntext"] = [F.fmt_int(n) for n in pdf["n"]]
    allrow = pdf[pdf["paramcd"] == f"{param}|ALL"]
    overall = (
        (float(allrow["lower"].iloc[0]), float(allrow["upper"].iloc[0])) if len(allrow) else ()
    )
    lim = forest_limit(pdf["estimate"].to_numpy(float), pdf["n"].to_numpy(float), overall)
    est = pdf.dropna(subset=["estimate"]).copy()
    est["lo"] = est["lower"].clip(-lim, lim)
    est["hi"] = est["upper"].clip(-lim, lim)
    est["point"] = est["estimate"].clip(-lim, lim)
    arrows_ = []
    for side, col in ((-lim, "lower"), (lim, "upper")):
        out = est[(est[col] < -lim) if side < 0 else (est[col] > lim)].copy()
        out["edge"] = side
        arrows_.append(out)
    clipped = pd.concat(arrows_)
    colour = arm_colours(ard.study)[test]
    x_n, x_text = lim * 1.12, lim * 1.35  # the n and estimate (CI) columns, right of the axis
    heads = pd.DataFrame(
        {
            "x": [x_n, x_text],
            "y": [len(labels) + 0.8] * 2,
            "label": ["n", "Estimate (95% CI)"],
            "ha": ["center", "left"],
        }
    )
    pdf["xn"], pdf["xt"] = x_n, x_text
    title = f"{param_label(param)}: change from baseline at {visit} by subgroup"
    arrow = p9.arrow(length=0.06, type="closed")
    arrows = (
        [
            p9.geom_segment(
                p9.aes(x="point", xend="edge", y="label", yend="label"),
                data=clipped,
                arrow=arrow,
                colour="#333333",
            )
        ]
        if len(clipped)
        else []
    )
    plot = (
        p9.ggplot(est, p9.aes("point", "label"))
        + p9.geom_vline(xintercept=0, linetype="dashed", colour="#666666")
        + p9.geom_segment(p9.aes(x="lo", xend="hi", y="label", yend="label"), colour="#333333")
        + p9.geom_point(p9.aes(size="n"), shape="s", colour=colour, fill=colour)
        + p9.geom_text(p9.aes(x="xn", y="label", label="ntext"), data=pdf, size=7, ha="center")
        + p9.geom_text(p9.aes(x="xt", y="label", label="text"), data=pdf, size=7, ha="left")
        + p9.geom_text(
            p9.aes(x="x", y="y", label="label", ha="ha"),
            data=heads,
            size=7,
            fontweight="bold",
            inherit_aes=False,
        )
        + p9.scale_size_area(max_size=5, guide=None)
        + p9.scale_x_continuous(limits=(-lim, lim * 2.3), breaks=_sym_breaks(lim), expand=(0, 0))
        + p9.scale_y_discrete(expand=(0, 0.6, 0, 1.2))
        + p9.labs(
            x=f"{test} minus {ard.reference} (95% CI); < 0 favours {test}",
            y="",
            title=title,
            caption=caption(
                ard,
                "Analysis of covariance on baseline and arm within each "
                "subgroup; exploratory.\nSquare size: subjects in the "
                "subgroup; arrow: the CI (or estimate) goes beyond the "
                "axis.",
            ),
        )
        + _theme((8.5, 5.5))
        + p9.theme(panel_grid_major_x=p9.element_blank(), panel_grid_major_y=p9.element_blank())
    )
    return _add(plot, arrows)


def _sym_breaks(lim: float) -> list[float]:
    step = _nice(lim / 2)
    k = int(np.floor(lim / step + 1e-9))
    return [i * step for i in range(-k, k + 1)]


def fig_tipping(ard: ARD, estimand: str) -> p9.ggplot:
    """Tipping-point analysis of one estimand (ARD TIPPING): the treatment difference and its 95% CI
    against the shift (delta) added to the imputed values of the test arm, the points coloured by
    significance, the tipping point marked by a dashed vertical line."""
    tip = ard.rows("TIPPING").filter(pl.col("paramcd").str.contains(f"|{estimand}|", literal=True))
    title = f"Tipping-point analysis: estimand {estimand}"
    per = tip.filter(pl.col("paramcd").str.contains("|DELTA=", literal=True))
    if per.height == 0:
        return _empty(title, "No tipping-point analysis in the ARD of this cut")
    test = per["arm"][0]
    per = per.filter(pl.col("arm") == test)
    param, _, key = per["paramcd"][0].split("|")[:3]
    visit = per["avisit"][0]
    wide = per.pivot(on="stat", index="paramcd", values="value").sort("delta")
    pdf = wide.to_pandas()
    pdf["Result"] = np.where(pdf["p"] < 0.05, "p < 0.05", "p >= 0.05")
    td = ard.get(
        "TIPPING",
        f"{param}|{estimand}|{key}",
        test,
        "tipping_delta",
        per["population"][0],
        visit,
        per["comparator"][0],
    )
    cap = f"Delta: added to every imputed value of the test arm ({key}).\nTipping point: " + (
        f"delta = {F.fmt_num(td, 2)}, the first delta of the grid with p >= 0.05"
        if not F.is_missing(td)
        else "not reached within the grid"
    )
    plot = (
        p9.ggplot(pdf, p9.aes("delta", "estimate"))
        + p9.geom_hline(yintercept=0, linetype="dashed", colour="#666666")
        + p9.geom_ribbon(p9.aes(ymin="lower", ymax="upper"), fill="#56B4E9", alpha=0.3)
        + p9.geom_line(colour="#0072B2")
        + p9.geom_point(p9.aes(shape="Result"), size=2.5, colour="#0072B2")
        + p9.scale_shape_manual(values={"p < 0.05": "o", "p >= 0.05": "x"}, name="")
        + p9.labs(
            x="Delta added to the imputed values of the test arm",
            y=f"{test} minus {per['comparator'][0]} at {visit} (95% CI)",
            title=f"{param_label(param)} at {visit}: tipping point, estimand {estimand}",
            caption=cap,
        )
        + _theme()
    )
    if not F.is_missing(td):
        plot = (
            plot
            + p9.geom_vline(xintercept=float(td), linetype="dotted", colour="#D55E00")
            + p9.annotate(
                "text",
                x=float(td),
                y=float(pdf["upper"].max()),
                label=f" tipping point {F.fmt_num(td, 2)}",
                ha="left",
                va="top",
                size=8,
                colour="#D55E00",
            )
        )
    return plot


def risk_counts(step: pl.DataFrame, times: list[float], groups: list[str]) -> pl.DataFrame:
    """Subjects at risk at each time from a KM step table: n_risk of the first step at or after the
    time (0 after the last), as R ``summary(survfit, times=)`` and the ARD KM ``n_risk``."""
    rows = []
    for g in groups:
        s = step.filter(pl.col("group") == g).sort("time")
        tt, nr = s["time"].to_numpy(), s["n_risk"].to_numpy()
        for t in times:
            i = np.searchsorted(tt, t, side="left")
            rows.append({"group": g, "time": float(t), "n_risk": int(nr[i]) if i < len(tt) else 0})
    return pl.DataFrame(rows, schema={"group": pl.Utf8, "time": pl.Float64, "n_risk": pl.Int64})


def risk_times(ard: ARD, paramcd: str, step: pl.DataFrame, every: float = 84.0) -> list[float]:
    """0, every ``every`` days up to the last follow-up, and the ARD KM landmark times."""
    tmax = float(step["time"].max()) if step.height else 0.0
    grid = set(np.arange(0.0, tmax + 1e-9, every).tolist()) | {0.0}
    grid |= {
        float(x)
        for x in ard.rows("KM", paramcd=paramcd)["time"].drop_nulls().to_list()
        if x <= tmax
    }
    return sorted(grid)


def km_risk_table(step: pl.DataFrame, ard: ARD, paramcd: str, groups: list[str]) -> pd.DataFrame:
    """The number-at-risk table drawn under the KM curves: group, time, n_risk, text label and y position."""
    rc = risk_counts(step, risk_times(ard, paramcd, step), groups).to_pandas()
    rc["y"] = [-0.17 - 0.08 * groups.index(g) for g in rc["group"]]
    rc["label"] = rc["n_risk"].astype(str)
    rc["arm"] = rc["group"]
    return rc


def _steps(s: pd.DataFrame, ycols: list[str], start: float = 1.0) -> pd.DataFrame:
    """Right-continuous step coordinates (for ribbons): each value held until the next time, every
    column ``start`` at time 0 (1 for survival, 0 for cumulative incidence)."""
    t = np.concatenate([[0.0], s["time"].to_numpy(float)])
    out = {"time": np.repeat(t, 2)[1:]}
    for c in ycols:
        v = np.concatenate([[start], s[c].to_numpy(float)])
        out[c] = np.repeat(v, 2)[:-1]
    return pd.DataFrame(out)


def km_comparison_text(ard: ARD, paramcd: str) -> str:
    """The panel's comparison: the (stratified) Cox HR (95% CI) and log-rank p of the first test arm
    against the reference, from the ARD ("" for a design without comparisons)."""
    if not ard.parallel or not ard.tests:
        return ""
    test, lines = ard.tests[0], []
    for analysis in ("COX", "COX_UNSTRAT"):
        hr = ard.rows(analysis, paramcd=paramcd, arm=test, stat="hr")
        if hr.height:
            r = hr.row(0, named=True)
            key = (r["population"], r["avisit"] or "", r["comparator"] or "", r["time"])
            lo, hi = (ard.get(analysis, paramcd, test, s, *key) for s in ("lower", "upper"))
            how = ", stratified" if "stratified" in (r["method"] or "") else ""
            lines.append(
                f"HR {test} vs {r['comparator'] or ard.reference} (95% CI){how}: "
                f"{F.fmt_est_ci(r['value'], lo, hi, 2)}"
            )
            break
    for analysis in ("LOGRANK", "LOGRANK_UNSTRAT"):
        p = ard.rows(analysis, paramcd=paramcd, arm=test, stat="p")
        if p.height:
            how = ", stratified" if "stratified" in (p["method"][0] or "") else ""
            lines.append(f"Log-rank p{how}: {F.fmt_p(p['value'][0])}")
            break
    return "\n".join(lines)


def fig_km(step: pl.DataFrame, ard: ARD, paramcd: str) -> p9.ggplot:
    """Kaplan-Meier curves by arm with the 95% CI band, censoring marks (+), the HR (95% CI) and
    log-rank p in the panel, and the number at risk in a table below the panel on the same time axis
    (from the KM step table; equal to the ARD KM n_risk at the landmarks)."""
    title = f"{param_label(paramcd)}: Kaplan-Meier estimate by arm"
    groups = [a for a in ard.arms if a in set(step["group"].to_list())] if step.height else []
    if not groups:
        return _empty(title, "No Kaplan-Meier step table for this parameter")
    curves, bands, cens = [], [], []
    for g in groups:
        s = step.filter(pl.col("group") == g).sort("time").to_pandas()
        st = _steps(s, ["surv", "lower", "upper"])
        st["arm"] = g
        bands.append(st)
        c = pd.DataFrame(
            {"time": np.concatenate([[0.0], s["time"]]), "surv": np.concatenate([[1.0], s["surv"]])}
        )
        c["arm"] = g
        curves.append(c)
        cs = s[s["n_censor"] > 0][["time", "surv"]].copy()
        cs["arm"] = g
        cens.append(cs)
    panels = ["curve", "risk"]
    curves, bands, cens = (pd.concat(x) for x in (curves, bands, cens))
    for f in (curves, bands, cens):
        f["panel"] = pd.Categorical(["curve"] * len(f), categories=panels)
    times = risk_times(ard, paramcd, step)
    rc = km_risk_table(step, ard, paramcd, groups)
    rc["y"] = [-1.0 - groups.index(g) for g in rc["group"]]
    rc["panel"] = pd.Categorical(["risk"] * len(rc), categories=panels)
    xmax = max([*times, float(step["time"].max())])
    bands["lower"] = bands["lower"].fillna(bands["surv"])
    bands["upper"] = bands["upper"].fillna(bands["surv"])
    ybreaks = [0, 0.25, 0.5, 0.75, 1.0] + [-1.0 - i for i in range(len(groups))]
    ylabels = ["0", "25", "50", "75", "100"] + groups
    note = km_comparison_text(ard, paramcd)
    ann = pd.DataFrame(
        {
            "time": [xmax * 0.02],
            "y": [0.04],
            "label": [note],
            "panel": pd.Categorical(["curve"], categories=panels),
        }
    )
    # invisible points that give each panel its y range
    span = pd.DataFrame(
        {
            "time": [0.0] * 4,
            "y": [0.0, 1.02, -0.4, -0.6 - len(groups)],
            "panel": pd.Categorical(["curve", "curve", "risk", "risk"], categories=panels),
        }
    )
    plot = (
        p9.ggplot(curves, p9.aes("time", "surv", colour="arm"))
        + p9.geom_blank(p9.aes("time", "y"), data=span, inherit_aes=False)
        + p9.geom_ribbon(
            p9.aes("time", ymin="lower", ymax="upper", fill="arm"),
            data=bands,
            alpha=0.15,
            colour=None,
            inherit_aes=False,
        )
        + p9.geom_step(direction="hv", size=0.8)
        + p9.geom_point(p9.aes("time", "surv", colour="arm"), data=cens, shape="+", size=2.2)
        + p9.geom_text(
            p9.aes("time", "y", label="label", colour="arm"), data=rc, size=7, show_legend=False
        )
        + p9.facet_grid(
            rows="panel", scales="free_y", space={"x": [1], "y": [3.4, 0.35 + 0.3 * len(groups)]}
        )
        + p9.scale_y_continuous(breaks=ybreaks, labels=ylabels, expand=(0, 0))
        + p9.scale_x_continuous(breaks=times, limits=(-0.04 * xmax, xmax * 1.04), expand=(0, 0))
        + p9.labs(
            x="Days since randomisation",
            y="Event-free (%)  |  Number at risk",
            title=title,
            caption=caption(
                ard,
                "Shaded: pointwise 95% CI (log-log); +: censored. "
                "Number at "
                "risk at the times of the axis.",
            ),
        )
        + _theme((7.5, 5.5))
        + p9.theme(
            strip_text_y=p9.element_blank(),
            strip_background_y=p9.element_blank(),
            panel_grid_minor=p9.element_blank(),
        )
    )
    if note:
        plot = plot + p9.geom_text(
            p9.aes("time", "y", label="label"),
            data=ann,
            size=7,
            ha="left",
            va="bottom",
            inherit_aes=False,
        )
    return _add(plot, _arm_scales(ard.study))


def fig_cif(cif: pl.DataFrame, ard: ARD, paramcd: str, cause_labels: dict[int, str]) -> p9.ggplot:
    """Cumulative incidence (Aalen-Johansen) by arm and cause, one panel per cause."""
    title = f"{param_label(paramcd)}: cumulative incidence by arm"
    if cif.height == 0:
        return _empty(title, "No events")
    frames = []
    ci = {"lower", "upper"} <= set(cif.columns)
    for (g, c), s in cif.sort("time").group_by(["group", "cause"], maintain_order=True):
        st = _steps(s.to_pandas(), ["cif", "lower", "upper"] if ci else ["cif"], start=0.0)
        st["arm"], st["cause"] = g, cause_labels.get(int(c), str(c))
        frames.append(st)
    pdf = pd.concat(frames)
    pdf["cause"] = pd.Categorical(
        pdf["cause"], categories=[cause_labels[k] for k in sorted(cause_labels)]
    )
    plot = p9.ggplot(pdf, p9.aes("time", "cif", colour="arm"))
    if ci:
        pdf["lower"] = pdf["lower"].fillna(pdf["cif"])
        pdf["upper"] = pdf["upper"].fillna(pdf["cif"])
        plot = plot + p9.geom_ribbon(
            p9.aes("time", ymin="lower", ymax="upper", fill="arm"), alpha=0.15, inherit_aes=False
        )
    plot = (
        plot
        + p9.geom_step(direction="hv", size=0.8)
        + p9.facet_wrap("cause")
        + p9.scale_y_continuous(
            labels=lambda v: [f"{100 * x:.0f}" for x in v], name="Cumulative incidence (%)"
        )
        + p9.labs(
            x="Days since randomisation",
            title=title,
            caption=caption(
                ard,
                "Aalen-Johansen estimator, shaded: pointwise 95% CI; "
                "one panel per event type, the others competing (death, "
                "liver "
                "transplant).",
            ),
        )
        + _theme((8.0, 4.5))
    )
    return _add(plot, _arm_scales(ard.study, ("colour", "fill")))


def cif_cause_labels(paramcd: str, causes) -> dict[int, str]:
    """CRCODE -> panel label of the cumulative incidence figure (the parameter table's competing
    causes), for the causes of the step table."""
    labels = cause_labels(paramcd)
    return {c: labels[c] for c in sorted(causes) if c in labels}
