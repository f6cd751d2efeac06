"""Write ADaM datasets as Parquet and as SAS transport v5 (XPT), the format sponsors submit.

XPT v5 limits names to 8 characters, labels to 40 and character values to 200 bytes (longer text is
cut to its first 200 bytes at a character boundary, flagged at ingest); dates are
written as SAS dates with format DATE9. Rows are written in the dataset's own sort order, so the
same input gives byte-identical files.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

if TYPE_CHECKING:  # annotations only: imported where used
    import numpy as np
    import pandas as pd

from hepatrial import stamp

LABELS = {
    "STUDYID": "Study Identifier",
    "USUBJID": "Unique Subject Identifier",
    "SUBJID": "Subject Identifier",
    "SITEID": "Study Site Identifier",
    "ARM": "Description of Planned Arm",
    "ACTARM": "Description of Actual Arm",
    "TRT01P": "Planned Treatment for Period 01",
    "TRT01PN": "Planned Treatment for Period 01 (N)",
    "TRT01A": "Actual Treatment for Period 01",
    "TRT01AN": "Actual Treatment for Period 01 (N)",
    "AGE": "Age",
    "SEX": "Sex",
    "RACE": "Race",
    "COUNTRY": "Country",
    "RANDDT": "Date of Randomization",
    "TRTSDT": "Date of First Exposure to Treatment",
    "TRTEDT": "Date of Last Exposure to Treatment",
    "NINFUS": "Number of Infusions Received",
    "ORIGDT": "Analysis Origin Date",
    "LSTALVDT": "Date Last Known Alive",
    "DTHDT": "Date of Death",
    "DTHDTF": "Date of Death Imputation Flag",
    "DTHFL": "Subject Death Flag",
    "LTXDT": "Date of Liver Transplant",
    "LTXDTF": "Date of Liver Transplant Imput. Flag",
    "EOSSTT": "End of Study Status",
    "DCSREAS": "Reason for Discontinuation from Study",
    "ENRLFL": "Enrolled Population Flag",
    "ITTFL": "Intent-To-Treat Population Flag",
    "SAFFL": "Safety Population Flag",
    "PPFL": "Per-Protocol Population Flag",
    "COMPLFL": "Completers Population Flag",
    "CHOLFL": "Cholestatic Etiology Flag",
    "MELDETIO": "Etiology Term of Kamath MELD (0/1)",
    "DCUTDT": "Data Cut-off Date",
    "BLMELD": "Baseline MELD",
    "BLCTPS": "Baseline CTP Score",
    "BLCTPC": "Baseline CTP Class",
    "PARAMCD": "Parameter Code",
    "PARAM": "Parameter",
    "AVAL": "Analysis Value",
    "AVALC": "Analysis Value (C)",
    "ADT": "Analysis Date",
    "ADY": "Analysis Relative Day",
    "AVISIT": "Analysis Visit",
    "AVISITN": "Analysis Visit (N)",
    "ABLFL": "Baseline Record Flag",
    "ANL01FL": "Analysis Flag 01",
    "BASE": "Baseline Value",
    "CHG": "Change from Baseline",
    "PCHG": "Percent Change from Baseline",
    "ANRLO": "Analysis Normal Range Lower Limit",
    "ANRHI": "Analysis Normal Range Upper Limit",
    "ANRIND": "Analysis Reference Range Indicator",
    "BNRIND": "Baseline Reference Range Indicator",
    "AVALCAT1": "Analysis Value Category 1",
    "BLQFL": "Below Lower Limit of Quantitation Flag",
    "LLOQ": "Lower Limit of Quantitation",
    "ULOQ": "Upper Limit of Quantitation",
    "AWTARGET": "Analysis Window Target",
    "AWTDIFF": "Analysis Window Diff from Target",
    "SRCDOM": "Source Data",
    "SRCROW": "Source Row Number in the Input File",
    "STARTDT": "Time to Event Origin Date for Subject",
    "CNSR": "Censor",
    "EVNTDESC": "Event or Censoring Description",
    "CNSDTDSC": "Censor Date Description",
    "CRCODE": "Competing-Risk Status Code",
    "EVTTYPE": "Competing-Risk Status",
    "ASTDT": "Analysis Start Date",
    "ASTDTF": "Analysis Start Date Imputation Flag",
    "AENDT": "Analysis End Date",
    "AENDTF": "Analysis End Date Imputation Flag",
    "ASTDY": "Analysis Start Relative Day",
    "TRTEMFL": "Treatment Emergent Analysis Flag",
    "ATOXGR": "Analysis Toxicity Grade",
    "AREL": "Analysis Causality (Y/N)",
    "FATALFL": "Fatal Outcome Flag",
    "AEWDFL": "AE Leading to Withdrawal Flag",
    "CECAT": "Clinical Event Category",
    "ONTRTFL": "On or After Origin Flag",
    "DMSRCROW": "Source Row Number in DM",
}


XPT_CHUNK_ROWS = 100_000  # rows encoded at a time: bounds the memory of the XPT writer
XPT_MAX_BYTES = 200  # SAS transport v5: a character variable holds at most 200 bytes
_HEADER_END = b"HEADER RECORD*******OBS"
_SAS_EPOCH_OFFSET = 3653  # days from 1960-01-01 (SAS) to 1970-01-01 (polars Date)
_IBM_SAFE = (1e-70, 1e70)  # magnitudes converted exactly; anything else goes through readstat


def _xpt_frame(df: pl.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """The pandas frame and formats pyreadstat is given by the reference writer (dates as DATE9,
    booleans as Y/N, integers as doubles), built column by column rather than value by value."""
    import datetime as dt

    import numpy as np
    import pandas as pd

    fmt = {}
    pdf = df.with_columns(
        [pl.col(n).cast(pl.Float64) for n, t in df.schema.items() if t.is_integer()]
        + [
            pl.when(pl.col(n))
            .then(pl.lit("Y"))
            .when(pl.col(n).is_not_null())
            .then(pl.lit("N"))
            .alias(n)
            for n, t in df.schema.items()
            if t == pl.Boolean
        ]
    ).to_pandas()
    for name, dtype in df.schema.items():
        if dtype == pl.Date:  # python dates (pyreadstat writes them as SAS dates), None for missing
            days = df[name].cast(pl.Int32).to_numpy()
            obj = np.empty(len(days), dtype=object)
            if len(days):
                valid = ~df[name].is_null().to_numpy()
                base = dt.date(1970, 1, 1)
                uniq, inv = np.unique(days[valid], return_inverse=True)
                lut = np.array(
                    [base + dt.timedelta(days=int(d)) for d in uniq] + [None], dtype=object
                )
                obj[valid] = lut[inv] if len(uniq) else None
                obj[~valid] = None
            pdf[name] = pd.Series(obj, dtype=object, index=pdf.index)
            fmt[name] = "DATE9"
    return pdf, fmt


def cap_text_bytes(df: pl.DataFrame, limit: int = XPT_MAX_BYTES) -> pl.DataFrame:
    """Every text value cut to at most ``limit`` bytes of UTF-8, at a character boundary (the XPT
    v5 limit; ingest flags each such value with the finding ``TEXT_TRUNCATED_XPT``). Only the long
    values are touched; the Parquet copy keeps them whole."""
    out = []
    for name, dtype in df.schema.items():
        if dtype != pl.Utf8 or (df[name].str.len_bytes().max() or 0) <= limit:
            continue
        s = df[name]
        idx = (s.str.len_bytes() > limit).arg_true()
        cut = [v.encode("utf-8")[:limit].decode("utf-8", "ignore") for v in s.gather(idx).to_list()]
        out.append(s.scatter(idx, pl.Series(cut, dtype=pl.Utf8)))
    return df.with_columns(out) if out else df


def _write_xpt_pyreadstat(df: pl.DataFrame, xpt: str | Path, name: str, label: str) -> None:
    """The reference writer: the whole frame through pandas and pyreadstat (slow, memory-hungry)."""
    import pyreadstat

    pdf, fmt = _xpt_frame(df)
    labels = [LABELS.get(c, c)[:40] for c in df.columns]
    pyreadstat.write_xport(
        pdf,
        str(xpt),
        table_name=name,
        file_label=label[:40],
        column_labels=labels,
        variable_format=fmt,
        file_format_version=5,
    )


class _Probe:
    """The one row that gives pyreadstat the variable types and widths of a dataset, gathered over
    its pieces in row order (each cast to ``schema``): per text column its longest value (in UTF-8
    bytes), per other column its first non-missing value. ``columns`` are the ones still needed
    (the text columns, and the others until each has shown a value); ``frame()`` is None when there
    are no rows or a text value is over ``XPT_MAX_BYTES`` (the whole-frame path)."""

    def __init__(self, schema: pl.Schema):
        self.schema = schema
        self.text = [c for c, t in schema.items() if t == pl.Utf8]
        self.pending = [c for c in schema if c not in self.text]
        self.values: dict[str, object] = dict.fromkeys(schema)
        self.longest = dict.fromkeys(self.text, -1)
        self.rows, self.too_long = 0, False

    @property
    def columns(self) -> list[str]:
        return self.text + self.pending

    def add(self, chunk: pl.DataFrame) -> None:
        self.rows += chunk.height
        if chunk.height == 0 or self.too_long:
            return
        for c in self.text:
            lens = chunk[c].str.len_bytes().fill_null(-1)
            at = lens.arg_max()
            if lens[at] > XPT_MAX_BYTES:
                self.too_long = True
                return
            if lens[at] > self.longest[c]:
                self.longest[c], self.values[c] = lens[at], chunk[c][at]
        for c in list(self.pending):
            seen = chunk[c].drop_nulls()
            if seen.len():
                self.values[c] = seen[0]
                self.pending.remove(c)

    def frame(self) -> pl.DataFrame | None:
        if self.rows == 0 or self.too_long:
            return None
        return pl.DataFrame({c: [self.values[c]] for c in self.schema}, schema=self.schema)


def _file_probe(files, schema: pl.Schema) -> pl.DataFrame | None:
    """The :class:`_Probe` of the rows of the Parquet ``files`` (a path or a list, stacked in order
    and cast to ``schema``), reading only the columns it still needs, a row group at a time."""
    import pyarrow.parquet as pq

    probe = _Probe(schema)
    for path in [files] if isinstance(files, str | Path) else files:
        f = pq.ParquetFile(str(path))
        for i in range(f.num_row_groups):
            if probe.too_long:
                return None
            cols = probe.columns
            probe.add(
                pl.from_arrow(f.read_row_group(i, columns=cols)).cast({c: schema[c] for c in cols})
            )
    return probe.frame()


def _write_header_probe(probe: pl.DataFrame, path: str | Path, name: str, label: str) -> None:
    """pyreadstat on the one-row probe, given as polars (no pandas import): the variables typed as
    :func:`_xpt_frame` types them (integers as doubles, booleans as Y/N text, dates as DATE9, a date
    column with no value as text, as pandas holds it)."""
    import pyreadstat

    fmt = {}
    exprs = []
    for n, t in probe.schema.items():
        if t.is_integer():
            exprs.append(pl.col(n).cast(pl.Float64))
        elif t == pl.Boolean:
            exprs.append(
                pl.when(pl.col(n))
                .then(pl.lit("Y"))
                .when(pl.col(n).is_not_null())
                .then(pl.lit("N"))
                .alias(n)
            )
        elif t == pl.Date and probe[n].null_count() == probe.height:
            exprs.append(pl.col(n).cast(pl.Utf8))
            fmt[n] = "DATE9"
        elif t == pl.Date:
            exprs.append(pl.col(n))
            fmt[n] = "DATE9"
        else:
            exprs.append(pl.col(n))
    labels = [LABELS.get(c, c)[:40] for c in probe.columns]
    pyreadstat.write_xport(
        probe.select(exprs),
        str(path),
        table_name=name,
        file_label=label[:40],
        column_labels=labels,
        variable_format=fmt,
        file_format_version=5,
    )


def _namestr(header: bytes) -> list[tuple[int, int, int]]:
    """(type 1 numeric / 2 character, width, position in the row) of each variable in a v5 header."""
    start = header.find(b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!")
    nvar = int(header[start + 54 : start + 58])
    first = start + 80
    out = []
    for i in range(nvar):
        rec = header[first + 140 * i : first + 140 * (i + 1)]
        out.append(
            (
                int.from_bytes(rec[0:2], "big"),
                int.from_bytes(rec[4:6], "big"),
                int.from_bytes(rec[84:88], "big"),
            )
        )
    return out


def _ibm(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """IEEE doubles -> IBM 370 doubles (8 bytes, big-endian) as SAS transport stores them; exact for
    magnitudes in ``_IBM_SAFE``. 0 (either sign) is all zero bytes, missing is "." then zeros."""
    import numpy as np

    x = np.where(missing, 0.0, values).astype(np.float64)
    bits = x.view(np.uint64)
    sign = bits >> np.uint64(63)
    exp2 = ((bits >> np.uint64(52)) & np.uint64(0x7FF)).astype(
        np.int64
    ) - 1022  # x = 0.1f.. * 2**exp2
    frac = (bits & np.uint64((1 << 52) - 1)) | np.uint64(1 << 52)
    hexexp = -((-exp2) // 4)  # ceil(exp2 / 4)
    shift = (4 * hexexp - exp2).astype(np.uint64)  # 0..3
    mant = frac << (np.uint64(3) - shift)  # 56-bit fraction, first hex digit non-zero
    out = (sign << np.uint64(63)) | ((hexexp + 64).astype(np.uint64) << np.uint64(56)) | mant
    out[x == 0.0] = 0
    out[missing] = np.uint64(0x2E) << np.uint64(56)
    return out.astype(">u8").view(np.uint8).reshape(-1, 8)


def _char_block(s: pl.Series, width: int, ascii_only: bool | None = None) -> np.ndarray:
    """Fixed-width UTF-8 bytes, blank-padded (missing: all blanks), one row per value.

    ``ascii_only``: whether every value is ASCII, when the caller knows (else it is checked)."""
    import numpy as np
    import pyarrow as pa

    n = len(s)
    if ascii_only is None:
        ascii_only = bool((s.str.len_bytes() == s.str.len_chars()).all())
    if n and ascii_only:  # polars pads to the width (in characters = bytes), numpy reshapes
        padded = s.fill_null("").str.pad_end(width).to_arrow()
        if isinstance(padded, pa.ChunkedArray):
            padded = padded.combine_chunks()
        if padded.type != pa.large_string():
            padded = padded.cast(pa.large_string())
        offs = np.frombuffer(padded.buffers()[1], dtype=np.int64)[
            padded.offset : padded.offset + n + 1
        ]
        if offs[-1] - offs[0] == n * width:
            data = np.frombuffer(padded.buffers()[2], dtype=np.uint8)
            return data[offs[0] : offs[-1]].reshape(n, width)
    out = np.full(n * width, 0x20, dtype=np.uint8)
    arr = s.to_arrow()
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    if n == 0:
        return out.reshape(0, width)
    _validity, offs_buf, data_buf = arr.buffers()
    offs = np.frombuffer(offs_buf, dtype=np.int64)[arr.offset : arr.offset + n + 1]
    lengths = np.diff(offs)
    if arr.null_count:
        lengths = np.where(arr.is_null().to_numpy(zero_copy_only=False), 0, lengths)
    total = int(lengths.sum())
    if total:
        data = np.frombuffer(data_buf, dtype=np.uint8)
        starts = offs[:-1]
        src = np.arange(total, dtype=np.int64) + np.repeat(
            starts - np.concatenate(([0], np.cumsum(lengths)[:-1])), lengths
        )
        dest = np.arange(total, dtype=np.int64) + np.repeat(
            np.arange(n, dtype=np.int64) * width - np.concatenate(([0], np.cumsum(lengths)[:-1])),
            lengths,
        )
        out[dest] = data[src]
    return out.reshape(n, width)


def _fast_xpt_ok(df: pl.DataFrame, layout: list[tuple[int, int, int]]) -> bool:
    """True when the vectorised writer reproduces readstat exactly for this frame."""
    if len(layout) != df.width or df.height == 0:
        return False
    pos = 0
    for (typ, width, npos), (_name, dtype) in zip(layout, df.schema.items()):
        if npos != pos:
            return False
        pos += width
        if typ == 1:
            if not (dtype.is_numeric() or dtype == pl.Date) or width != 8:
                return False
            if dtype.is_numeric():
                a = df[_name].cast(pl.Float64).abs()
                nonzero = a.filter(a.is_not_nan() & (a != 0))
                if nonzero.len() and (nonzero.min() < _IBM_SAFE[0] or nonzero.max() > _IBM_SAFE[1]):
                    return False
        elif typ == 2:
            if dtype == pl.Utf8:
                if (df[_name].str.len_bytes().max() or 0) > width:
                    return False
            elif dtype == pl.Boolean:
                if width != 1:
                    return False
            elif df[_name].null_count() != df.height:
                return False
        else:
            return False
    return True


def _put(buf: np.ndarray, pos: int, block: np.ndarray) -> None:
    """``block`` (n, w bytes) into the bytes ``pos:pos + w`` of each row of ``buf`` (n, rowlen),
    a row's w bytes copied as one element (a void field), not byte by byte."""
    import numpy as np

    n, w = block.shape
    if n == 0:
        return
    field = np.dtype(
        {"names": ["v"], "formats": [f"V{w}"], "offsets": [pos], "itemsize": buf.shape[1]}
    )
    buf.view(field).reshape(n)["v"] = np.ascontiguousarray(block).view(f"V{w}").reshape(n)


