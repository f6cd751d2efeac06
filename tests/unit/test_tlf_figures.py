"""Figures: valid PNG of the documented size and a PDF, byte-identical on rerun; KM risk table = ARD n_risk."""

from __future__ import annotations

import struct

import pandas as pd
import polars as pl
import pytest
from test_tlf_data import CUT, adeff, adtte, build_ard, km_step, study

from hepatrial.analysis.survival import cif_steps
from hepatrial.tlf import figures as G
from hepatrial.tlf.tables import ARD

DPI = 30  # low resolution keeps the tests fast; the rules write 300 dpi
SIZE = {
    "mmrm": (7, 5),
    "observed": (7, 5),
    "labs": (9, 4),
    "spaghetti": (8, 4.5),
    "waterfall": (7, 5),
    "km": (7.5, 5.5),
    "cif": (8, 4.5),
    "forest": (8.5, 5.5),
    "ctp_shift": (7, 5),
}


@pytest.fixture(scope="module")
def ard(tmp_path_factory):
    st = study(tmp_path_factory.mktemp("f"))
    return ARD(build_ard(st), st, CUT)


def plot_of(kind: str, ard: ARD):
    if kind == "mmrm":
        return G.fig_mmrm(ard, "MELD")
    if kind == "observed":
        return G.fig_observed(ard, "MELD")
    if kind == "labs":
        return G.fig_labs(ard, ["BILI", "ALB", "INR"])
    if kind == "spaghetti":
        return G.fig_spaghetti(adeff(), ard, "MELD")
    if kind == "waterfall":
        return G.fig_waterfall(adeff(), ard, "MELD")
    if kind == "km":
        return G.fig_km(km_step(ard.study).rename({"arm": "group"}), ard, "TFS")
    if kind == "cif":
        tab = (
            cif_steps(adtte(), ard.study, "DECOMP")
            .rename({"arm": "group"})
            .filter(pl.col("group") != "ALL")
        )
        return G.fig_cif(
            tab, ard, "DECOMP", G.cif_cause_labels("DECOMP", tab["cause"].unique().to_list())
        )
    if kind == "forest":
        return G.fig_forest(ard)
    return G.fig_ctp_shift(ard)


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("kind", sorted(SIZE))
def test_figure_is_a_png_of_the_documented_size_and_a_pdf(kind, ard, tmp_path):
    png, pdf = tmp_path / f"{kind}.png", tmp_path / f"{kind}.pdf"
    G.save(plot_of(kind, ard), png, pdf, dpi=DPI)
    w, h = SIZE[kind]
    assert png_size(png) == (round(w * DPI), round(h * DPI))
    assert pdf.read_bytes()[:5] == b"%PDF-"
    assert b"tEXt" not in png.read_bytes()  # no Software chunk
    assert b"CreationDate" not in pdf.read_bytes()


def test_figures_are_byte_identical_on_rerun(ard, tmp_path):
    out = []
    for run in ("a", "b"):
        png, pdf = tmp_path / f"km_{run}.png", tmp_path / f"km_{run}.pdf"
        G.save(plot_of("km", ard), png, pdf, dpi=DPI)
        out.append((png.read_bytes(), pdf.read_bytes()))
    assert out[0] == out[1]


def test_km_risk_table_equals_ard_n_risk_at_the_landmarks(ard):
    step = km_step(ard.study).rename({"arm": "group"})
    groups = ard.arms
    rc = pl.from_pandas(G.km_risk_table(step, ard, "TFS", groups)[["group", "time", "n_risk"]])
    landmarks = ard.rows("KM", paramcd="TFS", stat="n_risk")
    assert landmarks.height > 0
    for r in landmarks.filter(pl.col("arm").is_in(groups)).iter_rows(named=True):
        drawn = rc.filter((pl.col("group") == r["arm"]) & (pl.col("time") == r["time"]))[
            "n_risk"
        ].to_list()
        assert drawn == [int(r["value"])], r
    # and the numbers drawn are exactly that table (the plot's text layer)
    plot = G.fig_km(step, ard, "TFS")
    text = [
        lyr.geom.data for lyr in plot.layers if "n_risk" in getattr(lyr.geom.data, "columns", [])
    ]
    assert len(text) == 1 and text[0]["label"].tolist() == [str(x) for x in rc["n_risk"].to_list()]
    # at day 0 everyone is at risk
    assert rc.filter(pl.col("time") == 0)["n_risk"].to_list() == [3, 3]


