"""``value``: a Python answer (a column name, a set of model names), compared as a value.

The value is what the student's variable held after their notebook ran, so it may be
typed in or computed (``set(downstream.listed) - ...``). Text is compared without
surrounding spaces; a list, tuple or set as a set of texts.
"""

from __future__ import annotations

from .base import Kind, Verdict


def normalise(value):
    if isinstance(value, dict) and set(value) == {"set"}:
        value = value["set"]
    if isinstance(value, (list, tuple)):
        return sorted({str(v).strip() for v in value})
    return str(value).strip()


def shown(value) -> str:
    if isinstance(value, dict) and set(value) == {"set"}:
        return "{" + ", ".join(repr(v) for v in value["set"]) + "}"
    return repr(value)


class Value(Kind):
    name = "value"
    answer_type = "value"

    def compare(self, question, student, reference) -> Verdict:
        if normalise(student) == normalise(reference):
            return Verdict(True)
        return Verdict(False, f"{question.answer.name} = {shown(student)} is not right. {question.hint}".strip())
