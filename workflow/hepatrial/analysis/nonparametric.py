"""Between-arm rank tests per visit (ARD analysis ``NPAR_TEST``), for parameters the SAP analyses
non-parametrically (study config ``nonparametric``; e.g. the HBV-ACLF NK-cell panel).

Per parameter and visit, on the analysed records (ANL01FL = "Y") of the population, of AVAL (or CHG,
``nonparametric.variable``):

- two arms: Wilcoxon rank-sum (Mann-Whitney) test of the test arm against the reference, as R
  ``wilcox.test(x = test, y = reference)`` with its defaults: ``exact`` when both arms have fewer
  than 50 values and there are no ties, otherwise the normal approximation with the continuity
  correction (``correct = TRUE``) and the tie-corrected variance. Statistic W = the Mann-Whitney U
  of the test arm (sum of its ranks - n(n + 1) / 2). Two-sided p.
- three or more arms: Kruskal-Wallis test, as R ``kruskal.test`` (chi-square with the tie
  correction, k - 1 degrees of freedom).

ARD rows: ``statistic``, ``p`` and ``n`` (values tested); two arms: ``arm`` the test arm and
``comparator`` the reference; more arms: ``arm`` and ``comparator`` empty. ``method`` names the test,
exact or approximate. A visit where an arm has no value has no test (method "not estimable").
Rows are by arm, so they never reach the open DSMB report (pooled rows only).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from hepatrial.analysis.common import select_population
from hepatrial.ard import ard_rows
from hepatrial.spec import Study

EXACT_MAX_N = 50  # R wilcox.test: exact when both samples have fewer than 50 values (and no ties)


def wilcoxon_rank_sum(x: np.ndarray, y: np.ndarray) -> tuple[float, float, str]:
    """(W, two-sided p, how) of R ``wilcox.test(x, y)`` with its defaults (module docstring)."""
    from scipy import stats  # 0.3 s to import: only the DESC jobs with a rank test pay it

    x, y = np.asarray(x, float), np.asarray(y, float)
    ties = len(np.unique(np.concatenate([x, y]))) < len(x) + len(y)
    exact = len(x) < EXACT_MAX_N and len(y) < EXACT_MAX_N and not ties
    if exact:
        r = stats.mannwhitneyu(x, y, alternative="two-sided", method="exact")
        how = "exact"
    else:
        r = stats.mannwhitneyu(
            x, y, alternative="two-sided", method="asymptotic", use_continuity=True
        )
        how = "normal approximation with continuity correction" + (
            ", tie-corrected variance" if ties else ""
        )
    return float(r.statistic), float(r.pvalue), how


def kruskal_wallis(groups: list[np.ndarray]) -> tuple[float, float]:
    """(chi-square, p) of R ``kruskal.test(list(...))`` (tie-corrected)."""
    from scipy import stats

    r = stats.kruskal(*[np.asarray(g, float) for g in groups])
    return float(r.statistic), float(r.pvalue)


def npar_tests(
    dataset: pl.DataFrame,
    study: Study,
    paramcd: str,
    visits: list[str] | None = None,
    variable: str = "AVAL",
    population: str = "ITT",
) -> pl.DataFrame:
    """ARD ``NPAR_TEST`` rows of one parameter (module docstring)."""
    df = select_population(
        dataset.filter(
            (pl.col("PARAMCD") == paramcd)
            & (pl.col("ANL01FL") == "Y")
            & pl.col(variable).is_not_null()
        ),
        study,
        population,
    )
    arms = list(study.arm_labels)
    order = [v.label for v in sorted(study.visits, key=lambda v: v.avisitn)]
    if visits:
        order = [v for v in order if v in set(visits)]
    present = set(df["AVISIT"].unique().to_list())
    code = paramcd if variable == "AVAL" else f"{paramcd}_CHG"
    rows = []
    for v in [v for v in order if v in present]:
        sub = df.filter(pl.col("AVISIT") == v)
        groups = [sub.filter(pl.col("ARM") == a)[variable].to_numpy() for a in arms]
        n = int(sum(len(g) for g in groups))
        if len(arms) == 2:
            ref = study.reference or arms[-1]
            test = next(a for a in arms if a != ref)
            x, y = groups[arms.index(test)], groups[arms.index(ref)]
            arm, comp = test, ref
            if len(x) == 0 or len(y) == 0:
                stat = p = None
                method = "Wilcoxon rank-sum: not estimable (an arm has no value)"
            else:
                stat, p, how = wilcoxon_rank_sum(x, y)
                method = (
                    f"Wilcoxon rank-sum (Mann-Whitney) of {variable}, {test} vs {ref}, {how}; "
                    f"W = Mann-Whitney U of {test}; two-sided (R wilcox.test(x = {test}, y = {ref}))"
                )
        else:
            arm = comp = ""
            if sum(len(g) > 0 for g in groups) < 2:
                stat = p = None
                method = "Kruskal-Wallis: not estimable (fewer than two arms with values)"
            else:
                stat, p = kruskal_wallis([g for g in groups if len(g)])
                method = (
                    f"Kruskal-Wallis of {variable} across arms, chi-square with tie correction, "
                    f"df = arms - 1 (R kruskal.test)"
                )
        for s, val in (("statistic", stat), ("p", p), ("n", n)):
            rows.append(
                {
                    "analysis": "NPAR_TEST",
                    "paramcd": code,
                    "population": population,
                    "arm": arm,
                    "comparator": comp,
                    "avisit": v,
                    "stat": s,
                    "value": val,
                    "method": method,
                }
            )
    return ard_rows(rows)