def test_risk_counts_use_the_first_step_at_or_after_the_time():
    step = pl.DataFrame({"group": ["A"] * 3, "time": [5.0, 10.0, 20.0], "n_risk": [4, 3, 1]})
    got = G.risk_counts(step, [0.0, 5.0, 6.0, 20.0, 21.0], ["A"])["n_risk"].to_list()
    assert got == [4, 4, 3, 1, 0]


def test_arm_colours_and_order_from_the_config(ard):
    assert G.arm_colours(ard.study) == {
        "UC-MSC": "#0072B2",
        "Placebo": "#E69F00",
    }  # Okabe-Ito defaults


def test_figure_without_data_says_so(ard):
    empty = ARD(ard.df.filter(pl.col("analysis") != "MMRM_LSMEAN"), ard.study, CUT)
    plot = G.fig_mmrm(empty, "MELD")
    assert plot.data["t"].tolist() == ["No MMRM results in the ARD of this cut"]


def _subjects(n_a: int, n_b: int) -> pl.DataFrame:
    ids = [(f"A-{i:05d}", "A") for i in range(n_a)] + [(f"B-{i:05d}", "B") for i in range(n_b)]
    return pl.DataFrame(
        {
            "USUBJID": [u for u, _ in ids for _ in range(2)],
            "arm": [a for _, a in ids for _ in range(2)],
            "x": [float(k) for _ in ids for k in range(2)],
        }
    )


def test_sample_of_subjects_per_arm_is_capped_whole_and_repeatable():
    df = _subjects(700, 30)
    out, note = G.sample_subjects(df, 200)
    per_arm = out.group_by("arm").agg(pl.col("USUBJID").n_unique()).sort("arm")
    assert per_arm.rows() == [("A", 200), ("B", 30)]  # B under the cap: all of it
    assert out.group_by("USUBJID").len()["len"].unique().to_list() == [
        2
    ]  # whole subjects, every visit
    assert (
        "200 subjects per arm" in note
        and "700 A" in note
        and "30 B" in note
        and str(G.SAMPLE_SEED) in note
    )
    again, _ = G.sample_subjects(df.reverse(), 200)  # same subjects whatever the row order
    assert set(again["USUBJID"]) == set(out["USUBJID"])
    other, _ = G.sample_subjects(df, 200, seed=G.SAMPLE_SEED + 1)
    assert set(other["USUBJID"]) != set(out["USUBJID"])


def test_no_sample_when_every_arm_is_under_the_cap():
    df = _subjects(200, 5)
    out, note = G.sample_subjects(df, 200)
    assert note == "" and out.equals(df)


@pytest.mark.parametrize("kind", sorted(SIZE))
def test_every_caption_names_study_cut_and_population_and_no_internal_code(kind, ard):
    plot = plot_of(kind, ard)
    cap = plot.labels.caption or ""
    if "No " in (plot.data["t"][0] if "t" in plot.data else ""):
        return  # an empty figure says why instead
    assert f"Study {ard.study.id}" in cap and f"data cut {CUT}" in cap
    assert "population" in cap
    for code in ("ARD", "CRCODE", "SUBGROUP", "DESC", "MMRM_", "CNSR"):
        assert code not in cap and code not in (plot.labels.title or "")


def test_forest_axis_is_symmetric_and_clips_a_small_subgroup():
    import numpy as np

    est = np.array([-1.3, -1.4, -7.3, 0.5])
    n = np.array([151.0, 88.0, 4.0, 10.0])
    lim = G.forest_limit(est, n, (-2.0, -0.6))
    # 2.5 x the overall CI's farthest bound, not stretched by the 4-subject subgroup
    assert lim == 6.0
    assert G._sym_breaks(lim) == [-6.0, -3.0, 0.0, 3.0, 6.0]


def test_forest_has_n_and_estimate_columns_and_sizes_by_n(ard):
    plot = G.fig_forest(ard)
    texts = [layer for layer in plot.layers if type(layer.geom).__name__ == "geom_text"]
    frames = [
        layer._data for layer in texts if isinstance(getattr(layer, "_data", None), pd.DataFrame)
    ]
    labels = {
        str(v) for f in frames for col in ("ntext", "text", "label") if col in f for v in f[col]
    }
    assert "n" in labels and "Estimate (95% CI)" in labels
    assert any("(" in v and ")" in v for v in labels)  # estimate (CI)
    assert any("size" in layer.mapping for layer in plot.layers)


