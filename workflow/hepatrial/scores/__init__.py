"""Clinical scores: MELD family, Child-Turcotte-Pugh, CLDQ, EQ-5D-5L and RAND-36.

The package splits along the definitions: :mod:`hepatrial.scores.meld` (MELD family),
:mod:`hepatrial.scores.ctp` (Child-Turcotte-Pugh), :mod:`hepatrial.scores.pro`
(questionnaires) and :mod:`hepatrial.scores._common` (units and expression helpers); every
public name stays importable from ``hepatrial.scores``.

The definitions, for users, are in ``docs/scoring.md``; each function below quotes the formula it
implements and says where a decision had to be taken that the published definitions leave open.

Conventions (all functions)
---------------------------
* Inputs are polars columns in the pipeline's **standard (SI) units**: bilirubin umol/L,
  creatinine umol/L, albumin g/L, sodium mmol/L, INR unitless, PT and control PT in seconds.
  Every ``compute_*`` converts internally to the conventional units of docs/scoring.md
  (bilirubin / 17.1 -> mg/dL, creatinine / 88.4 -> mg/dL, albumin / 10 -> g/dL).
* Arguments are column names (``"BILI"``), polars expressions, or Python literals
  (``dialysis=False``). A ``compute_*`` returns a :class:`polars.Expr` (Float64 unless stated).
* **Missing is never guessed**: a score is null when *any* input of its definition is null, even
  where the value would not have mattered (MELD-Na with MELD(i) <= 11 and missing sodium; MELD
  with dialysis and missing creatinine). This keeps the availability of a score independent of
  its value. ``NaN`` is treated as null. A laboratory value <= 0 is not a measurement (and has no
  logarithm): it gives a null score, it is never set to 1.0 by the lower bounds.
* **Rounding** is the pipeline's one rule, :func:`hepatrial.rounding.round_half_up`: ties away
  from zero as SAS ``ROUND(x, unit)`` and by hand, made robust to binary floating point by adding
  ``ROUND_EPSILON`` (1e-9) to the magnitude scaled to the rounding unit: a bracket that a human
  computes as exactly 1.85 but that float64 holds as 1.8499999999999999 is rounded to 1.9. R's
  ``round()`` rounds half to even on the binary value and can differ at exact ties (use e.g.
  ``janitor::round_half_up`` when checking in R).
* **Cut-offs** (CTP) are compared on the converted value rounded to ``COMPARE_DECIMALS`` (10)
  decimals, so that 51.3 umol/L / 17.1 = 2.9999999999999996 and 3.0 mg/dL converted upstream to
  51.300000000000004 umol/L both count as exactly 3.0 mg/dL.
"""

from __future__ import annotations

from hepatrial.rounding import ROUND_EPSILON, round_half_up  # the one rounding rule (re-exported)
from hepatrial.scores._common import (
    ALB_GL_PER_GDL,
    BILI_UMOL_PER_MGDL,
    COMPARE_DECIMALS,
    CREAT_UMOL_PER_MGDL,
    MELD_CAP,
    IntoScoreExpr,
)
from hepatrial.scores.ctp import (
    ASCITES_RSORRES_POINTS,
    CTP_PTA_CUTOFFS,
    HEGRADE_RSORRES_POINTS,
    ascites_points_from_rs,
    assert_ctp_rs_codes,
    compute_ctp_class,
    compute_ctp_points_alb,
    compute_ctp_points_ascites,
    compute_ctp_points_bili,
    compute_ctp_points_he,
    compute_ctp_points_inr,
    compute_ctp_points_pta,
    compute_ctp_points_ptprolong,
    compute_ctp_score,
    compute_pt_prolongation,
    flag_unmapped_ascites,
    flag_unmapped_he,
    he_points_from_rs,
)
from hepatrial.scores.meld import (
    MELDKAM_COEFFICIENTS,
    MELDKAM_INTEGER,
    compute_meld3,
    compute_meld_kamath,
    compute_meld_na,
    compute_meld_unos,
    meld_kamath_formula,
)
from hepatrial.scores.pro import (
    CLDQ_DOMAINS,
    RAND36_RECODES,
    RAND36_SCALES,
    SF36_SUMMARY_NORMS,
    load_eq5d5l_value_set,
    score_cldq,
    score_eq5d5l,
    score_rand36,
    score_sf36_summary,
)

__all__ = [
    "ALB_GL_PER_GDL",
    "ASCITES_RSORRES_POINTS",
    "BILI_UMOL_PER_MGDL",
    "CLDQ_DOMAINS",
    "COMPARE_DECIMALS",
    "CREAT_UMOL_PER_MGDL",
    "CTP_PTA_CUTOFFS",
    "HEGRADE_RSORRES_POINTS",
    "MELDKAM_COEFFICIENTS",
    "MELDKAM_INTEGER",
    "MELD_CAP",
    "RAND36_RECODES",
    "RAND36_SCALES",
    "ROUND_EPSILON",
    "SF36_SUMMARY_NORMS",
    "IntoScoreExpr",
    "ascites_points_from_rs",
    "assert_ctp_rs_codes",
    "compute_ctp_class",
    "compute_ctp_points_alb",
    "compute_ctp_points_ascites",
    "compute_ctp_points_bili",
    "compute_ctp_points_he",
    "compute_ctp_points_inr",
    "compute_ctp_points_pta",
    "compute_ctp_points_ptprolong",
    "compute_ctp_score",
    "compute_meld3",
    "compute_meld_kamath",
    "compute_meld_na",
    "compute_meld_unos",
    "compute_pt_prolongation",
    "flag_unmapped_ascites",
    "flag_unmapped_he",
    "he_points_from_rs",
    "load_eq5d5l_value_set",
    "meld_kamath_formula",
    "round_half_up",
    "score_cldq",
    "score_eq5d5l",
    "score_rand36",
    "score_sf36_summary",
]