def _encode_rows(
    chunk: pl.DataFrame,
    layout: list[tuple[int, int, int]],
    rowlen: int,
    ascii_only: dict[str, bool] | None = None,
) -> np.ndarray:
    """The XPT observations of ``chunk``: one ``rowlen``-byte record per row."""
    import numpy as np

    buf = np.empty((chunk.height, rowlen), dtype=np.uint8)
    for (typ, width, pos), (col, dtype) in zip(layout, chunk.schema.items()):
        s = chunk[col]
        if typ == 1:
            if dtype == pl.Date:
                vals = s.cast(pl.Int32).cast(pl.Float64) + _SAS_EPOCH_OFFSET
            else:
                vals = s.cast(pl.Float64)
            missing = (vals.is_null() | vals.is_nan()).to_numpy()
            _put(buf, pos, _ibm(vals.fill_null(0.0).to_numpy(), missing))
        elif dtype == pl.Boolean:
            buf[:, pos] = np.where(
                s.is_null().to_numpy(),
                0x20,
                np.where(s.fill_null(False).to_numpy(), ord("Y"), ord("N")),
            )
        elif dtype == pl.Utf8:
            _put(buf, pos, _char_block(s, width, None if ascii_only is None else ascii_only[col]))
        else:  # a column with no values stored as character
            buf[:, pos : pos + width] = 0x20
    return buf


