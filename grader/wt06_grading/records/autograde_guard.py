"""Stock nbgrader must not grade this course or write its feedback: it refuses, touching nothing.

* ``nbgrader autograde`` (and formgrader's autograde button) would run the visible tests
  only and give full marks to typed-in answers; this course is graded by ``wt06-grade
  grade`` (``make grade``), which runs the hidden checks in a sandbox.
* ``nbgrader generate_feedback`` (and formgrader's feedback buttons) would replace the
  course's script-free feedback pages, which carry the hidden checks' verdicts and the
  hand grades, with stock pages that carry scripts and fetch MathJax from a CDN; this
  course writes them with ``wt06-grade feedback`` (``make feedback``).

nbgraderconfig (``nbgrader_config.py``) makes both converters use ``Refuse*`` as their
exporter class. A converter creates its exporter at the very start of ``start()``,
before it removes, copies or writes anything (``--force`` included), so the command stops
there: one sentence in nbgrader's log, exit status 1, every file as it was.
"""

from __future__ import annotations

from nbconvert.exporters import HTMLExporter, NotebookExporter
from nbgrader.converters.base import NbGraderException
from nbgrader.preprocessors import NbGraderPreprocessor

AUTOGRADE = ("This course is graded with `make grade` (wt06-grade grade), which runs the hidden checks in a "
             "sandbox; `nbgrader autograde` would run the visible tests only, so it refuses and changed no file.")
FEEDBACK = ("This course writes feedback with `make feedback` (wt06-grade feedback): script-free pages with "
            "the hidden checks' verdicts and the grades given in formgrader; `nbgrader generate_feedback` "
            "would replace them with pages that carry scripts, so it refuses and changed no file.")


def _refuse(exporter, message: str):
    exporter.log.error(message)
    raise NbGraderException(message)


class RefuseAutograde(NotebookExporter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _refuse(self, AUTOGRADE)


class RefuseFeedback(HTMLExporter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _refuse(self, FEEDBACK)


class UseWt06Grade(NbGraderPreprocessor):
    """A second lock: should an autograde get past its exporter, it stops at the first notebook."""

    def preprocess(self, nb, resources):
        raise RuntimeError(AUTOGRADE)