def test_km_panel_states_hr_and_log_rank_and_risk_table_is_its_own_panel(ard):
    text = G.km_comparison_text(ard, "TFS")
    assert text.startswith("HR UC-MSC vs Placebo (95% CI)") and "Log-rank p" in text
    plot = G.fig_km(km_step(ard.study).rename({"arm": "group"}), ard, "TFS")
    # the curve panel above the risk panel, on one time axis
    assert type(plot.facet).__name__ == "facet_grid"


def test_number_before_the_title(ard):
    plot = G.number_title(G.fig_forest(ard), "14.2.5.1")
    assert plot.labels.title.startswith("Figure 14.2.5.1  ")


def _laid_out_text(fig, text: str):
    """The text artist of the saved figure showing ``text`` (line breaks aside) and its box."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    canvas = FigureCanvasAgg(fig)
    canvas.draw()  # laid out as saved
    [art] = [a for a in fig.texts if a.get_text().replace("\n", " ") == text]
    return art, art.get_window_extent(canvas.get_renderer())


@pytest.mark.parametrize("ylabels", ["short", "long"])
def test_a_title_wider_than_the_figure_is_wrapped_between_words_and_a_short_one_is_not(ylabels):
    """Measured where the title starts: aligned to the panel, it starts right of long axis labels
    (a forest plot's subgroups), and a title that fits the figure's width did not fit from there
    (the forest plot's title was cut at the right edge)."""
    import matplotlib.pyplot as plt
    import plotnine as p9

    from hepatrial.tlf.figures import _theme

    y = ["a", "b"] if ylabels == "short" else ["Etiology of cirrhosis: Autoimmune hepatitis", "b"]
    df = pd.DataFrame({"x": [1, 2], "y": y})
    long = (
        "Figure 14.2.5.1  MELD (Kamath): change from baseline at WEEK 24 by subgroup in the ITT "
        "population"
    )
    for title, wrapped in ((long, True), ("Figure 1  Short", False)):
        plot = p9.ggplot(df, p9.aes("x", "y")) + p9.geom_point() + p9.labs(title=title) + _theme()
        fig = G.drawn(plot)[0]
        art, box = _laid_out_text(fig, title)
        assert ("\n" in art.get_text()) is wrapped
        assert box.x1 <= fig.bbox.width - 0.05 * fig.dpi  # nothing past the right edge
        plt.close(fig)


def test_the_forest_plot_title_and_caption_stay_inside_the_figure(ard):
    import matplotlib.pyplot as plt

    plot = G.number_title(G.fig_forest(ard), "14.2.5.1")
    plot = plot + G.p9.labs(title=plot.labels.title + " in the intent-to-treat population")
    fig = G.drawn(plot)[0]
    for key in ("title", "caption"):
        text = getattr(plot.labels, key)
        art = next(
            a for a in fig.texts if a.get_text().replace("\n", " ") == text.replace("\n", " ")
        )
        _, box = _laid_out_text(fig, art.get_text().replace("\n", " "))
        assert box.x1 <= fig.bbox.width, key
    plt.close(fig)


def test_every_text_of_a_figure_typesets_powers_of_ten():
    """Arm labels in a risk table's axis, a legend, a caption: 1x10^6/kg is drawn 1x10⁶/kg."""
    import matplotlib.pyplot as plt
    import plotnine as p9
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text

    df = pd.DataFrame({"x": [1, 2], "y": ["Low 1x10^6/kg", "High 4x10^6/kg"]})
    plot = (
        p9.ggplot(df, p9.aes("x", "y"))
        + p9.geom_point()
        + p9.labs(title="Dose 1x10^6/kg", caption="cells/kg x 10^6")
    )
    fig = G.drawn(plot)[0]
    FigureCanvasAgg(fig).draw()  # rendered: tick labels are written again from their formatter
    texts = [t.get_text() for t in fig.findobj(Text)]
    assert not any("^" in t for t in texts)
    assert {"Low 1x10\u2076/kg", "High 4x10\u2076/kg", "Dose 1x10\u2076/kg"} <= set(texts)
    plt.close(fig)


def test_figure_legends_typeset_powers_of_ten_in_arm_labels_in_one_legend():
    """Arm labels with a dose (1x10^6/kg) are drawn 1x10⁶/kg, and the colour and shape scales of
    the arms stay one legend (a colour scale with typeset labels beside a shape scale with the
    configured ones made two, the second cut at the figure's edges)."""
    from types import SimpleNamespace as NS

    import matplotlib.pyplot as plt
    import plotnine as p9
    from matplotlib.text import Text

    from hepatrial.tlf.figures import _arm_scales

    labels = ["Low 1x10^6/kg", "High 4x10^6/kg"]
    arms = [NS(label=labels[0], colour="#0072B2"), NS(label=labels[1], colour="#E69F00")]
    colour, fill = _arm_scales(NS(arms=arms))
    assert list(colour.limits) == list(fill.limits) == labels  # the data keep the label
    df = pd.DataFrame({"x": [1, 2, 1, 2], "y": [1, 2, 2, 3], "arm": labels * 2})
    plot = (
        p9.ggplot(df, p9.aes("x", "y", colour="arm", shape="arm"))
        + p9.geom_point()
        + p9.scale_shape_discrete(limits=labels, name="Arm")
        + colour
    )
    fig = G.drawn(plot)[0]
    texts = [t.get_text() for t in fig.findobj(Text) if t.get_visible()]
    assert texts.count("Arm") == 1, texts
    assert texts.count("Low 1x10\u2076/kg") == 1 and not any("^" in t for t in texts)
    plt.close(fig)


@pytest.mark.parametrize("title", ["Figure 1  Short", "Figure 14.2.5.1  " + "a long title " * 12])
def test_a_figure_drawn_once_is_the_figure_a_draft_gives(monkeypatch, title):
    """``drawn`` keeps a figure drawn once when its texts fit with room to spare; the PNG is the
    one the draft route (lay out a draft, break the texts, draw afresh) gives, and a title too
    wide for the figure is broken all the same."""
    import matplotlib.pyplot as plt
    import plotnine as p9

    from hepatrial.tlf.figures import _theme

    df = pd.DataFrame({"x": [1, 2], "y": [3, 4]})
    plot = p9.ggplot(df, p9.aes("x", "y")) + p9.geom_point() + p9.labs(title=title) + _theme()
    drafts = []
    real = G._rewrapped
    monkeypatch.setattr(G, "_rewrapped", lambda *a: drafts.append(1) or real(*a))
    fig, once = G.drawn(plot, dpi=72)
    wrapped = "\n" in next(a.get_text() for a in fig.texts if a.get_text().startswith("Figure"))
    plt.close(fig)
    assert wrapped is (len(title) > 20)
    assert bool(drafts) is wrapped  # the short title: no draft drawn
    monkeypatch.setattr(G, "_may_fit", lambda plot: False)  # every step through a draft
    fig, via_draft = G.drawn(plot, dpi=72)
    plt.close(fig)
    assert once == via_draft


def test_a_title_within_the_slack_of_an_edge_is_left_to_a_draft(monkeypatch):
    """The figure drawn once is kept only when its title is FIT_SLACK (a fraction of the width)
    inside the edges draw keeps (EDGE_PAD_IN / 2 at the right): nearer, a draft decides."""
    import matplotlib.pyplot as plt
    import plotnine as p9
    from matplotlib.backends.backend_agg import RendererAgg

    from hepatrial.tlf.figures import _theme

    df = pd.DataFrame({"x": [1, 2], "y": [3, 4]})
    title = "Figure 2  A title of middling length over the panel"
    plot = p9.ggplot(df, p9.aes("x", "y")) + p9.geom_point() + p9.labs(title=title) + _theme()
    fig, _ = G._png(plot, 72, G.PNG_METADATA)
    w = fig.bbox.width
    [art] = [a for a in fig.texts if a.get_text() == title]
    box = art.get_window_extent(RendererAgg(int(w), int(fig.bbox.height), fig.dpi))
    margin = min(box.x0, w - G.EDGE_PAD_IN * fig.dpi / 2 - box.x1) / w  # the nearer edge
    monkeypatch.setattr(G, "FIT_SLACK", margin * 0.99)
    assert G._fits_drawn(fig, plot)
    monkeypatch.setattr(G, "FIT_SLACK", margin * 1.01)
    assert not G._fits_drawn(fig, plot)
    plt.close(fig)


def test_every_figure_kind_drawn_once_is_the_figure_the_drafts_give(ard, monkeypatch):
    """The slack ``drawn`` keeps (FIT_SLACK) rests on a measured bound: a figure laid out once
    and a draft laid out on its own place their texts within a few pixels of each other. Each
    figure kind of the pipeline, with its own titles, gives the same PNG bytes drawn once as
    through the drafts (the route every figure took before figures were drawn once); most kinds
    take the drawn-once route, so the comparison is not vacuous."""
    import matplotlib.pyplot as plt

    real_png, real_may_fit = G._png, G._may_fit
    once = {}
    for kind in sorted(SIZE):
        calls = []
        monkeypatch.setattr(G, "_png", lambda *a, c=calls: c.append(1) or real_png(*a))
        monkeypatch.setattr(G, "_may_fit", real_may_fit)
        fig, first = G.drawn(plot_of(kind, ard), dpi=DPI)
        plt.close(fig)
        once[kind] = len(calls) == 1  # drawn once, no draft
        monkeypatch.setattr(G, "_may_fit", lambda plot: False)  # every step through a draft
        fig, via_drafts = G.drawn(plot_of(kind, ard), dpi=DPI)
        plt.close(fig)
        assert first == via_drafts, kind
    assert sum(once.values()) > len(SIZE) // 2, once


def test_the_week_axis_leaves_out_screening_and_labels_visits_by_week():
    """A visit named by its day sits at its week and reads as that week (the dose-escalation
    study's DAY 28 / DAY 56 at weeks 4 / 8 ran into each other and into BL); a screening visit
    comes before the baseline and is not on a figure's axis (its label overprinted BL)."""
    from types import SimpleNamespace

    from hepatrial.spec.study import Visit

    visits = [
        Visit("SCREENING", -1, screening=True),
        Visit("BASELINE", 0, baseline=True),
        Visit("DAY 28", 4),
        Visit("DAY 56", 8),
        Visit("WEEK 12", 12),
        Visit("WEEK 26.5", 26.5),
    ]
    pos, breaks, labels = G._visit_axis(SimpleNamespace(study=SimpleNamespace(visits=visits)))
    assert pos == {"BASELINE": 0, "DAY 28": 4, "DAY 56": 8, "WEEK 12": 12, "WEEK 26.5": 26.5}
    assert breaks == [0, 4, 8, 12, 26.5]
    assert labels == ["BL", "4", "8", "12", "26.5"]


def test_no_error_bar_and_no_warning_where_the_sd_is_undefined(ard):
    """A visit with one subject has a mean and no SD: its point is drawn, its error bar is not
    (plotnine would drop the row with a warning on the console) and the caption says why."""
    import warnings

    import matplotlib.pyplot as plt

    df = ard.df
    on_axis = [v.label for v in ard.study.visits if v.post_baseline]
    one = (
        df.filter(
            (pl.col("analysis") == "DESC")
            & (pl.col("paramcd") == "MELD_CHG")
            & pl.col("arm").is_in(ard.arms)
            & pl.col("avisit").is_in(on_axis)
        )
        .select("arm", "avisit")
        .unique()
        .sort("arm", "avisit")
        .row(0)
    )
    at = (pl.col("analysis") == "DESC") & (pl.col("paramcd") == "MELD_CHG")
    at = at & (pl.col("arm") == one[0]) & (pl.col("avisit") == one[1])
    df = df.with_columns(
        pl.when(at & (pl.col("stat") == "sd")).then(None).otherwise(pl.col("value")).alias("value")
    ).with_columns(
        pl.when(at & (pl.col("stat") == "n")).then(1.0).otherwise(pl.col("value")).alias("value")
    )
    single = ARD(df, ard.study, ard.cut)
    plot = G.fig_observed(single, "MELD")
    assert "No bar where n = 1" in plot.labels.caption
    assert "No bar" not in G.fig_observed(ard, "MELD").labels.caption
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # plotnine's "Removed rows containing missing values"
        fig, _ = G.drawn(plot, dpi=DPI)
    plt.close(fig)
    [bars] = [la for la in plot.layers if type(la.geom).__name__ == "geom_errorbar"]
    assert len(bars._data) == len(plot.data) - 1  # the visit with n = 1 left out


def test_an_arm_seen_at_one_visit_is_a_point_not_a_line():
    """A score read once after baseline (Ishak fibrosis at the end of a single-arm study) has
    one point per arm: the line layer leaves such an arm out (plotnine warned on the console
    about a line of one point), draws the others, and is left as it was when every arm has two
    visits or more."""
    import warnings

    import matplotlib.pyplot as plt
    import plotnine as p9

    pdf = pd.DataFrame({"x": [48.0, 4.0, 8.0], "y": [1.0, 2.0, 3.0], "arm": ["A", "B", "B"]})
    line = G._line(pdf)
    assert type(line).__name__ == "geom_line"
    assert line.data["arm"].tolist() == ["B", "B"]
    assert G._line(pdf[pdf["arm"] == "B"]).data is None  # every arm joined: the plot's data
    assert type(G._line(pdf[pdf["arm"] == "A"])).__name__ == "geom_blank"
    plot = p9.ggplot(pdf, p9.aes("x", "y", colour="arm", group="arm")) + G._line(pdf)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig, _ = G.drawn(plot + p9.geom_point(), dpi=DPI)
    plt.close(fig)


def test_tick_labels_that_would_run_into_each_other_are_thinned():
    """Weekly visits in the first month of a 52-week axis printed "BL1 2 3 4" (the ACLF study);
    on the three-panel lab figure, rotated, they were one smudge. Labels that would touch a
    neighbour are blanked (the tick and its gridline stay), keeping the baseline, the last visit,
    then multiples of 4, then even weeks; an axis whose labels fit keeps them all (the RCT's)."""
    aclf = [0, 1, 2, 3, 4, 8, 12, 24, 36, 52]
    labels = ["BL", *[f"{w}" for w in aclf[1:]]]
    one = G._legible(aclf, labels, 1, 7.0, False)
    assert one[0] == "BL" and one[1] == "" and one[4:] == labels[4:]
    assert one[2] == "2"
    labs = G._legible(aclf, labels, 3, 9.0, True)
    assert labs == ["BL", "", "", "", "4", "8", "12", "24", "36", "52"]
    rct = [0, 4, 8, 12, 24, 36, 48]
    rct_labels = ["BL", "4", "8", "12", "24", "36", "48"]
    for panels, width, rotated in ((1, 7.0, False), (3, 9.0, True), (2, 8.0, False)):
        assert G._legible(rct, rct_labels, panels, width, rotated) == rct_labels


def test_an_lsmean_whose_df_is_below_1_has_no_bar_and_the_table_says_why(ard):
    """A visit-specific variance from two subjects (AR1H, single-arm cut of 12) gave a
    Satterthwaite df of 0.0032 and limits of +-1.41E+151: matplotlib's layout then failed ("left
    cannot be >= right") and the table printed 150-digit numbers. Now the figure draws the point
    without its bar and says so; the table prints the limits in E-notation and names the visit."""
    import matplotlib.pyplot as plt

    from hepatrial.tlf.tables import table_mmrm

    df = ard.df
    lsm = df.filter((pl.col("analysis") == "MMRM_LSMEAN") & (pl.col("paramcd") == "MELD"))
    arm, visit = lsm.select("arm", "avisit").sort("avisit", "arm").row(0)
    at = (pl.col("analysis") == "MMRM_LSMEAN") & (pl.col("paramcd") == "MELD")
    at = at & (pl.col("arm") == arm) & (pl.col("avisit") == visit)
    new = {"df": 0.0032, "lower": -1.4122e151, "upper": 1.4122e151}
    for stat, value in new.items():
        df = df.with_columns(
            pl.when(at & (pl.col("stat") == stat))
            .then(value)
            .otherwise(pl.col("value"))
            .alias("value")
        )
    low = ARD(df, ard.study, ard.cut)
    plot = G.fig_mmrm(low, "MELD")
    assert f"No CI drawn at {visit} (degrees of freedom below 1)." in plot.labels.caption
    assert "No CI drawn" not in G.fig_mmrm(ard, "MELD").labels.caption
    [bars] = [la for la in plot.layers if type(la.geom).__name__ == "geom_errorbar"]
    assert len(bars._data) == len(plot.data) - 1
    fig, _ = G.drawn(plot, dpi=DPI)
    plt.close(fig)
    t = table_mmrm(low, "MELD")
    cells = [
        c for r in t.rows if r.group.startswith(visit) and r.label == "95% CI" for c in r.cells
    ]
    assert "(-1.4E+151, 1.4E+151)" in cells  # MELD: d + 1 = 1 decimal
    assert f"Satterthwaite degrees of freedom below 1 at {visit} (0.003)" in " ".join(t.footnotes)
    assert "degrees of freedom below 1" not in " ".join(table_mmrm(ard, "MELD").footnotes)
