"""Cells: verdicts keyed by the course's grade ids, not by what a submission contains.

Deleted, stripped, renamed, duplicated and re-typed test and answer cells, forged points,
grade ids and checksums, and test cells whose exceptions are swallowed (issue 8, items 1
and 8). Graded on notebook 01 beside blank, hard-coded, wrong and full baselines.
"""

from .checks import *  # noqa: F401,F403  (the shared assertions)

GROUPS = ["cells"]