class XptRows:
    """A SAS transport v5 file written a frame at a time: the header from pyreadstat on a one-row
    ``probe`` (the variables' types and widths), the observations encoded with numpy,
    ``XPT_CHUNK_ROWS`` rows at a time. ``ok`` turns False (and nothing more is written) when the
    header cannot be read back or a frame needs the reference writer; the caller then writes the
    file another way."""

    def __init__(self, xpt: str | Path, probe: pl.DataFrame, name: str, label: str):
        import os
        import tempfile

        self.xpt, self.ok, self.written, self._fh = Path(xpt), False, 0, None
        fd, tmp = tempfile.mkstemp(suffix=".xpt", dir=self.xpt.parent)
        os.close(fd)
        try:
            _write_header_probe(probe, tmp, name, label)
            raw = Path(tmp).read_bytes()
        finally:
            Path(tmp).unlink(missing_ok=True)
        end = raw.find(_HEADER_END)
        if end < 0:
            return
        self.header = raw[: end + 80]
        self.layout = _namestr(self.header)
        self.rowlen = sum(w for _t, w, _p in self.layout)
        self.ok = True

    def write(self, df: pl.DataFrame, ascii_only: dict[str, bool] | None = None) -> bool:
        """Append the rows of ``df`` (False, and nothing written, if the vectorised writer cannot
        take them: they are checked frame by frame, so a file is all this writer's or none)."""
        if not self.ok or df.height == 0:
            return self.ok
        if not _fast_xpt_ok(df, self.layout):
            self.ok = False
            return False
        if self._fh is None:
            self._fh = open(self.xpt, "wb")  # noqa: SIM115 (closed by close())
            self._fh.write(self.header)
        for off in range(0, df.height, XPT_CHUNK_ROWS):
            buf = _encode_rows(df.slice(off, XPT_CHUNK_ROWS), self.layout, self.rowlen, ascii_only)
            self._fh.write(buf.data)
            self.written += buf.size
        return True

    def close(self) -> bool:
        """Pad the last record; True when the whole file is this writer's."""
        if self._fh is not None:
            self._fh.write(b" " * ((-self.written) % 80))
            self._fh.close()
            self._fh = None
        return self.ok and self.written > 0


