"""DSMB open and closed reports: summaries, the blinding gate, cut-to-cut comparison, rendering."""
