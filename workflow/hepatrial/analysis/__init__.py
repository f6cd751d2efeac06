"""Analyses that read ADaM and write ARD rows."""
