"""Validation findings: one row per finding, collected as polars frames.

Severity:
- ``FATAL``: the run stops (one-line message naming file, row and column);
- ``ERROR``: the value is unusable (set missing) or the row is excluded, and the run goes on;
- ``WARNING``: flagged and carried unchanged (out of range, out of window, ...);
- ``INFO``: a harmless normalisation (case, spaces, missing tokens).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

FINDING_SCHEMA = {
    "severity": pl.Utf8,
    "domain": pl.Utf8,
    "file": pl.Utf8,
    "row": pl.Int64,
    "USUBJID": pl.Utf8,
    "column": pl.Utf8,
    "value": pl.Utf8,
    "rule": pl.Utf8,
    "message": pl.Utf8,
}
SEVERITY_ORDER = {"FATAL": 0, "ERROR": 1, "WARNING": 2, "INFO": 3}
HIDDEN = "(blinded)"  # the value of a finding on a hidden column (a blinded run's arm columns)


def merged(a, b) -> tuple:
    """The values of two tallies, distinct and sorted (a tally's ``merge`` for sets of values)."""
    return tuple(sorted(set(a) | set(b)))


class Findings:
    """The findings of one run. ``hidden``: columns whose values no finding shows (a blinded run's
    arm and exposure columns, :data:`hepatrial.ingest.dummy.BLINDED_COLUMNS`): a finding names its
    subject and row, so its value is written as :data:`HIDDEN` in every frame this object gives,
    hence in findings.csv, in the one-line error and in the log of a run that stops."""

    def __init__(self, hidden: tuple[str, ...] = ()) -> None:
        self.hidden = hidden
        self._frames: list[pl.DataFrame | tuple] = []  # a tuple: the key of a tally
        self._tallies: dict[tuple, dict] = {}

    def add(
        self,
        severity: str,
        domain: str,
        file: str | None,
        rule: str,
        message: str,
        row: int | None = None,
        usubjid: str | None = None,
        column: str | None = None,
        value: str | None = None,
    ) -> None:
        self._frames.append(
            pl.DataFrame(
                [
                    {
                        "severity": severity,
                        "domain": domain,
                        "file": file,
                        "row": row,
                        "USUBJID": usubjid,
                        "column": column,
                        "value": value,
                        "rule": rule,
                        "message": message,
                    }
                ],
                schema=FINDING_SCHEMA,
            )
        )

    def add_rows(
        self,
        rows: pl.DataFrame,
        severity: str,
        domain: str,
        file: str | None,
        rule: str,
        message: str,
        column: str | None = None,
        value: pl.Expr | None = None,
    ) -> None:
        """One finding per row of ``rows`` (which has SRCROW, and USUBJID / ``column`` if present).
        ``value``: the finding's value, when it is not the row's value of ``column``."""
        if rows.height == 0:
            return
        cols = rows.columns
        frame = rows.select(
            pl.lit(severity).alias("severity"),
            pl.lit(domain).alias("domain"),
            pl.lit(file, dtype=pl.Utf8).alias("file"),
            pl.col("SRCROW").cast(pl.Int64).alias("row"),
            (pl.col("USUBJID").cast(pl.Utf8) if "USUBJID" in cols else pl.lit(None, pl.Utf8)).alias(
                "USUBJID"
            ),
            pl.lit(column, dtype=pl.Utf8).alias("column"),
            (
                value.cast(pl.Utf8)
                if value is not None
                else pl.col(column).cast(pl.Utf8)
                if column and column in cols
                else pl.lit(None, pl.Utf8)
            ).alias("value"),
            pl.lit(rule).alias("rule"),
            pl.lit(message).alias("message"),
        )
        self._frames.append(frame)

    def tally(
        self,
        severity: str,
        domain: str,
        file: str | None,
        rule: str,
        message: str | Callable[[int, Any], str],
        *,
        n: int = 1,
        row: int | None = None,
        usubjid: str | None = None,
        column: str | None = None,
        value: str | None = None,
        key: tuple = (),
        extra: Any = None,
        merge: Callable[[Any, Any], Any] | None = None,
        keep: Callable[[Any], bool] | None = None,
    ) -> None:
        """One finding that sums over the chunks of a domain (:mod:`hepatrial.ingest.spill`): "n
        value(s) ... (first at this row)". Calls with the same (severity, domain, file, rule,
        column, ``key``) are one finding: ``n`` added up, the row, value and USUBJID of the earliest
        row, ``extra`` combined by ``merge`` (e.g. the set of values seen, the longest length).
        ``message`` is the text, or a function of (n, extra) giving it; ``keep(extra)`` false drops
        the finding (e.g. one unit seen in total). A domain checked whole makes one call."""
        k = (severity, domain, file, rule, column, *key)
        t = self._tallies.get(k)
        if t is None:
            self._tallies[k] = {
                "n": n,
                "row": row,
                "usubjid": usubjid,
                "value": value,
                "extra": extra,
                "message": message,
                "keep": keep,
            }
            self._frames.append(k)
            return
        t["n"] += n
        if row is not None and (t["row"] is None or row < t["row"]):
            t.update(row=row, usubjid=usubjid, value=value)
        if merge is not None:
            t["extra"] = merge(t["extra"], extra)

    def _tally_frame(self, k: tuple) -> pl.DataFrame | None:
        t = self._tallies[k]
        if t["keep"] is not None and not t["keep"](t["extra"]):
            return None
        msg = t["message"]
        severity, domain, file, rule, column = k[:5]
        return pl.DataFrame(
            [
                {
                    "severity": severity,
                    "domain": domain,
                    "file": file,
                    "row": t["row"],
                    "USUBJID": t["usubjid"],
                    "column": column,
                    "value": t["value"],
                    "rule": rule,
                    "message": msg if isinstance(msg, str) else msg(t["n"], t["extra"]),
                }
            ],
            schema=FINDING_SCHEMA,
        )

    def frame(self) -> pl.DataFrame:
        parts = [f if isinstance(f, pl.DataFrame) else self._tally_frame(f) for f in self._frames]
        parts = [f for f in parts if f is not None]
        if not parts:
            return pl.DataFrame(schema=FINDING_SCHEMA)
        df = pl.concat(parts, how="vertical")
        hide = pl.col("column").is_in(self.hidden) & pl.col("value").is_not_null()
        return (
            df.with_columns(
                pl.when(hide).then(pl.lit(HIDDEN)).otherwise("value").alias("value"),
                pl.col("severity").replace_strict(SEVERITY_ORDER, return_dtype=pl.Int8).alias("_o"),
            )
            .sort(["_o", "domain", "row", "column", "rule"], nulls_last=True, maintain_order=True)
            .drop("_o")
        )

    def fatal(self) -> pl.DataFrame:
        return self.frame().filter(pl.col("severity") == "FATAL")


# What a cut does not record, read from its findings (the one record of it: written by ingest or
# the ADaM entry, read by the safety step, the reports' summaries and the listings, which then say
# "not available" where they would count 0)
DEATHS_NOT_RECORDED = "DEATHS_NOT_RECORDED"  # a cut of ADaM datasets: ADSL without DTHFL and DTHDT


def read_findings(path) -> pl.DataFrame:
    """A cut's validation/findings.csv, every column as text."""
    from hepatrial import stamp

    return stamp.read_csv(path, infer_schema_length=0)


def ae_recorded(findings: pl.DataFrame) -> bool:
    """Whether the cut records its adverse events: not a cut of ADaM datasets without ADAE (its
    DOMAIN_ABSENT finding; SDTM AE is required)."""
    absent = (pl.col("rule") == "DOMAIN_ABSENT") & (pl.col("domain") == "ADAE")
    return findings.filter(absent).height == 0


def deaths_recorded(findings: pl.DataFrame) -> bool:
    """Whether the cut records its deaths: no :data:`DEATHS_NOT_RECORDED` finding."""
    return not (findings["rule"] == DEATHS_NOT_RECORDED).any()
