"""PDF text for tests, with pypdf (pure Python, pinned in the test extras): pages joined by form feeds
as pdftotext does, and the document information as text."""

from __future__ import annotations

from pathlib import Path

from pypdf import PdfReader


def pdf_text(path: str | Path) -> str:
    reader = PdfReader(str(path))
    return "\f".join((page.extract_text() or "") for page in reader.pages)


def pdf_info(path: str | Path) -> str:
    meta = PdfReader(str(path)).metadata or {}
    return "\n".join(f"{k}: {v}" for k, v in meta.items())
