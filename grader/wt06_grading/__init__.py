"""Instructor-side grading for WT-06: nbgrader plugins, hidden checks, batch grading.

Lives under ``grader/``, outside the ``wt06`` course package, so none of it reaches
students (the student export ships ``wt06`` but not this package).
"""

__version__ = "2.0.0"

import wt06  # noqa: E402,F401  (the course package's import settings apply to grading too)
