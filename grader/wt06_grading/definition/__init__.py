"""The course definition: what is graded, on what, against what.

The questions and their hidden checks, read from the instructor notebooks (questions.py),
the typed course model the workers receive (course.py), the grading incidents
(incidents.py) and their reference results (reference.py), the release of the student
notebooks (release.py, stubs.py), the objectives table, the student export, and the
rehearsal class (rehearsal.py, `make fixtures`).
"""