def _write_xpt_fast(df: pl.DataFrame, xpt: str | Path, name: str, label: str) -> bool:
    """Vectorised SAS transport v5 writer (:class:`XptRows` on the whole frame). Returns False
    (nothing kept) when the frame needs the reference writer."""
    gathered = _Probe(df.schema)
    gathered.add(df)
    probe = gathered.frame()
    if probe is None:
        return False
    w = XptRows(xpt, probe, name, label)
    ascii_only = {
        c: bool((df[c].str.len_bytes() == df[c].str.len_chars()).all())
        for c, t in df.schema.items()
        if t == pl.Utf8
    }
    w.write(df, ascii_only)
    return w.close()


def write_adam(
    df: pl.DataFrame,
    parquet: str | Path,
    xpt: str | Path | None = None,
    name: str | None = None,
    label: str = "",
) -> None:
    """Write ``df`` to Parquet and, when ``xpt`` is given, to SAS transport v5."""
    from hepatrial.parquet import write_parquet

    Path(parquet).parent.mkdir(parents=True, exist_ok=True)
    write_parquet(df, parquet)
    if xpt is None:
        return
    _write_xpt_frame(df, xpt, xpt_name(name or Path(xpt).stem, df.columns), label)


def _write_xpt_frame(df: pl.DataFrame, xpt: str | Path, name: str, label: str) -> None:
    """The XPT of a whole frame: text cut to 200 bytes, the vectorised writer or, where it cannot
    take the frame, pyreadstat; the label stamped in a blinded run; the timestamps fixed."""
    df = cap_text_bytes(df)
    label = xpt_label(label)
    if not _write_xpt_fast(df, xpt, name, label):
        _write_xpt_pyreadstat(df, xpt, name, label)
    stamp_xpt(xpt)


