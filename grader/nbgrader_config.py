"""nbgrader configuration of the WT-06 course (the course root is this folder).

Layout: source/wt06/ holds the instructor notebooks (solutions and, in each test cell's
hidden region, its question declaration); `make release` generates release/wt06/ and
copies it to ../notebooks/. Submissions go to submitted/<student>/wt06/; `make grade`
(`wt06-grade grade`) grades them and `make feedback` writes the feedback pages (see
README.md here). nbgrader itself serves the gradebook, the formgrader (manual grading:
`make formgrade`) and the students' Validate button. The repository root has an
nbgrader_config.py that loads this one, so formgrader works from `make lab` too.
"""

import os

from wt06_grading.definition.stubs import STUBS

HERE = os.path.dirname(os.path.abspath(__file__))

c = get_config()  # noqa: F821  (provided by nbgrader)

c.CourseDirectory.root = HERE
c.CourseDirectory.course_id = "wt06"
c.CourseDirectory.db_url = os.environ.get("WT06_GRADEBOOK_URL", f"sqlite:///{HERE}/gradebook.db")

# Solution stubs valid in each cell's language (%%sql, %%project_file x.yml, Python).
c.GenerateAssignment.preprocessors = [
    "nbgrader.preprocessors.IncludeHeaderFooter",
    "nbgrader.preprocessors.InstantiateTests",
    "nbgrader.preprocessors.LockCells",
    "wt06_grading.definition.stubs.MagicAwareClearSolutions",
    "nbgrader.preprocessors.ClearOutput",
    "nbgrader.preprocessors.CheckCellMetadata",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.SaveCells",
    "nbgrader.preprocessors.ClearHiddenTests",
    "nbgrader.preprocessors.ClearMarkScheme",
    "nbgrader.preprocessors.ComputeChecksums",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.ClearSolutions.code_stub = {"python": STUBS["python"]}
c.ClearSolutions.text_stub = STUBS["text"]

# Autograding and feedback are `make grade` and `make feedback` (wt06-grade): stock
# `nbgrader autograde` would run the visible tests only, and `nbgrader generate_feedback`
# would replace the course's script-free pages, so both refuse before touching any file
# (wt06_grading/records/autograde_guard.py), from the command line and from formgrader's buttons.
c.Autograde.exporter_class = "wt06_grading.records.autograde_guard.RefuseAutograde"
c.Autograde.autograde_preprocessors = ["wt06_grading.records.autograde_guard.UseWt06Grade"]
c.GenerateFeedback.exporter_class = "wt06_grading.records.autograde_guard.RefuseFeedback"
