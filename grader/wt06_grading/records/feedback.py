"""Feedback pages: a graded notebook as HTML a student can read, safe to open.

``page`` renders one notebook of one student from the autograded notebook and the
student's record (class_record.py: the gradebook's scores, a grader's scores and comments,
the grading cache's reasons), so a page always says what the gradebook says, hand
grading included. On top: the notebook's score and the course total so far, then one
line per question, by its title (the heading of its section), with its score, why it
failed or what the grader wrote. Under each graded cell, its score again. Every code
cell is labelled ``cell #N``, its position in the notebook, the number the notes and
reasons use.

Safety: the page is built from the graded notebook, whose test cells are the released
(student) versions, so no hidden check appears in it, and a mark scheme region (which
the formgrader's copy carries for graders) is cut out. Every output the student's code
produced is untrusted: HTML is sanitised with an allowlist that keeps result tables
(tables, lists, text formatting; no scripts, event handlers, frames, styles or forms),
and the page carries a Content-Security-Policy that forbids scripts altogether. Links and
images in the rendered page (Markdown too, which the sanitiser never sees as HTML) keep
only web, mail and in-page addresses, and embedded PNG, JPEG or GIF images: a
``javascript:``, ``vbscript:`` or other ``data:`` address is replaced by ``#removed``.
``render`` (the worker's call) makes the same page from a notebook's rows alone.
"""

from __future__ import annotations

import html
import re

import nbformat

from wt06_grading.foundation import markers
from wt06_grading.foundation.contract import GradeRow, Note
from wt06_grading.records.class_record import CellView, NotebookView, fallback_title, question_titles

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CSP = ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; img-src data:; "
       "style-src 'unsafe-inline'; font-src data:\">")
_DANGEROUS_KEYS = ("application/javascript", "text/javascript", "application/vnd.jupyter.widget-view+json",
                   "application/vnd.jupyter.widget-state+json")
# What a result table needs, nothing that runs or fetches (CSP forbids both anyway).
SAFE_TAGS = ["a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "div", "dl",
             "dt", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "kbd", "li", "ol", "p", "pre", "q", "s",
             "samp", "small", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
             "u", "ul"]
SAFE_ATTRIBUTES = {"*": ["class", "title"], "a": ["href", "title"], "td": ["colspan", "rowspan", "class"],
                   "th": ["colspan", "rowspan", "class"], "table": ["class", "border"]}
_BLOCKS = re.compile(r"<(script|style|iframe|object|embed|template|svg|math)\b.*?</\1\s*>", re.S | re.I)
_URL_ATTRIBUTE = re.compile(r"""(\s(?:href|src|xlink:href|action|formaction|poster|background|srcset)\s*=\s*)"""
                            r"""("[^"]*"|'[^']*'|[^\s>]+)""", re.I)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_SAFE_SCHEMES = {"http", "https", "mailto"}
_SAFE_IMAGES = ("data:image/png;", "data:image/jpeg;", "data:image/gif;")
_PROMPT = re.compile(r"In(?:&nbsp;|\s)\[(\d+)\]:")
_OUT_PROMPT = re.compile(r"Out(?:&nbsp;|\s)?\[\d*\]:")
STATUS_WORDS = {"passed": "passed", "failed": "not passed", "missing": "not submitted", "manual":
                "waits for your instructor", "graded": "graded by your instructor", "review":
                "waits for your instructor (a second look)", "not graded": "not graded yet"}


def _clean_outputs(notebook) -> None:
    for cell in notebook.cells:
        cell.source = markers.without_mark_scheme(cell.source)
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                message = f"{output.get('ename')}: {_ANSI.sub('', str(output.get('evalue', '')))}"
                output["traceback"] = [message]
            data = output.get("data", {})
            for key in _DANGEROUS_KEYS:
                data.pop(key, None)
            for key in ("text/html", "text/markdown"):
                if isinstance(data.get(key), str):
                    data[key] = _BLOCKS.sub("", data[key])
                elif isinstance(data.get(key), list):
                    data[key] = _BLOCKS.sub("", "".join(data[key]))
        if cell.cell_type in ("markdown", "raw"):
            cell.source = _BLOCKS.sub("", cell.source)


def _score(cell) -> str:
    if cell.score is None:
        return f"– / {cell.max_score:g}"
    return f"{cell.score:g} / {cell.max_score:g}"


def _text(value: str, limit: int = 400) -> str:
    value = " ".join(str(value).split())
    return html.escape(value[:limit] + ("…" if len(value) > limit else "")).replace("|", "&#124;")


def _what(cell) -> str:
    parts = [STATUS_WORDS.get(cell.status, cell.status)]
    if cell.reason and cell.status not in ("manual",):
        parts.append(_text(cell.reason))
    if cell.comment:
        parts.append(f"<b>Comment:</b> {_text(cell.comment, 2000)}")
    return ". ".join(parts)


def course_total(student) -> str:
    """The course total as the page says it (the gradebook's, over every notebook)."""
    if student is None:
        return "not known yet"
    return (f"{student.score:g} / {student.max_score:g} ({len(student.graded)} of {len(student.notebooks)} "
            "notebooks graded)")


_TOTAL = re.compile(r'(<span class="wt06-course-total">)(.*?)(</span>)', re.S)


