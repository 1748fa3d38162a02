"""Feedback preprocessors: show students what failed, not the hidden tests' code.

nbgrader's feedback renders the autograded notebook, test cells included, so the hidden
test regions would be printed for every student. These preprocessors run in
``generate_feedback``: they replace hidden regions with one line saying the cell was
also checked outside the notebook, and shorten tracebacks to their last line (the
message), which is the part a student can act on.
"""

from __future__ import annotations

import re

from nbgrader.preprocessors import NbGraderPreprocessor

_HIDDEN = re.compile(r"^[ \t]*#+ *BEGIN HIDDEN TESTS.*?END HIDDEN TESTS[^\n]*\n?", re.S | re.M)
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
REDACTED = "# (hidden tests ran here: their verdict, if they failed, is in the output below)"


class RedactHiddenTests(NbGraderPreprocessor):
    """Remove the code of hidden test regions from every cell."""

    def preprocess_cell(self, cell, resources, index):
        if "HIDDEN TESTS" in cell.source:
            cell.source = _HIDDEN.sub(REDACTED + "\n", cell.source).rstrip("\n")
        return cell, resources


class ShortTracebacks(NbGraderPreprocessor):
    """Keep only the message of an error: ``AssertionError: return the columns ...``."""

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                lines = [_ANSI.sub("", line) for line in output.get("traceback", [])]
                message = f"{output.get('ename')}: {output.get('evalue')}"
                output["traceback"] = [message if output.get("evalue") else (lines[-1] if lines else message)]
        return cell, resources
