"""Property: any text (any Unicode, control characters, formula and mathtext look-alikes, very long)
as AE terms and site ids of the tiny cut either stops the DAG with exactly one ERROR line or
completes it with every output; never a Python traceback.

Each example is a full DAG run (~40-50 s in the parallel suite), so two run here: the explicit
example and one generated, derandomised (the same on every run); tests/unit/test_hostile_input.py
feeds hundreds of examples through the pure functions each renderer calls."""

from __future__ import annotations

from pathlib import Path

import dag
import polars as pl
import pytest
import tinycut
from dag import snakemake
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

HOSTILE = st.sampled_from(
    [
        "=1+2",
        "@SUM(A1)",
        "-2+3",
        "0$\\frac{$2",
        "北京协和医院",
        "\U0001fa7a",
        "{v2}",
        "a\r\nb",
        "\t",
        "\u202etxt.exe",
        "x" * 5000,
    ]
)
TEXT = st.one_of(
    HOSTILE,
    st.text(st.characters(codec="utf-8"), min_size=1, max_size=40),
    st.text(st.characters(codec="utf-8"), min_size=201, max_size=600),
)


def _cut(folder: Path, ae_terms: list[str], sites: list[str]) -> Path:
    doms = tinycut.domains()
    for r, t in zip(doms["ae"], ae_terms):
        r["AETERM"], r["AEDECOD"] = t, t
    for r, s in zip(doms["dm"], sites):
        r["SITEID"] = s
    folder.mkdir(parents=True)
    for name, rows in doms.items():  # polars quotes whatever the text holds
        cols = list(dict.fromkeys(k for r in rows for k in r))
        pl.DataFrame(
            [{c: r.get(c, "") for c in cols} for r in rows], schema={c: pl.Utf8 for c in cols}
        ).write_csv(folder / f"{name}.csv")
    return folder


@pytest.mark.workflow
@settings(
    max_examples=1,  # each example a DAG run: the explicit one and one generated
    phases=[Phase.explicit, Phase.generate],  # no shrinking: each step is a DAG run
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    ae_terms=st.lists(TEXT, min_size=2, max_size=2), sites=st.lists(TEXT, min_size=4, max_size=4)
)
@example(
    ae_terms=['=HYPERLINK("x")', "肝区疼痛 \U0001fa7a"], sites=["0$\\frac{$2", "北京", "01", "{x}"]
)
def test_any_text_stops_with_one_error_or_completes(tmp_path_factory, ae_terms, sites):
    tmp = tmp_path_factory.mktemp("hostile")
    cut = _cut(tmp / "2024-06-30", ae_terms, sites)
    study = tinycut.write_study(tmp / "study.yaml")
    # a non-zero exit is one of the two allowed outcomes
    out = snakemake(*dag.config_args(study, cut, tmp))
    assert "Traceback" not in out.stderr, out.stderr[-4000:]
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("ERROR:")]
    if out.returncode != 0:
        assert len(errors) == 1, out.stderr[-4000:]
        return
    rep = tmp / "reports" / "TINY" / "2024-06-30"
    res = tmp / "results" / "TINY" / "2024-06-30"
    for f in ("dsmb_open.pdf", "dsmb_closed.pdf"):
        assert (rep / f).stat().st_size > 0
    assert (res / "adam/adae.xpt").stat().st_size < 1_000_000
    assert (res / "ard/ard.parquet").exists() and (res / "tables/l_sae.csv").exists()
