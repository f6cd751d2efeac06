"""hepatrial: analysis of cell-therapy trials in liver disease.

The package holds all logic; Snakemake rules under ``workflow/rules`` are thin adapters.
"""

__version__ = "0.1.0"
