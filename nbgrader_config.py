"""nbgrader reads this when JupyterLab starts at the repository's root (`make lab`).

The course root is grader/ (its own nbgrader_config.py holds the configuration), so the
formgrader's "Manual Grading" lists the wt06 assignment whether the server starts here
or in grader/ (`make formgrade`). Never exported to students.
"""

import os

c = get_config()  # noqa: F821  (provided by nbgrader)
load_subconfig(os.path.join(os.path.dirname(os.path.abspath(__file__)), "grader", "nbgrader_config.py"))  # noqa: F821