def xpt_name(name: str, columns) -> str:
    """The dataset name upper-cased; XPT v5 names (dataset and variables) are at most 8 characters."""
    name = name.upper()
    long = [c for c in columns if len(c) > 8]
    if long or len(name) > 8:
        raise ValueError(f"XPT v5 names are at most 8 characters: {long or name}")
    return name


def xpt_label(label: str) -> str:
    """The dataset label; a blinded run's stamp instead (the one free text field of XPT v5)."""
    return stamp.DUMMY_STAMP_ASCII if stamp.active() else label


def xpt_rows_for(files, schema: pl.Schema, xpt: str | Path, name: str, label: str):
    """An :class:`XptRows` for the rows of the Parquet ``files`` (stacked, cast to ``schema``), its
    header from :func:`_file_probe`; None when they need the whole-frame path."""
    probe = _file_probe(files, schema)
    if probe is None:
        return None
    w = XptRows(xpt, probe, xpt_name(name, schema), xpt_label(label))
    return w if w.ok else None


def write_xpt_from_parquet(
    parquet: str | Path, xpt: str | Path, name: str | None = None, label: str = ""
) -> None:
    """The XPT copy of a Parquet dataset, read one row group at a time: the same bytes as
    :func:`write_adam` gives for the whole frame. The header comes from a one-row probe
    (:func:`_file_probe`: the longest text value of a column, the first value of the others; the
    header holds types and widths, never the values). A dataset the vectorised writer cannot take
    (text over 200 bytes, numbers outside the exact IBM range), or one with no rows, is read whole
    and written by :func:`write_adam`'s path."""
    from hepatrial.parquet import iter_row_groups

    schema = pl.read_parquet_schema(parquet)
    name = xpt_name(name or Path(xpt).stem, schema)
    w = xpt_rows_for(parquet, schema, xpt, name, label)
    if w is not None:
        for chunk in iter_row_groups(parquet):
            if not w.write(chunk):
                break
    finish_xpt(w, parquet, xpt, name, label)


