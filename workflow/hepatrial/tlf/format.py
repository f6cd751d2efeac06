"""Number formatting for tables and figure labels (the only arithmetic a table does is rounding).

Rules (docs/tlf.md):
- rounding is the pipeline's one rule, :func:`hepatrial.rounding.round_half_up`: half away from zero
  (as SAS ``ROUND`` and the ``w.d`` formats) on the decimal value, never Python's round-half-to-even;
- counts (n, events, subjects): integers; percentages: 1 decimal, ``n (pct)``; a zero count shows ``0``;
- per parameter the data have ``d`` decimals: those of the ARD the table reads (``ARD.decimals``:
  its ``DECIMALS`` rows, decided once from the parameter table, the study's scoring settings and
  the recorded results, :func:`hepatrial.analysis.descriptive.parameter_decimals`), else the
  parameter table (:data:`DATA_DECIMALS`), else 1; min and max show ``d``, mean, median,
  quartiles, LS means, differences and their CIs ``d + 1``, SD and SE ``d + 2``;
- p-values: ``<0.001`` below 0.001, ``>0.999`` when 3 decimals would show 1.000, otherwise 3 decimals;
- hazard ratios and their CIs: 2 decimals; survival and cumulative incidence: percent, 1 decimal;
  times in days (medians): 1 decimal;
- a value that is not estimable (NaN or missing) shows ``NE``; an infinite one ``Inf`` or ``-Inf``;
  one of magnitude 1E+15 or more in E-notation (``1.41E+151``: digits beyond float precision).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

from hepatrial.rounding import round_half_up
from hepatrial.spec.params import data_decimals as _table_decimals

NE = "NE"
# Decimals the raw data are recorded with, per parameter (scores are integers; labs as reported in
# standard units: bilirubin umol/L and albumin g/L 1 decimal, INR 2 decimals): the parameter
# table (hepatrial.spec.params).
DATA_DECIMALS = _table_decimals()
DEFAULT_DECIMALS = 1
# Extra decimals over the data, by statistic.
STAT_EXTRA = {
    "mean": 1,
    "median": 1,
    "q1": 1,
    "q3": 1,
    "min": 0,
    "max": 0,
    "sd": 2,
    "se": 2,
    "lsmean": 1,
    "estimate": 1,
    "lower": 1,
    "upper": 1,
}


def is_missing(x) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


# From this magnitude on a number shows in E-notation (as SAS's BEST format does): a float64 has 15-16
# significant digits, so digits printed beyond them would be noise (a Satterthwaite interval with
# df near 0 reaches 1E+151); no clinical or lab quantity comes near it.
E_NOTATION_FROM = 1e15


def fmt_rounded(x: float, decimals: int) -> str:
    """``x`` shown with ``decimals`` decimals, rounded by :func:`hepatrial.rounding.round_half_up`
    (half away from zero); ``-0.0`` shows as ``0.0``. Infinite: ``Inf`` / ``-Inf`` (as R prints
    it); from :data:`E_NOTATION_FROM` on, E-notation with ``decimals`` decimals (``-1.41E+151``)."""
    x = float(x)
    if math.isinf(x):
        return "Inf" if x > 0 else "-Inf"
    if abs(x) >= E_NOTATION_FROM:
        return f"{x:.{max(decimals, 1)}E}"
    return f"{round_half_up(x, max(decimals, 0)):.{max(decimals, 0)}f}"


def fmt_num(x, decimals: int) -> str:
    return NE if is_missing(x) else fmt_rounded(x, decimals)


def fmt_int(x) -> str:
    return NE if is_missing(x) else fmt_rounded(x, 0)


def fmt_pct(x) -> str:
    return fmt_num(x, 1)


def fmt_n_pct(n, pct) -> str:
    """``n (pct)`` with pct to 1 decimal; ``0`` for a zero count."""
    if is_missing(n):
        return NE
    if float(n) == 0:
        return "0"
    return f"{fmt_int(n)} ({fmt_pct(pct)})"


def fmt_p(p) -> str:
    if is_missing(p):
        return NE
    if p < 0.001:
        return "<0.001"
    if p >= 0.9995:  # would round to 1.000
        return ">0.999"
    return fmt_rounded(p, 3)


def data_decimals(paramcd: str, decimals: Mapping[str, int] | None = None) -> int:
    """Decimals the data of ``paramcd`` (its change from baseline ``<P>_CHG`` too) are recorded
    with: ``decimals`` (an ARD's, :attr:`hepatrial.tlf.tables.ARD.decimals`), else the parameter
    table, else :data:`DEFAULT_DECIMALS`."""
    base = paramcd.removesuffix("_CHG")
    if decimals is not None and base in decimals:
        return decimals[base]
    return DATA_DECIMALS.get(base, DEFAULT_DECIMALS)


def stat_decimals(paramcd: str, stat: str, decimals: Mapping[str, int] | None = None) -> int:
    return data_decimals(paramcd, decimals) + STAT_EXTRA.get(stat, 0)


def fmt_stat(x, paramcd: str, stat: str, decimals: Mapping[str, int] | None = None) -> str:
    """One statistic of one parameter by the rules above (n as an integer)."""
    if stat in ("n", "n_subjects", "n_events", "n_risk", "n_event_cum", "n_obs"):
        return fmt_int(x)
    if stat == "p":
        return fmt_p(x)
    return fmt_num(x, stat_decimals(paramcd, stat, decimals))


def fmt_ci(lower, upper, decimals: int) -> str:
    return f"({fmt_num(lower, decimals)}, {fmt_num(upper, decimals)})"


def fmt_est_ci(est, lower, upper, decimals: int) -> str:
    return f"{fmt_num(est, decimals)} {fmt_ci(lower, upper, decimals)}"


def fmt_mean_sd(mean, sd, paramcd: str, decimals: Mapping[str, int] | None = None) -> str:
    return f"{fmt_stat(mean, paramcd, 'mean', decimals)} ({fmt_stat(sd, paramcd, 'sd', decimals)})"


def fmt_range(
    lo, hi, paramcd: str, stats=("min", "max"), decimals: Mapping[str, int] | None = None
) -> str:
    return (
        f"{fmt_stat(lo, paramcd, stats[0], decimals)}, {fmt_stat(hi, paramcd, stats[1], decimals)}"
    )


def fmt_prob_pct(x) -> str:
    """A probability shown as a percentage with 1 decimal (survival, cumulative incidence)."""
    return NE if is_missing(x) else fmt_rounded(100.0 * float(x), 1)


_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_POWER = re.compile(r"(?<=\d)\^(-?\d+)")


def superscripts(text: str) -> str:
    """A power of ten in Unicode superscript digits, ``1x10^6/kg`` -> ``1x10⁶/kg``: the figures
    (matplotlib text) and plain-text places (an HTML page's ``<title>``, a PDF's metadata). The
    tables and reports set a real superscript (:func:`rtf_superscripts`,
    :func:`html_superscripts`, :func:`power_parts`); the CSV keeps the ASCII ``10^6`` of the
    config, which any program reads back."""
    return _POWER.sub(lambda m: m.group(1).translate(_SUPERSCRIPT), text) if "^" in text else text


def rtf_superscripts(text: str) -> str:
    """``1x10^6/kg`` -> ``1x10{\\super 6}/kg``: the exponent as RTF superscript (``text`` is
    already RTF-safe)."""
    return _POWER.sub(lambda m: "{\\super " + m.group(1) + "}", text) if "^" in text else text


def html_superscripts(text: str) -> str:
    """``1x10^6/kg`` -> ``1x10<sup>6</sup>/kg`` (``text`` is already HTML-escaped)."""
    return _POWER.sub(r"<sup>\1</sup>", text) if "^" in text else text


def power_parts(text: str) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, is_exponent) pieces: ``1x10^6/kg`` -> ``[("1x10", False), ("6",
    True), ("/kg", False)]`` (the report PDF sets the exponents as superscripts)."""
    out, at = [], 0
    for m in _POWER.finditer(text):
        out += [(text[at : m.start()], False), (m.group(1), True)]
        at = m.end()
    out.append((text[at:], False))
    return [p for p in out if p[0]]
