"""A sweep of one-column mutations of a data cut through ingest: which ones crash, stop, or pass
without a finding the unmutated cut lacks (those are the ones to run through the DAG and compare).

Each CSV file of the cut gets, column by column: the column dropped, blanked, lower-cased, padded
with spaces, and one cell set to each of ``VALUES``; then a duplicated row, an extra column and the
file emptied. Each mutated cut goes through :func:`hepatrial.ingest.ingest_cut` in-process:

- ``stop``: a :class:`hepatrial.errors.HepatrialError`, one line (what the user sees);
- ``BUG``: any other exception (a traceback: a fault);
- ``ok``: the rules of findings.csv that the unmutated cut does not have (``new``).

Run ``python tests/fuzz_cut.py OUT.jsonl [STUDY_YAML CUT_DIR]`` (default: the bundled RCT cut); it
writes one JSON line per mutation and prints the BUGs and the count of silent mutations (``ok``
with nothing ``new``). Session 17's sweep of the bundled RCT cut (1 950 mutations) found no BUG;
its silent mutations, run through the DAG, found the faults its note lists.
"""

from __future__ import annotations

import json
import random
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
VALUES = ("zz<>&", " ", "-1", "1e10", "NaN", "inf", "2025-13-45", "2025-06", "2023",
          "2025-06-30T25:00", "0", "ü名", "NA", ".")  # fmt: skip


def mutations(df: pl.DataFrame, rng: random.Random) -> Iterator[tuple[str, pl.DataFrame]]:
    """(name, mutated frame) of one domain file (every column text)."""
    n = df.height
    for c in df.columns:
        yield f"drop {c}", df.drop(c)
        yield f"blank {c}", df.with_columns(pl.lit(None, pl.Utf8).alias(c))
        yield f"lower {c}", df.with_columns(pl.col(c).str.to_lowercase())
        yield f"pad {c}", df.with_columns((pl.lit(" ") + pl.col(c) + pl.lit(" ")).alias(c))
        if n:
            i = rng.randrange(n)
            for v in VALUES:
                cells = df[c].to_list()
                cells[i] = v
                yield f"cell {c}[{i}]={v!r}", df.with_columns(pl.Series(c, cells, pl.Utf8))
    if n:
        yield "dup row", pl.concat([df, df.slice(rng.randrange(n), 1)])
    yield "extra col", df.with_columns(pl.lit("x").alias("ZZEXTRA"))
    yield "empty", df.head(0)


def _ingest(cut: Path, study: Path, work: Path) -> dict:
    from hepatrial.errors import HepatrialError
    from hepatrial.ingest import ingest_cut

    try:
        ingest_cut(cut, study, work / "sdtm", work / "validation", failure_dir=work / "logs")
    except HepatrialError as exc:
        return {"status": "stop", "message": " ".join(str(exc).split())[:300]}
    except Exception as exc:  # noqa: BLE001 - a traceback is what the sweep looks for
        return {"status": "BUG", "message": f"{type(exc).__name__}: {exc}"[:500]}
    found = pl.read_csv(work / "validation" / "findings.csv", infer_schema=False)
    return {"status": "ok", "rules": sorted(set(found["rule"].to_list()))}


def sweep(study: Path, cut: Path, out: Path, seed: int = 7) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as tmp:
        base = set(_ingest(cut, study, Path(tmp, "base"))["rules"])
    bugs, silent = [], 0
    with out.open("w", encoding="utf-8") as fh:
        for f in sorted(cut.glob("*.csv")):
            for name, df in mutations(pl.read_csv(f, infer_schema=False), rng):
                with tempfile.TemporaryDirectory() as tmp:
                    work = Path(tmp)
                    mutated = work / cut.name
                    shutil.copytree(cut, mutated)
                    df.write_csv(mutated / f.name)
                    rec = {"file": f.name, "mutation": name, **_ingest(mutated, study, work)}
                if rec["status"] == "ok":
                    rec["new"] = sorted(set(rec.pop("rules")) - base)
                    silent += not rec["new"]
                elif rec["status"] == "BUG":
                    bugs.append(rec)
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
    for b in bugs:
        print(f"BUG {b['file']} {b['mutation']}: {b['message']}")
    print(f"{len(bugs)} BUG(s), {silent} silent mutation(s); every mutation in {out}")


if __name__ == "__main__":
    args = sys.argv[1:]
    study, cut = (
        (Path(args[1]), Path(args[2]))
        if len(args) == 3
        else (ROOT / "config/studies/ucmsc-dc-rct.yaml", ROOT / "data/UCMSC-DC-RCT/2025-06-30")
    )
    sweep(study, cut, Path(args[0]))
