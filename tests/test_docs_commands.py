"""Every instructor command in README.md, docs/instructors.md and grader/README.md is run by a test
or checked by one.

``COVERED`` maps each command the three documents give (in a shell block or in backticks)
to the tests that run it or check it; a command the documents add without a test, or a
test named here that does not exist, fails ``test_every_documented_command_is_covered``.
The Makefile's recipes are checked against what the documents say they do by a dry run
(``make -n``): the tool each runs and the variables each passes on, ``--allow-root`` as
root. What the recipes run is tested where the tool is (the ``wt06-grade`` commands with
the real grader in test_instructor_flow.py, the failures and exit statuses in
test_failures.py, formgrader in test_hand_grading.py, PostgreSQL in
test_gradebook_switch.py).
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from conftest import REPO

DOCS = [REPO / "README.md", REPO / "docs" / "instructors.md", REPO / "grader" / "README.md"]

DRY = "tests/test_docs_commands.py::test_each_make_recipe_runs_the_documented_tool"
FLOW = "tests/test_instructor_flow.py::"
COVERED = {
    "make lab": [DRY, "tests/test_hand_grading.py::test_formgrader_from_the_repository_root_finds_the_course",
                 "tests/test_export.py::test_the_student_makefile_is_the_main_makefile_cut_down"],
    "make test": [DRY],
    "make test-full": [DRY],
    "make lint": [DRY],
    "make setup": [DRY],
    "make warehouse": [DRY, "tests/test_build.py::test_two_builds_have_the_same_content"],
    "make reset": [DRY],
    "make data": [DRY, "tests/test_scenario.py::test_canonical_parameters_reproduce_the_committed_files_byte_for_byte"],
    "make release": [DRY, "tests/grader/test_questions.py::test_the_readme_names_exactly_the_graded_answers",
                     "tests/test_notebooks.py::test_release_publishes_exactly_the_committed_expected_results"],
    "wt06-grade release": ["tests/test_notebooks.py::test_make_release_regenerates_the_student_notebooks_identically",
                           "tests/test_notebooks.py::test_release_publishes_exactly_the_committed_expected_results"],
    "make export": [DRY, "tests/test_export.py::test_the_command_exports_and_reminds_about_the_badge_placeholder",
                    "tests/test_docs_commands.py::test_the_export_holds_what_the_guide_says"],
    "make fixtures": [DRY, "tests/test_similarity.py::test_only_the_copied_pair_is_flagged_in_a_class"],
    "make grade": [DRY, "tests/test_failures.py::test_make_grade_prints_the_graders_status",
                   FLOW + "test_weeks_add_up_and_never_remove_an_earlier_week",
                   FLOW + "test_a_regrade_keeps_the_hand_grades_final",
                   "tests/test_records.py::test_weeks_a_hand_grade_a_regrade_and_a_withdrawal_keep_every_view_on_the_gradebook",
                   "tests/test_failures.py::test_no_sandbox_stops_before_anything_with_one_sentence",
                   "tests/test_failures.py::test_a_database_that_does_not_answer_stops_before_anything",
                   "tests/test_failures.py::test_an_empty_submissions_folder_says_so",
                   "tests/test_failures.py::test_a_scheduler_that_does_not_answer_writes_nothing",
                   "tests/test_scale.py::test_a_class_on_three_machines_loses_one_and_equals_the_single_worker_gradebook",
                   "tests/test_engine.py::test_one_student_is_graded_without_touching_the_others",
                   "tests/test_grading.py::test_the_sandbox_changes_no_honest_score"],
    "wt06-grade grade": ["tests/test_failures.py::test_make_grade_prints_the_graders_status",
                         FLOW + "test_weeks_add_up_and_never_remove_an_earlier_week"],
    "make formgrade": [DRY, "tests/test_hand_grading.py::test_formgrader_lists_the_course_and_shows_the_mark_scheme_"
                            "above_the_answer", FLOW + "test_two_postmortems_graded_in_formgrader_reach_every_view"],
    "make feedback": [DRY, FLOW + "test_two_postmortems_graded_in_formgrader_reach_every_view",
                      "tests/test_cli.py::test_feedback_on_an_ungraded_course_says_to_grade_first"],
    "make report": [DRY, FLOW + "test_the_report_flags_the_copied_pair_and_nobody_else",
                    "tests/test_cli.py::test_report_on_an_ungraded_course_writes_a_page_that_says_so"],
    "make roster": [DRY, FLOW + "test_a_withdrawal_the_roster_and_both_lms_files",
                    "tests/test_lms.py::test_the_commands_say_what_they_did"],
    "make export-grades": [DRY, FLOW + "test_a_withdrawal_the_roster_and_both_lms_files",
                           "tests/test_lms.py::test_the_commands_say_what_they_did",
                           "tests/test_cli.py::test_export_grades_without_a_gradebook_says_to_grade_first"],
    "make bench": [DRY, "tests/test_bench.py::test_quick_benchmark_writes_its_sections_and_a_table"],
    "make docs-images": [DRY],
    "make clean": [DRY],
    "pytest": ["tests/test_docs_commands.py::test_each_make_recipe_runs_the_documented_tool"],
    "python -m wt06 dbt": ["tests/test_dbt_project.py::test_dbt_from_a_terminal_needs_no_course_variable"],
    "python -m wt06 scenario": ["tests/test_build.py::test_a_variant_builds_into_its_own_coherent_incident",
                                "tests/test_scenario.py::test_canonical_parameters_reproduce_the_committed_files_"
                                "byte_for_byte"],
    "python -m wt06 as-of": ["tests/test_clock.py::test_the_clock_lives_in_the_warehouse_and_dbt_reads_it_from_a_"
                             "terminal"],
    "dbt debug": ["tests/test_dbt_project.py::test_dbt_from_a_terminal_needs_no_course_variable"],
    "dbt run": ["tests/test_clock.py::test_the_clock_lives_in_the_warehouse_and_dbt_reads_it_from_a_terminal"],
    "dbt source": ["tests/test_clock.py::test_dbt_source_freshness_runs_on_the_story_clock"],
    "dask scheduler": ["tests/test_scale.py::test_a_class_on_three_machines_loses_one_and_equals_the_single_worker_"
                       "gradebook"],
    "dask worker": ["tests/test_scale.py::test_a_class_on_three_machines_loses_one_and_equals_the_single_worker_"
                    "gradebook"],
    "apt-get install": ["tests/test_gradebook.py::test_a_class_graded_into_postgresql_equals_the_sqlite_gradebook"],
    "service postgresql": ["tests/test_gradebook.py::test_a_class_graded_into_postgresql_equals_the_sqlite_gradebook"],
    "createuser": ["tests/test_gradebook_switch.py::test_the_guides_role_and_database_take_a_class_and_a_switch_"
                   "grades_what_the_new_gradebook_lacks"],
    "createdb": ["tests/test_gradebook_switch.py::test_the_guides_role_and_database_take_a_class_and_a_switch_"
                 "grades_what_the_new_gradebook_lacks"],
    "export WT06_GRADEBOOK_URL": ["tests/test_gradebook_switch.py::test_the_guides_role_and_database_take_a_class_"
                                  "and_a_switch_grades_what_the_new_gradebook_lacks",
                                  "tests/test_failures.py::test_a_database_that_does_not_answer_stops_before_anything"],
    "nbgrader autograde": ["tests/test_hand_grading.py::test_stock_autograde_and_feedback_refuse_before_touching_"
                           "any_file"],
    "nbgrader generate_feedback": ["tests/test_hand_grading.py::test_stock_autograde_and_feedback_refuse_before_"
                                   "touching_any_file"],
    "nbgrader export": ["tests/test_docs_commands.py::test_nbgrader_export_reads_the_same_gradebook"],
    "nbgrader formgrader": ["tests/test_docs_commands.py::test_the_docs_send_nobody_to_commands_that_do_not_work"],
    "nbgrader zip_collect": ["tests/test_docs_commands.py::test_the_docs_send_nobody_to_commands_that_do_not_work"],
}
# commands in backticks: a tool and its subcommand (a bare `make` or `dbt test` in prose is not an instruction)
_INLINE = re.compile(r"`((?:\.venv/bin/)?(?:make|python -m wt06|wt06-grade|nbgrader|dask) [a-z][^`]*)`")


def command_key(line: str) -> str | None:
    """The command a documented line runs, as COVERED names it (None: not a command to run)."""
    line = line.split("#", 1)[0].strip().rstrip("\\").strip()
    if line.startswith("export "):
        return " ".join(line.split("=", 1)[0].split()[:2])
    words = [w for w in line.split() if not re.fullmatch(r"[A-Z][A-Z0-9_]*=\S*", w)]  # VAR=value prefixes
    if not words or words[0] in ("cd", "source") or words[0].startswith("-"):
        return None
    if words[:3] == ["sudo", "-u", "postgres"]:
        words = words[3:]
    elif words[0] == "sudo":
        words = words[1:]
    words[0] = words[0].removeprefix(".venv/bin/").removeprefix("../.venv/bin/")
    if words[0] == "make":
        return " ".join(words[:2])
    if words[:3] == ["python", "-m", "wt06"]:
        return " ".join(words[:4])
    if words[:3] == ["python", "-m", "pytest"]:
        return "pytest"
    if words[0] in ("createuser", "createdb"):
        return words[0]
    return " ".join(words[:2])


def documented_commands() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for doc in DOCS:
        text = doc.read_text()
        lines = [line for block in re.findall(r"```bash\n(.*?)```", text, re.S) for line in block.splitlines()]
        lines += _INLINE.findall(text)
        for line in lines:
            key = command_key(line)
            if key:
                found.setdefault(key, set()).add(doc.relative_to(REPO).as_posix())
    return found


def test_every_documented_command_is_covered():
    found = documented_commands()
    assert {"make grade", "make formgrade", "make feedback", "make roster", "make export-grades",
            "createuser", "createdb"} <= set(found)
    missing = sorted(set(found) - set(COVERED))
    assert not missing, f"documented commands no test runs or checks: {missing} (in {[found[m] for m in missing]})"
    for key, tests in COVERED.items():
        for test in tests:
            path, name = test.split("::")
            assert re.search(rf"^def {re.escape(name)}\(", (REPO / path).read_text(), re.M), f"{key}: {test} is gone"


def _dry(*args: str) -> str:
    done = subprocess.run(["make", "-n", *args], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


ROOT = os.geteuid() == 0
RECIPES = {  # make arguments -> what its dry run must show
    ("lab",): ["jupyter lab", "notebooks/01_detect_staleness.ipynb"],
    ("test",): ['-m "not slow and not full"', '-m "slow and not full"', "--dist loadgroup"],
    ("test-full",): ['-m "not slow and not full"', '-m "slow or full"'],
    ("lint",): ["ruff check .", "sqlfluff lint"],
    ("warehouse",): ["-m wt06 warehouse"],
    ("reset",): ["-m wt06 warehouse --reset"],
    ("data",): ["-m wt06 scenario"],
    ("release",): ["wt06-grade release"],
    ("export", "DEST=/tmp/wt06-student"): ["wt06-grade export \"/tmp/wt06-student\""],
    ("fixtures",): ["-m wt06_grading.definition.rehearsal grader/submitted"],
    ("grade", "JOBS=2", "NOTEBOOKS=01_detect_staleness,02_pipeline_logs", "STUDENT=alice", "FORCE=1", "TIMEOUT=90",
     "CLUSTER=tcp://host:8786", "SANDBOX=none"):
        ["wt06-grade grade --jobs 2", "--timeout 90 --notebooks '01_detect_staleness,02_pipeline_logs'",
         "--cluster 'tcp://host:8786' --student 'alice' --force", "--no-sandbox", "exited with status"],
    ("grade",): ["wt06-grade grade --jobs 1", "--timeout 60 --notebooks ''", "--student ''"],
    ("feedback", "STUDENT=alice"): ["wt06-grade feedback --student 'alice'"],
    ("formgrade",): ["cd grader && ../.venv/bin/jupyter server", "--ServerApp.default_url=/formgrader"],
    ("roster", "FILE=export.csv", "MATCH=SIS Login ID"): [f"wt06-grade roster \"{REPO}/export.csv\"",
                                                         "--match 'SIS Login ID'"],
    ("report",): ["wt06-grade report"],
    ("export-grades", "LMS=moodle", "INCLUDE_REMOVED=1"): ["wt06-grade export-grades --lms moodle --include-removed"],
    ("export-grades", "LMS=canvas"): ["wt06-grade export-grades --lms canvas"],
    ("bench", "QUICK=1"): ["bench/run.py --quick"],
    ("docs-images",): ["docs/make_images.py"],
    ("clean",): ["rm -rf data/warehouse.duckdb data/work dbt_project/target dbt_project/logs"],
}


@pytest.mark.parametrize("args", list(RECIPES), ids=lambda a: " ".join(a))
def test_each_make_recipe_runs_the_documented_tool(args):
    out = _dry(*args)
    for fragment in RECIPES[args]:
        assert fragment in out, (args, fragment, out[-1500:])
    if args[0] in ("lab", "formgrade"):  # Jupyter refuses to run as root unless told
        assert ("--allow-root" in out) == ROOT


def test_make_refuses_missing_arguments_with_a_usage_line():
    for target, usage in (("roster", "usage: make roster FILE="), ("export-grades", "usage: make export-grades LMS="),
                          ("export", "usage: make export DEST=")):
        done = subprocess.run(["make", "-s", target], cwd=REPO, capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and usage in done.stderr, (target, done.stderr)


def test_the_docs_send_nobody_to_commands_that_do_not_work():
    """nbgrader 0.9 has no `formgrader` command ("No command given"); `cd grader && jupyter lab` fails
    as root without --allow-root: the docs name `make formgrade`. zip_collect is nbgrader's."""
    for doc in DOCS:
        text = doc.read_text()
        assert "`nbgrader formgrader`" not in text.replace("`nbgrader formgrader` is not a command", ""), doc
        assert "cd grader && ../.venv/bin/jupyter lab" not in text, doc
    done = subprocess.run([str(REPO / ".venv" / "bin" / "nbgrader"), "--help-all"], capture_output=True, text=True,
                          timeout=120)
    assert "zip_collect" in done.stdout and "\nformgrader\n" not in done.stdout


