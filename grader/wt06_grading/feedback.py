"""Feedback pages: the graded notebook as HTML, rendered in the worker, safe to open.

The page shows every cell with its outputs, a summary of the scores at the top, each
failed hidden check's message in its cell, and error messages without their traceback
walls. It is built from the graded notebook, whose test cells are the released
(student) versions, so no hidden check's declaration or code can appear in it. Every
output the student's code produced is untrusted HTML: it is sanitised (no scripts, no
event handlers, no frames), and the page carries a Content-Security-Policy that forbids
scripts altogether, so a ``<script>`` or an ``onerror=`` written by a notebook is inert.
"""

from __future__ import annotations

import html
import re

import nbformat

from .contract import GradeRow

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CSP = ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
       "style-src 'unsafe-inline'; font-src data:\">")
_DANGEROUS_KEYS = ("application/javascript", "text/javascript", "application/vnd.jupyter.widget-view+json",
                   "application/vnd.jupyter.widget-state+json")


def _short_tracebacks(notebook) -> None:
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                message = f"{output.get('ename')}: {_ANSI.sub('', str(output.get('evalue', '')))}"
                output["traceback"] = [message]
            for key in _DANGEROUS_KEYS:
                output.get("data", {}).pop(key, None)


def _summary(rows: list[GradeRow], notes: list[str]) -> str:
    lines = ["## Your grade for this notebook", "", "| question | score | |", "|---|---|---|"]
    for row in rows:
        score = "to be graded by hand" if row.score is None else f"{row.score:g} / {row.max_score:g}"
        reason = html.escape(row.reason.replace("|", "/").replace("\n", " "))[:300]
        lines.append(f"| `{row.grade_id}` | {score} | {reason} |")
    if notes:
        lines += ["", "**Notes**", ""] + [f"* {html.escape(note)}" for note in notes]
    return "\n".join(lines)


def render(notebook: nbformat.NotebookNode, rows: list[GradeRow], notes: list[str], title: str) -> bytes:
    """The feedback page of one graded notebook (HTML bytes)."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors.sanitize import SanitizeHTML

    page = nbformat.from_dict(nbformat.v4.upgrade(notebook) if notebook.get("nbformat", 4) < 4 else notebook)
    page = nbformat.from_dict(dict(page))
    page.cells = [nbformat.v4.new_markdown_cell(_summary(rows, notes))] + list(page.cells)
    _short_tracebacks(page)
    page, _ = SanitizeHTML().preprocess(page, {})
    exporter = HTMLExporter(template_name="lab")
    exporter.log.setLevel("ERROR")  # not a warning per chart without alt text
    body, _ = exporter.from_notebook_node(page, resources={"metadata": {"name": title}})
    body = re.sub(r"<script\b[^>]*>.*?</script>", "", body, flags=re.S | re.I)  # the template's own scripts
    body = body.replace("<head>", "<head>\n" + CSP, 1)
    return body.encode()
