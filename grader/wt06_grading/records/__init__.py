"""The class record: nbgrader's gradebook, and every view of it.

gradebook.py (the one record), class_record.py (the record explained by the grading
cache), views.py and feedback.py (grades.csv, the feedback pages), report.py,
similarity.py, lms.py and roster.py (the LMS files), autograde_guard.py (nbgrader's own
autograde and feedback refuse, so nothing writes the record behind the grader's back).
"""
