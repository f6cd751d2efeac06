"""The domains of a cut between the ingest steps, a large one kept on disk, in chunks of rows.

Ingest reads, validates, cuts and checks every domain, one step after another over all domains.
:class:`Frames` holds the domains between the steps: a frame over ``spill_bytes`` (in memory) goes to
a temporary Parquet file and is read back when a step asks for it, so that only one large domain
(LB, QS) is in memory at a time, not all of them.

A domain file larger than :data:`hepatrial.ingest.read.CHUNK_BYTES` is read in chunks of rows and
kept as a list of chunk files: every step then runs over it one chunk at a time
(:func:`map_chunks`), so memory is set by the chunk, not by the trial. Every check a step makes on
a chunk is a check of its rows alone, or is summed over the chunks (the findings' tallies,
:meth:`hepatrial.ingest.findings.Findings.tally`); the checks across rows (LB duplicates, a MedDRA
term under several SOCs) are made on the columns they need. The frames read back are the frames
written: a step's result does not depend on how the domain was chunked.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from pathlib import Path

import polars as pl

SPILL_BYTES = (
    128 * 2**20
)  # a domain larger than this in memory waits on disk between the ingest steps
RESIDENT = ("DM", "DS")  # every step reads them; small, never chunked


class Frames(MutableMapping):
    """Domains by name (insertion order kept, as a dict); large ones spilled to ``folder``, as one
    file or as a list of chunk files."""

    def __init__(self, folder: str | Path | None = None, spill_bytes: int = SPILL_BYTES):
        self._d: dict[str, pl.DataFrame | Path | list[Path]] = {}
        self._folder = Path(folder) if folder is not None else None
        self._limit = spill_bytes
        self._n = itertools.count()
        self._owned = True

    @classmethod
    def of_files(cls, items: dict) -> Frames:
        """A read-only view: frames and Parquet files (read when asked for; never removed)."""
        f = cls(None)
        f._d, f._owned = dict(items), False
        return f

    def spilled(self, key: str) -> bool:
        return isinstance(self._d.get(key), Path | list)

    def _path(self, key: str) -> Path:
        self._folder.mkdir(parents=True, exist_ok=True)
        return self._folder / f"{key.lower()}-{next(self._n)}.parquet"

    def __setitem__(self, key: str, df: pl.DataFrame) -> None:
        self._drop(key)
        if self._folder is not None and key not in RESIDENT and df.estimated_size() > self._limit:
            path = self._path(key)
            df.write_parquet(path, compression="lz4", statistics=False)
            self._d[key] = path
        else:
            self._d[key] = df

    def set_chunks(self, key: str, parts: Iterable[pl.DataFrame]) -> None:
        """The domain ``key`` as the frames ``parts`` (in row order), each written to its own file
        as it comes (never all in memory); a single part is stored as a frame (``__setitem__``)."""
        it = iter(parts)
        first = next(it)
        second = next(it, None)
        if second is None or self._folder is None or key in RESIDENT:
            self[key] = stacked([first] + ([] if second is None else [second, *it]))
            return
        paths: list[Path] = []

        def write(c: pl.DataFrame) -> None:
            p = self._path(key)
            c.write_parquet(p, compression="lz4", statistics=False)
            paths.append(p)

        try:
            write(first)
            write(second)
            first = second = None  # one chunk in memory at a time
            for c in it:
                write(c)
        except BaseException:
            for p in paths:
                p.unlink(missing_ok=True)
            raise
        self._drop(key)
        self._d[key] = paths

    def chunks(self, key: str) -> Iterator[pl.DataFrame]:
        """The domain's frames in row order, one in memory at a time."""
        v = self._d[key]
        if isinstance(v, list):
            for p in list(v):
                yield pl.read_parquet(p)
        else:
            yield self[key]

    def height(self, key: str) -> int:
        v = self._d[key]
        files = v if isinstance(v, list) else [v] if isinstance(v, Path) else None
        if files is None:
            return v.height
        return sum(pl.scan_parquet(p).select(pl.len()).collect().item() for p in files)

    def __getitem__(self, key: str) -> pl.DataFrame:
        v = self._d[key]
        if isinstance(v, list):
            return stacked([pl.read_parquet(p) for p in v])
        return pl.read_parquet(v) if isinstance(v, Path) else v

    def _drop(self, key: str) -> None:
        old = self._d.pop(key, None)
        if not self._owned:
            return
        for p in old if isinstance(old, list) else [old] if isinstance(old, Path) else []:
            p.unlink(missing_ok=True)

    def __delitem__(self, key: str) -> None:
        if key not in self._d:
            raise KeyError(key)
        self._drop(key)

    def __iter__(self):
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __contains__(self, key) -> bool:
        return key in self._d


def stacked(parts: list[pl.DataFrame]) -> pl.DataFrame:
    """The frames ``parts`` (one at least) one under the other."""
    return pl.concat(parts, how="vertical") if len(parts) > 1 else parts[0]


def chunks(frames: MutableMapping, key: str) -> Iterator[pl.DataFrame]:
    """The frames of domain ``key`` in row order, one at a time (a plain dict holds one)."""
    if isinstance(frames, Frames):
        yield from frames.chunks(key)
    else:
        yield frames[key]


def set_chunks(frames: MutableMapping, key: str, parts: Iterable[pl.DataFrame]) -> None:
    """Domain ``key`` becomes the frames ``parts`` (stacked in a plain dict)."""
    if isinstance(frames, Frames):
        frames.set_chunks(key, parts)
    else:
        frames[key] = stacked(list(parts))


def map_chunks(
    frames: MutableMapping, key: str, fn: Callable[[pl.DataFrame], pl.DataFrame]
) -> None:
    """Replace domain ``key`` by ``fn`` applied to each of its chunks, in order."""
    set_chunks(frames, key, (fn(c) for c in chunks(frames, key)))


def height(frames: MutableMapping, key: str) -> int:
    return frames.height(key) if isinstance(frames, Frames) else frames[key].height


def narrow(frames: MutableMapping, key: str, columns: list[str]) -> pl.DataFrame:
    """The columns ``columns`` (those present) of domain ``key``, its chunks stacked."""
    return stacked([c.select([x for x in columns if x in c.columns]) for c in chunks(frames, key)])


def each_chunk(frames: MutableMapping, domains=None) -> Iterator[tuple[str, pl.DataFrame]]:
    """(domain, chunk) over the chunks of ``domains`` (default every domain) present, in order."""
    for d in frames if domains is None else [d for d in domains if d in frames]:
        for c in chunks(frames, d):
            yield d, c


def spill_folder(near: str | Path) -> Path:
    """A new temporary folder beside ``near`` (the same file system as the outputs)."""
    Path(near).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".ingest-spill-", dir=near))


def remove(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)