def finish_xpt(rows: XptRows | None, parquet: str | Path, xpt: str | Path, name: str, label: str):
    """Close the XPT that ``rows`` wrote and stamp it; when it could not take the dataset (None,
    no rows, text over 200 bytes, numbers the fast writer cannot take), write the XPT copy of the
    Parquet dataset read whole instead."""
    if rows is not None and rows.close():
        stamp_xpt(xpt)
    else:
        write_xpt_whole(parquet, xpt, name, label)


def write_xpt_whole(parquet: str | Path, xpt: str | Path, name: str, label: str = "") -> None:
    """The XPT copy of a Parquet dataset read whole (:func:`write_adam`'s path)."""
    _write_xpt_frame(pl.read_parquet(parquet), xpt, name, label)


def stamp_xpt(path: str | Path) -> None:
    """Replace the creation/modification datetimes of an XPT v5 header with a fixed one.

    The stamp is SOURCE_DATE_EPOCH when set (reproducible-builds convention), else 1970-01-01, so
    that the same data give byte-identical files. Only the header (before the OBS record) changes.
    """
    import datetime as dt
    import re

    from hepatrial.config import source_date_epoch

    epoch = source_date_epoch() or 0
    stamp = dt.datetime.fromtimestamp(epoch, tz=dt.UTC).strftime("%d%b%y:%H:%M:%S").upper().encode()
    with open(path, "r+b") as fh:  # the header only: the observations can be gigabytes
        head = b""
        while (end := head.find(_HEADER_END)) < 0:
            more = fh.read(1 << 16)
            if not more:
                end = len(head)
                break
            head += more
        new = re.sub(rb"\d\d[A-Z]{3}\d\d:\d\d:\d\d:\d\d", stamp, head[:end])
        if len(new) != end:  # never happens (same-length stamps); keep the file consistent anyway
            rest = head[end:] + fh.read()
            fh.seek(0)
            fh.write(new + rest)
            fh.truncate()
        elif new != head[:end]:
            fh.seek(0)
            fh.write(new)
