"""nbgrader configuration of the WT-06 course (the course root is this folder).

Layout: source/wt06/ holds the instructor notebooks (solutions and hidden-test markers);
`make release` generates release/wt06/ and copies it to ../notebooks/. Submissions go to
submitted/<student>/wt06/; `make grade` grades them (see README.md here).
"""

import os

from wt06_grading.stubs import STUBS

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
    "wt06_grading.stubs.MagicAwareClearSolutions",
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

# Autograding: restore deleted test cells, survive a dying kernel, cap runaway output.
c.OverwriteCells.add_missing_cells = True
c.Execute.timeout = int(os.environ.get("WT06_CELL_TIMEOUT", "60"))
c.Autograde.autograde_preprocessors = [
    "wt06_grading.execute.CrashTolerantExecute",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "wt06_grading.execute.CapOutputSize",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 20

# Feedback: never show the hidden tests' code; keep error messages, drop tracebacks.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
    "wt06_grading.feedback.RedactHiddenTests",
    "wt06_grading.feedback.ShortTracebacks",
]