@pytest.mark.slow
def test_the_export_holds_what_the_guide_says(tmp_path):
    """grader/README: nothing of grader/ or tests/; the dbt project whole, analyses/ included (no answer in them)."""
    from wt06_grading.definition.export import export

    guide = (REPO / "grader" / "README.md").read_text()
    assert "The dbt project goes out whole, its `analyses/` included" in guide
    dest = export(tmp_path / "student")
    assert sorted(p.name for p in (dest / "dbt_project" / "analyses").iterdir()) == \
        sorted(p.name for p in (REPO / "dbt_project" / "analyses").iterdir())
    assert not (dest / "grader").exists() and not (dest / "tests").exists()
    assert not (dest / "nbgrader_config.py").exists()  # the root config that points formgrader at grader/


@pytest.mark.slow
def test_nbgrader_export_reads_the_same_gradebook(tmp_path):
    """grader/README: formgrader, `nbgrader export` and `make export-grades` all read the same gradebook."""
    import csv

    from fixtures.fake_worker import tiny_gradebook
    from fixtures.views import scores
    from wt06_grading.foundation.contract import GradeRow, SubmissionResult
    from wt06_grading.records.gradebook import open_gradebook, write_result

    url = tiny_gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}")
    rows = [GradeRow("n1", "q1", 2.0, 2.0, "passed"), GradeRow("n1", "q2", 1.0, 0.0, "failed"),
            GradeRow("n2", "m1", 2.0, None, "manual"), GradeRow("n2", "q3", 3.0, 3.0, "passed")]
    with open_gradebook(url) as gb:
        write_result(gb, SubmissionResult("ada", rows, [], {}, {}, 1.0, "w"))
        grade = gb.find_grade("m1", "n2", "wt06", "ada")
        grade.manual_score = 1.5
        gb.db.commit()
    done = subprocess.run([str(REPO / ".venv" / "bin" / "nbgrader"), "export", f"--CourseDirectory.db_url={url}",
                           f"--CsvExportPlugin.to={tmp_path / 'export.csv'}"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    with (tmp_path / "export.csv").open() as handle:
        (row,) = [r for r in csv.DictReader(handle) if r["student_id"] == "ada"]
    assert float(row["raw_score"]) == sum(nb["score"] for nb in scores(url)["ada"].values()) == 6.5
