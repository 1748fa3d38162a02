"""The notebook runtime behind ``wt06.notebook.start()``: a notebook's session and working copy
(session.py), the visible checks' building blocks (assertions.py), ``%%sql`` on its connection
(jupysql_setup.py), the course's magics (magics.py), readable errors and computed prose
(display.py)."""
