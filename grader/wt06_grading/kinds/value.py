"""``value``: a Python answer (a column name, a set of model names), as the code computed it.

The value is what the student's variable held after their notebook ran. On the
student's own incident that is all; on other incidents (``incidents:`` in the
declaration) the worker runs the notebook again, up to the answer cell, on each of them
(the job sees that incident's warehouse and nothing else), so an answer must follow the
data and the project there too (``affected_models`` differs on an incident whose job
skipped other models). The value must be of the reference's type (text, or
a collection of texts); text is compared without surrounding spaces, a list, tuple or
set as a set of texts. A message shows the student's value only for their own incident.
"""

from __future__ import annotations

from wt06_grading.kinds.base import Finding, Kind, Known


def normalise(value):
    if isinstance(value, (list, tuple)):
        return sorted({str(v).strip() for v in value})
    if isinstance(value, dict):
        return {str(k): normalise(v) for k, v in value.items()}
    return str(value).strip()


def shown(value) -> str:
    if isinstance(value, list):
        return "{" + ", ".join(repr(v) for v in value) + "}"
    return repr(value)


def _shape(value) -> str:
    """The JSON type of an answer: text, a collection of texts, or something else."""
    if isinstance(value, str):
        return "text"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "texts"
    return "other"


SHAPES = {"text": "a string", "texts": "a set of strings"}


class Value(Kind):
    name = "value"
    answer_type = "value"
    default_incidents = ("canonical",)
    reruns = True
    properties = {
        "missing": "your code did not produce {answer} there",
        "type": "{answer} is not the kind of value asked for there",
        "value": "{answer} is not right there",
    }

    def judge(self, question, got: dict, expected: dict, known: Known) -> Finding | None:
        """``got``/``expected``: {"value": ...} or {"problem": ...} (as the notebook run left it)."""
        name = question.answer.name
        if "value" not in got:
            return Finding("missing", f"{name} could not be read: {got.get('problem') or 'it was not assigned'}")
        wanted = _shape(expected["value"])
        if _shape(got["value"]) != wanted:
            return Finding("type", f"{name} must be {SHAPES.get(wanted, 'a plain value')}")
        if normalise(got["value"]) != normalise(expected["value"]):
            return Finding("value", f"{name} = {shown(got['value'])} is not right")
        return None
