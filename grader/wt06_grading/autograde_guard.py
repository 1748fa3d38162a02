"""Stock ``nbgrader autograde`` would grade this course with its visible tests only.

The course's hidden checks run outside the student's code (``wt06-grade grade``); a
plain ``nbgrader autograde`` (or the formgrader's autograde button) knows nothing of them
and would give full marks to typed-in answers. This preprocessor makes it stop with a
sentence saying what to run instead.
"""

from __future__ import annotations

from nbgrader.preprocessors import NbGraderPreprocessor


class UseWt06Grade(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        raise RuntimeError("This course is graded with `wt06-grade grade` (or `make grade`), which runs the "
                           "hidden checks in a sandbox; plain `nbgrader autograde` would skip them.")
