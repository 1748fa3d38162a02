"""``value``: a Python answer (a column name, a set of model names), as the code computed it.

The value is what the student's variable held after their notebook ran. On the
student's own incident that is all; on other incidents (``incidents:`` in the
declaration) the worker runs the notebook again, up to the answer cell, on each of them,
so an answer must follow the data and the project there too (``affected_models`` is
empty on an incident where the scheduler never skipped anything). Text is compared
without surrounding spaces; a list, tuple or set as a set of texts. A message shows the
student's value only for their own incident.
"""

from __future__ import annotations

from .base import Kind, Verdict, where


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


class Value(Kind):
    name = "value"
    answer_type = "value"
    default_incidents = ("canonical",)
    reruns = True  # the worker re-runs the notebook on the question's other incidents

    def compare(self, question, student: dict, reference: dict) -> Verdict:
        """``student``/``reference``: incident id -> {"story", "value"} (or {"story", "problem"})."""
        for incident, expected in reference.items():
            got = student.get(incident) or {}
            place = where(expected["story"])
            if "value" not in got:
                problem = got.get("problem") or "it was not assigned"
                return Verdict(False, f"On {place}, {question.answer.name} could not be read: {problem}.")
            if normalise(got["value"]) != normalise(expected["value"]):
                mine = f" = {shown(got['value'])}" if expected["story"] == "canonical" else ""
                return Verdict(False, f"On {place}, {question.answer.name}{mine} is not right. "
                                      f"{question.hint}".strip())
        return Verdict(True)