def with_course_total(page_bytes: bytes, student) -> bytes:
    """A page with its course total set to ``student``'s (cheap: no rendering)."""
    text = page_bytes.decode()
    return _TOTAL.sub(lambda m: m.group(1) + html.escape(course_total(student)) + m.group(3), text, count=1).encode()


def _summary(notebook_view, student=None, notes=()) -> str:
    lines = [f"## Your grade for this notebook: {notebook_view.score:g} / {notebook_view.max_score:g}", "",
             f'**Course total so far:** <span class="wt06-course-total">{html.escape(course_total(student))}</span>',
             ""]
    waiting = notebook_view.waiting
    if waiting:
        lines += [f"*Not final yet: {len(waiting)} answer(s) wait for your instructor.*", ""]
    lines += ["| question | score | |", "|---|---|---|"]
    for cell in notebook_view.cells:
        lines.append(f"| {_text(cell.title, 120)} | {_score(cell)} | {_what(cell)} |")
    if notes:
        lines += ["", "**Notes**", ""] + [f"* {_text(note, 600)}" for note in notes]
    return "\n".join(lines)


def _exporter():
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    exporter.log.setLevel("ERROR")  # not a warning per chart without alt text
    return exporter


_EXPORTER = []


def _safe_address(match: re.Match) -> str:
    """An attribute holding an address, or ``#removed`` in its place if the address could run
    or fetch something (``javascript:``, ``vbscript:``, a ``data:`` page, a scheme a browser
    might hand to another program)."""
    quoted = match.group(2)
    value = quoted[1:-1] if quoted[:1] in "\"'" else quoted
    plain = re.sub(r"[\x00-\x20]", "", html.unescape(value)).lower()  # "java&#10;script:" is javascript:
    scheme = _SCHEME.match(plain)
    safe = (not scheme or scheme.group(1) in _SAFE_SCHEMES
            or (match.group(1).strip().lower().startswith("src") and plain.startswith(_SAFE_IMAGES)))
    return match.group(0) if safe else f'{match.group(1)}"#removed"'


def safe_addresses(html_text: str) -> str:
    """``html_text`` with every unsafe address in a link, image or form attribute removed."""
    return _URL_ATTRIBUTE.sub(_safe_address, html_text)


def page(notebook: nbformat.NotebookNode, view, student=None, *, title: str) -> bytes:
    """The feedback page of one graded notebook (HTML bytes).

    ``view``: the notebook's ``records.NotebookView`` (its cells' scores, statuses,
    reasons and comments); ``student``: the ``records.StudentView`` (course total).
    """
    from nbconvert.preprocessors.sanitize import SanitizeHTML

    if notebook.get("nbformat", 4) < 4:
        notebook = nbformat.v4.upgrade(notebook)
    doc = nbformat.from_dict(dict(notebook))
    doc.cells = [nbformat.from_dict(dict(c)) for c in notebook.cells]
    cells_by_id = {c.grade_id: c for c in view.cells}
    body = []
    for position, cell in enumerate(doc.cells, start=1):
        if cell.cell_type == "code":
            cell.execution_count = position  # the prompt shows the cell's number (see _PROMPT)
        body.append(cell)
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        graded = cells_by_id.get(grade_id)
        if graded is not None:
            line = f"**{html.escape(graded.title)}: {_score(graded)}** — {_what(graded)}"
            body.append(nbformat.v4.new_markdown_cell(line))
    notes = [n.sentence for n in view.notes]
    doc.cells = [nbformat.v4.new_markdown_cell(_summary(view, student, notes))] + body
    _clean_outputs(doc)
    sanitizer = SanitizeHTML(tags=SAFE_TAGS, attributes=SAFE_ATTRIBUTES, strip=True)
    doc, _ = sanitizer.preprocess(doc, {})
    if not _EXPORTER:
        _EXPORTER.append(_exporter())
    html_text, _ = _EXPORTER[0].from_notebook_node(doc, resources={"metadata": {"name": title}})
    html_text = re.sub(r"<script\b[^>]*>.*?</script>", "", html_text, flags=re.S | re.I)  # the template's own
    html_text = re.sub(r"<link\b[^>]*>", "", html_text, flags=re.I)  # nothing fetched
    html_text = re.sub(r"<!--.*?-->", "", html_text, flags=re.S)  # the template's notes ("load mathjax")
    html_text = safe_addresses(html_text)  # Markdown links and images are rendered after sanitising
    html_text = _PROMPT.sub(lambda m: f"cell&nbsp;#{m.group(1)}", html_text)
    html_text = _OUT_PROMPT.sub("", html_text)
    html_text = html_text.replace("<head>", "<head>\n" + CSP, 1)
    return html_text.encode()


def render(notebook: nbformat.NotebookNode, rows: list[GradeRow], notes: list[str], title: str) -> bytes:
    """The page from a notebook's grade rows alone (what a grading worker knows).

    It is the page the driver would render from the gradebook while no grader has scored
    or commented a cell of the notebook (titles from the notebook's own headings), except
    for the course total, which the driver sets (``with_course_total``).
    """
    titles, _, _ = question_titles(notebook)
    cells = [CellView(r.notebook, r.grade_id, titles.get(r.grade_id) or fallback_title(r.grade_id), r.max_score,
                      r.status == "manual", r.score, r.score, None, r.status, r.reason) for r in rows]
    return page(notebook, NotebookView(title, cells, True, [Note(title, n) for n in notes]), title=title)
