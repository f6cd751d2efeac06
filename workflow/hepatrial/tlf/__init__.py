"""Tables, listings and figures (TLF) from the ARD: :mod:`~hepatrial.tlf.tables` builds tables as
frames of formatted strings, :mod:`~hepatrial.tlf.render` writes CSV, RTF and HTML,
:mod:`~hepatrial.tlf.figures` draws plotnine figures, :mod:`~hepatrial.tlf.format` holds the
rounding rules. Conventions: docs/tlf.md."""
