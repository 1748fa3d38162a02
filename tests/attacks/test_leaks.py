"""Data of a grading incident carried out by an error message, a file read or a type name (issue 20).

Graded on notebooks 01 and 04 beside hard-coded and full baselines. Besides the shared
assertions, every test module's batch is scanned for grading-incident data
(checks.test_no_grading_incident_datum_in_any_page_or_row).
"""

from .checks import *  # noqa: F401,F403

GROUPS = ["leaks"]
