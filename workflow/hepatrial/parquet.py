"""The Parquet layout of the SDTM and ADaM files: fixed row groups, written in pieces.

Every SDTM domain (ingest) and ADaM dataset is written with :class:`FixedRowGroupWriter`: row groups
of exactly :data:`ROW_GROUP_SIZE` rows (the last one holds the rest), zstd, column statistics on (so
that a lazy scan filtered on ``USUBJID`` skips the row groups of other subjects). The layout is a
function of the rows alone, never of how the frame happened to be chunked in memory or of how many
pieces it was written in: a dataset built whole and one built in batches of subjects give
byte-identical files, and so do reruns (docs/performance.md, "Parquet layout").
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import polars as pl

ROW_GROUP_SIZE = (
    100_000  # rows per Parquet row group of every SDTM and ADaM file (the last one: the rest)
)
COMPRESSION = "zstd"


class FixedRowGroupWriter:
    """Append polars frames to one Parquet file in row groups of exactly ``row_group_size`` rows.

    Rows are buffered until a full row group is there; ``close`` writes the rest as the last row group
    (an empty file when nothing was written, with ``schema``). Every frame appended must have the
    file's schema (the first frame's, or ``schema``)."""

    def __init__(
        self,
        path: str | Path,
        schema: dict | pl.Schema | None = None,
        row_group_size: int = ROW_GROUP_SIZE,
    ):
        self.path, self.row_group_size = Path(path), int(row_group_size)
        self.schema = pl.Schema(schema) if schema is not None else None
        self._buf: list[pl.DataFrame] = []
        self._buffered = 0
        self._writer = None
        self.rows = 0

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.close()
        elif self._writer is not None:
            self._writer.close()

    def write(self, df: pl.DataFrame) -> None:
        if self.schema is None:
            self.schema = df.schema
        elif df.schema != self.schema:
            df = df.select(self.schema.names()).cast(dict(self.schema))
        if df.height == 0:
            return
        self._buf.append(df)
        self._buffered += df.height
        while self._buffered >= self.row_group_size:
            self._flush(self.row_group_size)

    def _flush(self, n: int) -> None:
        whole = (
            pl.concat(self._buf, how="vertical", rechunk=False)
            if len(self._buf) > 1
            else self._buf[0]
        )
        group, rest = whole.slice(0, n), whole.slice(n)
        self._buf = [rest] if rest.height else []
        self._buffered = rest.height
        self._write_group(group)

    def _write_group(self, group: pl.DataFrame) -> None:
        import pyarrow.parquet as pq

        from hepatrial import stamp

        table = group.rechunk().to_arrow()
        meta = stamp.parquet_metadata()  # a blinded run's stamp in the file's key-value metadata
        if meta:
            table = table.replace_schema_metadata({**(table.schema.metadata or {}), **meta})
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = pq.ParquetWriter(
                str(self.path), table.schema, compression=COMPRESSION, write_statistics=True
            )
        if group.height:
            self._writer.write_table(table, row_group_size=group.height)
        self.rows += group.height

    def close(self) -> None:
        if self._buffered:
            self._flush(self._buffered)
        if self._writer is None:  # nothing written: an empty file with the schema
            self._write_group(pl.DataFrame(schema=self.schema or {}))
        self._writer.close()


def write_parquet(df: pl.DataFrame, path: str | Path, row_group_size: int = ROW_GROUP_SIZE) -> None:
    """``df`` as Parquet in the fixed layout (:class:`FixedRowGroupWriter`)."""
    with FixedRowGroupWriter(path, df.schema, row_group_size) as w:
        w.write(df)


def unified_schema(paths: Iterable[str | Path]) -> pl.Schema:
    """The schema of the Parquet files stacked (``vertical_relaxed``: a column all null in one piece
    takes the type it has in the others)."""
    empties = [pl.DataFrame(schema=pl.read_parquet_schema(p)) for p in paths]
    return pl.concat(empties, how="vertical_relaxed").schema


def concat_parquet(
    parts: list[str | Path],
    path: str | Path,
    row_group_size: int = ROW_GROUP_SIZE,
    remove: bool = True,
    each=None,
) -> int:
    """Stack the Parquet files ``parts`` (in order, same columns) into ``path`` in the fixed layout,
    one row group of a part in memory at a time; ``each(frame)``, if given, sees every piece as it
    is written (in row order, cast to the stacked schema). Returns the number of rows."""
    import pyarrow.parquet as pq

    schema = unified_schema(parts)
    with FixedRowGroupWriter(path, schema, row_group_size) as w:
        for p in parts:
            f = pq.ParquetFile(str(p))
            for i in range(f.num_row_groups):
                piece = pl.from_arrow(f.read_row_group(i)).select(schema.names()).cast(dict(schema))
                w.write(piece)
                if each is not None:
                    each(piece)
            del f
            if remove:
                os.unlink(p)
    return w.rows


def iter_row_groups(path: str | Path, columns: list[str] | None = None):
    """The rows of a Parquet file as polars frames, one row group at a time."""
    import pyarrow.parquet as pq

    f = pq.ParquetFile(str(path))
    for i in range(f.num_row_groups):
        yield pl.from_arrow(f.read_row_group(i, columns=columns))


class ParquetColumns:
    """A Parquet file read one column at a time, for code that looks at a frame column by column
    (``columns``, ``schema``, ``frame[name]``): memory of one column, not of the dataset."""

    def __init__(self, path: str | Path):
        self.path = path
        self.schema = pl.read_parquet_schema(path)
        self.columns = list(self.schema)

    def __getitem__(self, column: str) -> pl.Series:
        return pl.read_parquet(self.path, columns=[column])[column]
