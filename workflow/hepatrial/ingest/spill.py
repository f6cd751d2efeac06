"""The domains of a cut between the ingest steps, a large one kept on disk.

Ingest reads, validates, cuts and checks every domain, one step after another over all domains
(findings come out in that order, so their file stays the same). :class:`Frames` holds the domains
between the steps: a frame over ``spill_bytes`` (in memory) goes to a temporary Parquet file and is
read back when a step asks for it, so that only one large domain (LB, QS) is in memory at a time,
not all of them. The frames read back are the frames written: a step's result does not change.
"""

from __future__ import annotations

import itertools
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

import polars as pl

SPILL_BYTES = (
    128 * 2**20
)  # a domain larger than this in memory waits on disk between the ingest steps
RESIDENT = ("DM", "DS")  # every step reads them; small


class Frames(MutableMapping):
    """Domains by name (insertion order kept, as a dict); large ones spilled to ``folder``."""

    def __init__(self, folder: str | Path | None = None, spill_bytes: int = SPILL_BYTES):
        self._d: dict[str, pl.DataFrame | Path] = {}
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
        return isinstance(self._d.get(key), Path)

    def like(self) -> Frames:
        """An empty mapping spilling to the same folder."""
        return Frames(self._folder, self._limit)

    def __setitem__(self, key: str, df: pl.DataFrame) -> None:
        self._drop(key)
        if self._folder is not None and key not in RESIDENT and df.estimated_size() > self._limit:
            self._folder.mkdir(parents=True, exist_ok=True)
            path = self._folder / f"{key.lower()}-{next(self._n)}.parquet"
            df.write_parquet(path, compression="lz4", statistics=False)
            self._d[key] = path
        else:
            self._d[key] = df

    def __getitem__(self, key: str) -> pl.DataFrame:
        v = self._d[key]
        return pl.read_parquet(v) if isinstance(v, Path) else v

    def _drop(self, key: str) -> None:
        old = self._d.pop(key, None)
        if isinstance(old, Path) and self._owned:
            old.unlink(missing_ok=True)

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


def spill_folder(near: str | Path) -> Path:
    """A new temporary folder beside ``near`` (the same file system as the outputs)."""
    Path(near).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".ingest-spill-", dir=near))


def remove(folder: Path | None) -> None:
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


def like(frames) -> MutableMapping:
    """An empty mapping of the same kind as ``frames`` (a plain dict for a dict)."""
    return frames.like() if isinstance(frames, Frames) else {}
