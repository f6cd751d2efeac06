"""Formula interface of the MMRM engine: :func:`fit` and :class:`MMRMResult`.

``fit(data, "FEV1 ~ RACE + SEX + ARMCD * AVISIT", covariance="UN", subject="USUBJID",
visit="AVISIT")`` is, in SAS and R::

    PROC MIXED METHOD=REML;  CLASS RACE SEX ARMCD AVISIT USUBJID;
      MODEL FEV1 = RACE SEX ARMCD AVISIT ARMCD*AVISIT / DDFM=SATTERTHWAITE SOLUTION;
      REPEATED AVISIT / SUBJECT=USUBJID TYPE=UN;
    mmrm::mmrm(FEV1 ~ RACE + SEX + ARMCD * AVISIT + us(AVISIT | USUBJID),
               method = "Satterthwaite")

The fixed-effects formula (Wilkinson notation: ``+``, ``:``, ``*``, ``-``, ``0``/``1``) is
parsed and encoded by formulaic (polars input, no pandas): string, categorical, enum and
boolean columns are factors with treatment coding (first level the reference; levels sorted,
or an enum's order, with ``reference_levels`` moved first), numeric columns covariates. A factor
in an interaction whose lower-order term is absent gets full dummy coding (R's rule). Columns
that are linear combinations of earlier columns (empty cells, a covariate constant within a
factor, ...) are *aliased*: dropped from the fit and reported with a missing estimate, as R
``lm``/mmrm (``beta_aliased``) and SAS (estimate 0, SE ``.``).

Nothing here imports the pipeline (ingest/adam/report): the engine can be published alone.
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from ..errors import DataContractError
from .mmrm_core import design_from_rows
from .mmrm_fit import FitCore
from .mmrm_infer import t_summary


class MMRMFormulaError(DataContractError, ValueError):
    """The data or formula cannot be used as specified (unknown column, duplicate subject-visit
    rows, ...)."""


_FACTOR_TYPES = (pl.Utf8, pl.Categorical, pl.Enum, pl.Boolean)


def as_polars(data) -> pl.DataFrame:
    if isinstance(data, pl.DataFrame):
        return data
    try:
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            return pl.from_pandas(data)
    except ImportError:  # pragma: no cover
        pass
    raise TypeError("data must be a polars or pandas DataFrame")


def _is_factor(s: pl.Series) -> bool:
    return isinstance(s.dtype, (pl.Categorical, pl.Enum)) or s.dtype in (pl.Utf8, pl.Boolean)


def _levels(s: pl.Series, order=None, reference=None) -> list[str]:
    if order is not None:
        levs = [str(v) for v in order]
    elif isinstance(s.dtype, pl.Enum):
        levs = [str(v) for v in s.dtype.categories.to_list()]
        present = set(s.cast(pl.Utf8).unique().to_list())
        levs = [v for v in levs if v in present]
    else:
        levs = sorted(str(v) for v in s.drop_nulls().unique().to_list())
    if reference is not None:
        reference = str(reference)
        if reference not in levs:
            raise MMRMFormulaError(
                f"reference level {reference!r} of {s.name!r} not in its levels {levs}"
            )
        levs = [reference] + [v for v in levs if v != reference]
    return levs


def _aliased(X: np.ndarray, tol: float = 1e-7) -> np.ndarray:
    """Columns that are linear combinations of earlier columns (R's ``qr`` order rule)."""
    XtX = X.T @ X
    p = XtX.shape[0]
    keep: list[int] = []
    out = np.zeros(p, dtype=bool)
    for j in range(p):
        d = XtX[j, j]
        if d <= 0:
            out[j] = True
            continue
        if keep:
            K = XtX[np.ix_(keep, keep)]
            b = XtX[keep, j]
            r = d - b @ np.linalg.solve(K, b)
        else:
            r = d
        if r <= tol * d:
            out[j] = True
        else:
            keep.append(j)
    return out


def _col_kinds(Xr, sidx, names):
    order = np.argsort(sidx, kind="stable")
    s = sidx[order]
    starts = np.flatnonzero(np.r_[True, s[1:] != s[:-1]])
    out = []
    for j, n in enumerate(names):
        if n == "Intercept":
            out.append("intercept")
            continue
        x = Xr[order, j]
        same = np.all(np.maximum.reduceat(x, starts) == np.minimum.reduceat(x, starts))
        out.append("between" if same else "within")
    return out


def fit(
    data,
    formula: str,
    covariance: str = "UN",
    *,
    subject: str = "USUBJID",
    visit: str = "AVISIT",
    visit_order=None,
    group: str | None = None,
    coords=None,
    method: str = "REML",
    df: str = "satterthwaite",
    vcov: str | None = None,
    weights=None,
    reference_levels: dict | None = None,
    fallback=(),
    alpha: float = 0.05,
    theta=None,
) -> MMRMResult:
    """Fit an MMRM given a Wilkinson formula for the fixed effects.

    Parameters
    ----------
    data : polars or pandas DataFrame, long format (one row per subject and visit)
    formula : str
        ``"RESPONSE ~ fixed effects"``, e.g. ``"CHG ~ BASE * AVISIT + STRATUM + ARM * AVISIT"``.
    covariance : str
        Structure (:data:`hepatrial.models.mmrm_cov.STRUCTURES`; SAS/mmrm spellings such as
        ``"ARH(1)"``, ``"ANTE(1)"``, ``"SP(EXP)"``, ``"us"`` accepted).
    subject, visit : str
        Subject and visit columns (SAS ``REPEATED visit / SUBJECT=subject``). The visit need
        not be in the formula (e.g. an ANCOVA-type model ``Y ~ ARM`` with repeated measures).
    visit_order : sequence, optional
        Visit levels in time order (default sorted / enum order); positions for AR1, TOEP, AD.
    group : str, optional
        Separate covariance matrix (same structure) per level of this column (SAS
        ``GROUP=``; mmrm ``us(AVISIT | ARM / USUBJID)``); must be constant within subject.
    coords : str or sequence of str, optional
        Coordinate column(s) of each observation for ``SP_EXP`` (SAS ``SP(EXP)(c-list)``;
        Euclidean distance); default the visit positions 0, 1, ...
    method : "REML" or "ML"
    df : str
        ``"satterthwaite"``, ``"kenward_roger"`` (SAS ``DDFM=KR``), ``"kenward_roger_linear"``
        (``DDFM=KR(LINEAR)``), ``"between_within"`` (``DDFM=BETWITHIN`` as mmrm),
        ``"residual"``, ``"asymptotic"``.
    vcov : str, optional
        Covariance of the fixed effects: ``"model"`` (default), ``"empirical"``,
        ``"empirical_bias_reduced"``, ``"empirical_jackknife"`` (mmrm ``vcov =``; SAS
        ``EMPIRICAL``); KR df imply the KR-adjusted covariance.
    weights : str or array, optional
        Observation weights (SAS ``WEIGHT``; mmrm ``weights``): ``Var(y_ij) = Sigma_jj / w_ij``.
    reference_levels : dict, optional
        ``{factor: reference level}``; default the first level.
    fallback : sequence of str
        Structures tried in turn if ``covariance`` does not converge.
    theta : array, optional
        Evaluate at these covariance parameters (engine parametrisation) instead of fitting.

    Returns
    -------
    MMRMResult
    """
    from formulaic import Formula, model_matrix

    d0 = as_polars(data)
    f = Formula(formula)
    if not hasattr(f, "lhs") or len(f.lhs) != 1:
        raise MMRMFormulaError("formula needs one response: 'Y ~ terms'")
    response = str(next(iter(f.lhs)))
    rhs = f.rhs
    rhs_vars = sorted(rhs.required_variables)
    coord_cols = [coords] if isinstance(coords, str) else list(coords or [])
    w_col = weights if isinstance(weights, str) else None
    absent = [v for v in rhs_vars if v not in d0.columns]
    if absent:
        raise MMRMFormulaError(
            "variable(s) named in the formula not found in the data: "
            + ", ".join(repr(v) for v in absent)
        )
    if response not in d0.columns:
        raise MMRMFormulaError(f"response {response!r} not found in the data")
    others = [c for c in [subject, visit, group, w_col, *coord_cols] if c]
    absent = [c for c in others if c not in d0.columns]
    if absent:
        raise MMRMFormulaError(f"columns not found in the data: {absent}")
    needed = list(dict.fromkeys([response, *rhs_vars, *others]))
    d = d0.select(needed)
    if weights is not None and w_col is None:
        d = d.with_columns(pl.Series("__w", np.asarray(weights, float)))
        w_col = "__w"
    n0 = d.height
    resp_ok = pl.col(response).is_not_null()
    if d.schema[response].is_float():
        resp_ok = resp_ok & pl.col(response).is_not_nan()
    d = d.filter(resp_ok)
    n_missing_response = n0 - d.height
    n1 = d.height
    d = d.drop_nulls()
    num = [c for c in d.columns if d.schema[c].is_float()]
    if num:
        d = d.filter(pl.all_horizontal([pl.col(c).is_not_nan() for c in num]))
    n_dropped = n1 - d.height
    if d.height == 0:
        raise MMRMFormulaError("no complete rows")
    if w_col is not None and not bool((d[w_col] > 0).all()):
        raise MMRMFormulaError("weights must be positive")

    # factors: levels (reference first) and enum casts
    reference_levels = dict(reference_levels or {})
    unknown = set(reference_levels) - set(rhs_vars) - {visit}
    if unknown:
        raise MMRMFormulaError(
            f"reference_levels for variables not in the model: {sorted(unknown)}"
        )
    factor_levels: dict[str, list[str]] = {}
    casts = []
    for v in dict.fromkeys([*rhs_vars, visit]):
        s = d[v]
        if v == visit or _is_factor(s) or v in reference_levels:
            levs = _levels(
                s.cast(pl.Utf8) if s.dtype == pl.Boolean else s,
                visit_order if v == visit else None,
                reference_levels.get(v),
            )
            bad = set(s.cast(pl.Utf8).unique().to_list()) - set(levs)
            if bad:
                raise MMRMFormulaError(f"values of {v!r} not in its levels: {sorted(bad)}")
            factor_levels[v] = levs
            casts.append(pl.col(v).cast(pl.Utf8).cast(pl.Enum(levs)))
    # visit slots (covariance positions) in time order, whatever the reference level
    vlev = _levels(d[visit].cast(pl.Utf8), visit_order)
    vis = pl.Series(d[visit].cast(pl.Utf8)).cast(pl.Enum(vlev)).to_physical()
    vis = vis.cast(pl.Int64).to_numpy()
    d = d.with_columns(casts)
    covariates = [v for v in rhs_vars if v not in factor_levels]

    mm = model_matrix(rhs, d, output="numpy", na_action="raise")
    spec = mm.model_spec
    X_full = np.asarray(mm, float)
    names_full = list(spec.column_names)
    aliased = _aliased(X_full)
    X = X_full[:, ~aliased]
    names = [n for n, a in zip(names_full, aliased) if not a]

    # subjects, visits, groups
    subj = d[subject].cast(pl.Utf8)
    subjects = subj.unique().sort().to_numpy()
    sidx = (subj.rank("dense") - 1).cast(pl.Int64).to_numpy()
    T = len(vlev)
    if np.unique(sidx * T + vis).size != sidx.size:
        raise MMRMFormulaError(f"more than one row per {subject} x {visit}")
    ns = subjects.size
    group_levels = None
    gsub = np.zeros(ns, dtype=np.int64)
    if group is not None:
        group_levels = _levels(d[group].cast(pl.Utf8))
        gc = pl.Series(d[group].cast(pl.Utf8)).cast(pl.Enum(group_levels)).to_physical()
        gc = gc.cast(pl.Int64).to_numpy()
        if np.unique(sidx * len(group_levels) + gc).size != ns:
            raise MMRMFormulaError(f"{group!r} is not constant within {subject}")
        gsub[sidx] = gc
    y = d[response].cast(pl.Float64).to_numpy()
    y_scale = float(np.std(y)) if y.size > 1 and np.std(y) > 0 else 1.0
    w = d[w_col].cast(pl.Float64).to_numpy() if w_col else None
    C = d.select(coord_cols).cast(pl.Float64).to_numpy() if coord_cols else None
    if C is None and covariance.upper().replace(" ", "") in ("SP_EXP", "SP(EXP)", "SPEXP"):
        C = vis[:, None].astype(float)
    kinds = _col_kinds(X, sidx, names)
    design = design_from_rows(
        X, y / y_scale, sidx, vis, T, gsub, subjects, names, weights=w, coords=C, col_kind=kinds
    )
    n_groups = len(group_levels) if group_levels else 1
    core = FitCore(
        design,
        covariance,
        n_groups,
        reml=method.upper() == "REML",
        df=df,
        vcov=vcov,
        fallback=fallback,
        y_scale=y_scale,
        theta_fixed=theta,
    )
    return MMRMResult(
        core=core,
        data=d,
        formula=formula,
        response=response,
        spec=spec,
        rhs=rhs,
        X_full=X_full,
        names_full=names_full,
        aliased=aliased,
        names=names,
        factor_levels=factor_levels,
        covariates=covariates,
        subject=subject,
        visit=visit,
        group=group,
        group_levels=group_levels,
        alpha=alpha,
        n_missing_response=n_missing_response,
        n_dropped_incomplete=n_dropped,
        weights=w,
    )


class MMRMResult:
    """A fitted MMRM (from :func:`fit`).

    Attributes
    ----------
    coef : polars.DataFrame
        ``term, estimate, se, df, t, p, lower, upper`` for every column of the design (aliased
        columns with null estimate and ``aliased`` true).
    beta : ndarray, estimates of the non-aliased coefficients (``coef_names``)
    vcov : ndarray, their covariance (KR-adjusted / empirical as requested)
    vcov_model : ndarray, ``(X'V^-1X)^-1``
    cov : dict group level -> Sigma (or ``{None: Sigma}`` ungrouped)
    covparms : polars.DataFrame, SAS ``Covariance Parameter Estimates``
    loglik, fit_stats : log-likelihood; SAS ``Fit Statistics`` (-2 LL, AIC, AICC, BIC)
    theta, theta_vcov : engine covariance parameters and their inverse observed information
    aliased : list of str, names of the aliased (dropped) columns
    """

    def __init__(
        self,
        *,
        core,
        data,
        formula,
        response,
        spec,
        rhs,
        X_full,
        names_full,
        aliased,
        names,
        factor_levels,
        covariates,
        subject,
        visit,
        group,
        group_levels,
        alpha,
        n_missing_response,
        n_dropped_incomplete,
        weights,
    ):
        self._core = core
        self._data = data
        self._spec = spec
        self._rhs = rhs
        self._X_full = X_full
        self._alias_mask = aliased
        self.formula = formula
        self.response = response
        self.names_full = names_full
        self.coef_names = names
        self.aliased = [n for n, a in zip(names_full, aliased) if a]
        self.factor_levels = factor_levels
        self.covariates = covariates
        self.subject, self.visit, self.group = subject, visit, group
        self.group_levels = group_levels
        self.alpha = alpha
        self.n_missing_response = n_missing_response
        self.n_dropped_incomplete = n_dropped_incomplete
        self._weights = weights
        self.beta = core.beta
        self.vcov = core.vcov
        self.vcov_model = core.vcov_model
        self.theta = core.theta
        self.theta_vcov = core.theta_vcov
        self.loglik = core.loglik
        self.covariance = core.covariance_used
        self.converged = True
        self.n_obs = core.n_obs
        self.n_subjects = core.n_subjects
        self.df_method = core.df
        self.vcov_method = core.vcov_method
        keys = group_levels or [None]
        self.cov = dict(zip(keys, core.cov_matrices))
        cp = core.sas_covparms()
        self.covparms = pl.DataFrame(
            {
                "group": [None if group_levels is None else group_levels[g] for g, _, _ in cp],
                "parm": [n for _, n, _ in cp],
                "estimate": [v for _, _, v in cp],
            },
            schema={"group": pl.Utf8, "parm": pl.Utf8, "estimate": pl.Float64},
        )
        q = core.engine.n_theta
        m2 = -2 * self.loglik
        n_eff = self.n_obs - (core.design.p if core.reml else 0)
        k = q if core.reml else q + core.design.p
        self.fit_stats = {
            "-2 log likelihood": m2,
            "AIC": m2 + 2 * k,
            "AICC": m2 + 2 * k * n_eff / max(n_eff - k - 1, 1),
            "BIC": m2 + k * np.log(self.n_subjects),
        }
        est, se, dfv = core.contrast(np.eye(len(names)))
        lo, hi, t, p = t_summary(est, se, dfv, alpha)
        full = {n: i for i, n in enumerate(names)}
        recs = []
        for n in names_full:
            i = full.get(n)
            if i is None:
                recs.append(
                    {
                        "term": n,
                        "estimate": None,
                        "se": None,
                        "df": None,
                        "t": None,
                        "p": None,
                        "lower": None,
                        "upper": None,
                        "aliased": True,
                    }
                )
            else:
                recs.append(
                    {
                        "term": n,
                        "estimate": est[i],
                        "se": se[i],
                        "df": dfv[i],
                        "t": t[i],
                        "p": p[i],
                        "lower": lo[i],
                        "upper": hi[i],
                        "aliased": False,
                    }
                )
        self.coef = pl.DataFrame(
            recs,
            schema={
                "term": pl.Utf8,
                "estimate": pl.Float64,
                "se": pl.Float64,
                "df": pl.Float64,
                "t": pl.Float64,
                "p": pl.Float64,
                "lower": pl.Float64,
                "upper": pl.Float64,
                "aliased": pl.Boolean,
            },
        )

    # ------------------------------------------------------------------------------------------
    def tidy(self) -> pl.DataFrame:
        """The coefficient table (broom-style)."""
        return self.coef

    def _L(self, L) -> np.ndarray:
        if isinstance(L, dict):
            out = np.zeros(len(self.coef_names))
            for k, v in L.items():
                if k not in self.coef_names:
                    raise KeyError(f"{k!r} is not a (non-aliased) coefficient")
                out[self.coef_names.index(k)] = v
            return out[None, :]
        L = np.atleast_2d(np.asarray(L, float))
        if L.shape[1] == len(self.names_full) and len(self.names_full) != len(self.coef_names):
            L = L[:, ~self._alias_mask]
        return L

    def contrast(self, L, labels=None) -> pl.DataFrame:
        """Estimate, SE, df, t, p and CI of each row of ``L`` (over ``coef_names``, or over all
        columns including aliased ones, or a ``{coefficient: weight}`` dict)."""
        L = self._L(L)
        est, se, dfv = self._core.contrast(L)
        lo, hi, t, p = t_summary(est, se, dfv, self.alpha)
        labels = labels or [f"c{i + 1}" for i in range(L.shape[0])]
        return pl.DataFrame(
            {
                "contrast": labels,
                "estimate": est,
                "se": se,
                "df": dfv,
                "t": t,
                "p": p,
                "lower": lo,
                "upper": hi,
            }
        )

    def f_test(self, L) -> dict:
        """Wald F test of ``L beta = 0`` (rows as in :meth:`contrast`)."""
        c, ddf, F, p = self._core.f_test(self._L(L))
        return {"num_df": c, "den_df": ddf, "F": F, "p": p}

    # ------------------------------------------------------------------------------------------
    def _grid(self, at=None):
        """Reference grid: every combination of factor levels in the model, covariates at
        their means over the analysis rows (or ``at``). Returns (grid frame, rows of the full
        model matrix)."""
        at = dict(at or {})
        fl = {v: lv for v, lv in self.factor_levels.items() if v in self._rhs.required_variables}
        for v, val in at.items():
            if v in fl:
                vals = val if isinstance(val, (list, tuple)) else [val]
                fl[v] = [str(x) for x in vals]
        combos = list(itertools.product(*fl.values())) if fl else [()]
        cols = {v: [c[i] for c in combos] for i, v in enumerate(fl)}
        n = len(combos)
        for c in self.covariates:
            cols[c] = [float(at[c]) if c in at else float(self._data[c].mean())] * n
        grid = pl.DataFrame(cols) if cols else pl.DataFrame({"__": [0] * n})
        grid = grid.with_columns([pl.col(v).cast(pl.Enum(self.factor_levels[v])) for v in fl])
        Xg = np.asarray(self._spec.get_model_matrix(grid, output="numpy"), float)
        return grid, Xg

    def _estimable(self, Lfull, tol=1e-6):
        X = self._X_full
        G = np.linalg.pinv(X.T @ X)
        P = G @ (X.T @ X)
        resid = Lfull - Lfull @ P
        return np.sqrt((resid**2).sum(1)) <= tol * np.maximum(np.sqrt((Lfull**2).sum(1)), 1e-300)

    def lsmeans_L(self, specs, at=None, weights="equal"):
        """LS-mean rows (frame of ``specs`` levels, L over all columns, estimable flags)."""
        specs = [specs] if isinstance(specs, str) else list(specs)
        grid, Xg = self._grid(at)
        for s in specs:
            if s not in grid.columns or s not in self.factor_levels:
                raise ValueError(f"{s!r} is not a factor of the model")
        other = [v for v in grid.columns if v in self.factor_levels and v not in specs]
        if weights == "equal":
            w = np.ones(grid.height)
        elif weights == "proportional":
            # observed joint frequencies of the other factors' combinations (emmeans
            # "proportional", SAS OBSMARGINS)
            if other:
                freq = self._data.group_by(other).len()
                key = grid.select(other).with_columns([pl.col(v).cast(pl.Utf8) for v in other])
                freq = freq.with_columns([pl.col(v).cast(pl.Utf8) for v in other])
                w = key.join(freq, on=other, how="left", maintain_order="left")["len"]
                w = w.fill_null(0).to_numpy().astype(float)
            else:
                w = np.ones(grid.height)
        else:
            raise ValueError("weights must be 'equal' or 'proportional'")
        keys = grid.select(specs).with_columns([pl.col(s).cast(pl.Utf8) for s in specs])
        levels = [self.factor_levels[s] for s in specs]
        rows, labs = [], []
        for combo in itertools.product(*levels):
            m = np.ones(grid.height, dtype=bool)
            for s, v in zip(specs, combo):
                m &= keys[s].to_numpy() == v
            ww = w[m]
            if not m.any() or ww.sum() == 0:
                continue
            rows.append((ww[:, None] * Xg[m]).sum(0) / ww.sum())
            labs.append(combo)
        Lfull = np.array(rows)
        est = self._estimable(Lfull)
        frame = pl.DataFrame({s: [c[i] for c in labs] for i, s in enumerate(specs)})
        return frame, Lfull, est

    def lsmeans(self, specs, at=None, weights="equal") -> pl.DataFrame:
        """LS means (SAS ``LSMEANS``; emmeans) of the factor(s) ``specs`` (e.g. ``["ARM",
        "AVISIT"]``), other factors averaged with ``weights`` (``"equal"``: SAS/emmeans
        default; ``"proportional"``: observed proportions, SAS ``OBSMARGINS``), covariates at
        their means over the analysis rows or at ``at``. Non-estimable rows have null
        estimates."""
        frame, Lfull, ok = self.lsmeans_L(specs, at, weights)
        return self._rows_table(frame, Lfull, ok)

    def _rows_table(self, frame, Lfull, ok):
        L = Lfull[:, ~self._alias_mask]
        est, se, dfv = self._core.contrast(L)
        lo, hi, t, p = t_summary(est, se, dfv, self.alpha)
        out = {"estimate": est, "se": se, "df": dfv, "t": t, "p": p, "lower": lo, "upper": hi}
        cols = {k: pl.Series(k, np.where(ok, v, np.nan)) for k, v in out.items()}
        return frame.with_columns([v.fill_nan(None) for v in cols.values()])

    def lsmeans_diff(
        self, spec: str, by=None, reference=None, at=None, weights="equal"
    ) -> pl.DataFrame:
        """Differences of LS means of ``spec`` levels against ``reference`` (default its
        reference level), within each level of ``by`` (e.g. arm differences per visit)."""
        by = [] if by is None else ([by] if isinstance(by, str) else list(by))
        frame, Lfull, ok = self.lsmeans_L([spec, *by], at, weights)
        reference = str(reference) if reference is not None else self.factor_levels[spec][0]
        recs, rows, oks = [], [], []
        byvals = frame.select(by).unique(maintain_order=True).rows() if by else [()]
        for bv in byvals:
            m = np.ones(frame.height, dtype=bool)
            for b, v in zip(by, bv):
                m &= frame[b].to_numpy() == v
            idx = np.flatnonzero(m)
            lv = frame[spec].to_numpy()[idx]
            if reference not in lv:
                continue
            r = idx[lv == reference][0]
            for i in idx:
                if i == r:
                    continue
                rows.append(Lfull[i] - Lfull[r])
                oks.append(ok[i] and ok[r])
                recs.append(
                    {
                        spec: frame[spec][int(i)],
                        "reference": reference,
                        **{b: v for b, v in zip(by, bv)},
                    }
                )
        if not rows:
            return pl.DataFrame()
        return self._rows_table(pl.DataFrame(recs), np.array(rows), np.array(oks))

    # ------------------------------------------------------------------------------------------
    def _terms(self):
        """(label, variables, columns in the full matrix) per term except the intercept."""
        out = []
        for term, cols in self._spec.term_indices.items():
            vars_ = [str(f) for f in term.factors]
            if vars_ == ["1"]:
                continue
            out.append((":".join(vars_), vars_, list(cols)))
        return out

    def type3_L(self) -> dict:
        """SAS type III hypotheses per term (over the non-aliased coefficients): the term's
        coefficients under sum-to-zero coding of every factor, mapped to this model's coding
        (``L_s (X_s'X_s)^-1 X_s'X``; as R mmrm/car with ``contr.sum``)."""
        from formulaic import model_matrix

        fac = set(self.factor_levels)

        def enc(v):
            return f"C({v}, contr.sum)" if v in fac else v

        terms = self._terms()
        has_int = any(str(f) == "1" for t in self._spec.term_indices for f in t.factors)
        rhs = ("1" if has_int else "0") + "".join(
            " + " + ":".join(enc(v) for v in vars_) for _, vars_, _ in terms
        )
        ms = model_matrix(rhs, self._data, output="numpy", na_action="raise")
        Xs = np.asarray(ms, float)
        if Xs.shape[1] != self._X_full.shape[1]:
            raise RuntimeError("sum-coded design has another rank structure")
        back = {enc(v): v for v in self.factor_levels} | {v: v for v in self.covariates}
        s_cols = {}
        for term, cols in ms.model_spec.term_indices.items():
            key = frozenset(back.get(str(f), str(f)) for f in term.factors)
            s_cols[key] = list(cols)
        keep = ~self._alias_mask
        Xs_k, X_k = Xs[:, keep], self._X_full[:, keep]
        corr = np.linalg.solve(Xs_k.T @ Xs_k, Xs_k.T @ X_k)
        pos = np.cumsum(keep) - 1
        out = {}
        for label, vars_, _ in terms:
            cols = [c for c in s_cols[frozenset(vars_)] if keep[c]]
            if not cols:
                continue
            Ls = np.zeros((len(cols), keep.sum()))
            Ls[np.arange(len(cols)), pos[cols]] = 1.0
            L = Ls @ corr
            L[np.abs(L) < 1e-10] = 0.0
            out[label] = L
        return out

    def type2_L(self) -> dict:
        """Type II hypotheses per term (car/mmrm ``Anova(type = "II")``): the term's
        coefficients adjusted for every term not containing it; a higher-order term containing
        it (and no extra covariate) gets ``(X1'M0X1)^-1 X1'M0X2``, with ``M0`` the residual
        projection of the remaining columns."""
        terms = self._terms()
        X = self._X_full
        XtX = X.T @ X
        keep = ~self._alias_mask
        fac = set(self.factor_levels)
        out = {}
        for label, vars_, cols in terms:
            L = np.zeros((len(cols), X.shape[1]))
            L[np.arange(len(cols)), cols] = 1.0
            for label2, vars2, cols2 in terms:
                if label2 == label:
                    continue
                extra = set(vars2) - set(vars_)
                if not (set(vars_) <= set(vars2) and extra and extra <= fac):
                    continue
                c0 = [c for c in range(X.shape[1]) if c not in cols and c not in cols2]
                A00 = np.linalg.pinv(XtX[np.ix_(c0, c0)])

                def proj(a, b, c0=c0, A00=A00):
                    return XtX[np.ix_(a, b)] - XtX[np.ix_(a, c0)] @ A00 @ XtX[np.ix_(c0, b)]

                L[:, cols2] = np.linalg.pinv(proj(cols, cols)) @ proj(cols, cols2)
            L = L[:, keep]
            L[np.abs(L) < 1e-10] = 0.0
            L = L[np.abs(L).sum(1) > 0]
            if L.size:
                out[label] = L
        return out

    def anova(self, type: int = 3) -> pl.DataFrame:
        """F tests per model term: ``type=3`` (SAS ``Type 3 Tests of Fixed Effects``) or
        ``type=2``; df by the fit's method (Satterthwaite / KR / ...)."""
        Ls = self.type3_L() if int(type) == 3 else self.type2_L()
        recs = []
        for term, L in Ls.items():
            c, ddf, F, p = self._core.f_test(L)
            recs.append({"term": term, "num_df": c, "den_df": ddf, "F": F, "p": p})
        return pl.DataFrame(recs)
