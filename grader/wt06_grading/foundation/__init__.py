"""Foundation: what every stage shares and nothing of ours it imports.

What crosses the wire between driver and workers (contract.py), where the course lives
(layout.py), the answer and mark-scheme markers of the notebooks (markers.py), the
content-addressed memo (memo.py) and the grader's failure statuses (failures.py).
"""
