"""The course notebooks: instructor versions run clean, student versions are generated and blank."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from conftest import REPO

SOURCE = REPO / "grader" / "source" / "wt06"
STUDENT = REPO / "notebooks"
NAMES = sorted(p.stem for p in SOURCE.glob("*.ipynb"))


def _nbgrader_meta(cell) -> dict:
    return cell.metadata.get("nbgrader", {})


def _execute(path: Path, env: dict | None = None, notebook=None) -> nbformat.NotebookNode:
    notebook = notebook if notebook is not None else nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(path.parent)}}).execute(
        env={**os.environ, **(env or {})})
    return notebook


def _outputs_text(cells) -> str:
    """Everything the cells showed: streams, plain text, Markdown, errors."""
    parts = []
    for cell in cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            data = output.get("data", {})
            parts += [data.get("text/plain", ""), data.get("text/markdown", ""), data.get("text/html", "")]
            parts.append(output.get("evalue", ""))
    return "\n".join(parts)


def _errors(notebook) -> list[str]:
    return [f"cell {i}: {o.ename}: {o.evalue}" for i, cell in enumerate(notebook.cells)
            if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"]


def _graded_outputs(notebook) -> dict[str, list]:
    """Outputs of answer and test cells, without volatile fields."""
    graded = {}
    for cell in notebook.cells:
        meta = _nbgrader_meta(cell)
        if cell.cell_type == "code" and (meta.get("solution") or meta.get("grade")):
            graded[meta["grade_id"]] = [
                {k: v for k, v in o.items() if k not in ("execution_count", "metadata")}
                for o in cell.outputs]
    return graded


@pytest.fixture(scope="session")
def executed_twice(incident_warehouse):
    """name -> that instructor notebook executed twice in a row (the second run starts over),
    on first use; a notebook's tests share one xdist worker (EACH), different notebooks not."""
    done: dict[str, tuple] = {}

    def get(name: str) -> tuple:
        if name not in done:
            done[name] = (_execute(SOURCE / f"{name}.ipynb"), _execute(SOURCE / f"{name}.ipynb"))
        return done[name]

    return get


def test_there_is_one_notebook_per_phase():
    assert NAMES == ["01_detect_staleness", "02_pipeline_logs", "03_phantom_successes",
                     "04_blast_radius", "05_fix_and_prevent", "06_agent_lens"]
    assert sorted(p.stem for p in STUDENT.glob("*.ipynb")) == NAMES


@pytest.mark.slow
def test_instructor_notebooks_pass_nbgrader_validate(incident_warehouse):
    result = subprocess.run([sys.executable, "-m", "nbgrader", "validate",
                             *[str(SOURCE / f"{n}.ipynb") for n in NAMES]],
                            capture_output=True, text=True, timeout=900)
    assert result.stdout.count("Success! Your notebook passes all the tests.") == len(NAMES), \
        result.stdout[-3000:]


@pytest.mark.slow
def test_blank_student_notebooks_pass_no_test(incident_warehouse):
    result = subprocess.run([sys.executable, "-m", "nbgrader", "validate", "--invert",
                             *[str(STUDENT / f"{n}.ipynb") for n in NAMES]],
                            capture_output=True, text=True, timeout=900)
    assert result.stdout.count("Success! The notebook does not pass any tests.") == len(NAMES), \
        result.stdout[-3000:]


EACH = [pytest.param(name, marks=pytest.mark.xdist_group(f"tests/test_notebooks.py::executed_twice[{name}]"))
        for name in NAMES]


@pytest.mark.slow
@pytest.mark.parametrize("name", EACH)
def test_instructor_notebooks_run_without_error_and_repeat_exactly(executed_twice, name):
    first, second = executed_twice(name)
    assert _errors(first) == [], f"{name}: {_errors(first)}"
    assert _graded_outputs(first) == _graded_outputs(second), f"{name}: Run All twice differs"
    for cell in first.cells:
        for output in cell.get("outputs", []):
            if output.output_type == "stream":
                assert output.name != "stderr", f"{name}: stderr output: {output.text[:300]}"


@pytest.mark.slow
@pytest.mark.parametrize("name", EACH)
def test_executed_notebooks_contain_their_plots(executed_twice, name):
    notebook, _ = executed_twice(name)
    plot_cells = [c for c in notebook.cells if c.cell_type == "code" and "plots." in c.source]
    for cell in plot_cells:
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(images) == 1, f"{name}: a plotting cell shows {len(images)} images"
    if name != "05_fix_and_prevent":
        assert plot_cells, f"{name} draws no chart"


@pytest.fixture(scope="session")
def executed_blank(incident_warehouse) -> dict:
    """Every student notebook, as released, executed to the end (errors allowed)."""
    return {name: _execute(STUDENT / f"{name}.ipynb") for name in NAMES}


@pytest.mark.slow
def test_blank_student_notebooks_fail_only_with_no_answer_yet(executed_blank):
    for name, notebook in executed_blank.items():
        errors = _errors(notebook)
        assert errors, f"{name}: a blank notebook should stop at its first answer cell"
        assert all("no answer yet" in e for e in errors), f"{name}: {errors}"
        assert not any("Parser Error" in e or "NotImplementedError()" in e for e in errors)


@pytest.mark.slow
def test_the_blank_fix_notebook_claims_no_check_and_no_fix(executed_blank):
    """Before any answer: no PASS for a test that does not exist, no 'Verified'."""
    text = _outputs_text(executed_blank["05_fix_and_prevent"].cells)
    assert "NOT RUN (no source has freshness configured)" in text
    assert "NOT RUN (no test named assert_marts_fresh in the project)" in text
    assert "PASS" not in text and "Verified" not in text
    assert "NOT verified" in text


@pytest.mark.slow
def test_the_blank_notebooks_print_no_answer_before_its_question(executed_blank):
    """The leaks the course once had: the catch-up selector's list, the fixed command, the
    blast radius's superset; none is printed by a blank notebook above its question."""
    everything = "\n".join(_outputs_text(nb.cells) for nb in executed_blank.values())
    assert not re.search(r"tag:mart\s*->", everything)
    assert "changed the scheduled command from" not in everything
    notebook = executed_blank["04_blast_radius"]
    cut = next(i for i, c in enumerate(notebook.cells) if _nbgrader_meta(c).get("grade_id") == "affected_models")
    above = _outputs_text(notebook.cells[:cut])
    assert "int_orders_enriched" not in above and "exposure" not in above


@pytest.fixture(scope="session")
def reference_answers(incident_warehouse) -> dict:
    """Every graded question's model answer on the course's incident (fixtures/answers.py)."""
    from fixtures.answers import reference_answers as compute

    return compute(incident_warehouse)


def _every_model() -> set[str]:
    return {p.stem for p in (REPO / "dbt_project" / "models").rglob("*.sql")}


def _answer_cell_index(notebook, grade_id: str) -> int:
    return next(i for i, c in enumerate(notebook.cells) if _nbgrader_meta(c).get("grade_id") == grade_id)


@pytest.mark.slow
def test_no_blank_notebook_shows_an_answer_above_its_question(executed_blank, reference_answers):
    """Each graded question's model answer, in its obvious forms (its rows as a table, its
    text, its names on one line or in one column, the selector, a line of the solution
    file), is nowhere in the outputs a blank notebook shows above the answer cell."""
    from fixtures.answers import leaks, shown

    found = []
    for question, answer in reference_answers.items():
        notebook = executed_blank[answer.notebook]
        above = shown(notebook, _answer_cell_index(notebook, answer.answer_cell))
        found += [f"{answer.notebook}, {question}: {where}" for where in leaks(answer, above, _every_model())]
    assert found == [], "answers shown above their questions:\n" + "\n".join(found)


@pytest.mark.slow
def test_the_answer_scan_finds_each_form_of_an_answer(reference_answers):
    """The scan itself: an answer printed in each obvious form is found."""
    from fixtures.answers import _norm, leaks, shown

    def printed(outputs):
        cell = nbformat.v4.new_code_cell("")
        cell.outputs = outputs
        return shown(nbformat.v4.new_notebook(cells=[cell]), 1)

    def stream(text):
        return nbformat.v4.new_output("stream", name="stdout", text=text)

    def table(columns, rows):
        head = "".join(f"<th>{c}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{v}</td>" for v in row) + "</tr>" for row in rows)
        html = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        return nbformat.v4.new_output("display_data", data={"text/html": html, "text/plain": "a table"})

    every = _every_model()
    staleness = reference_answers["test_mart_staleness"]
    assert leaks(staleness, printed([table(staleness.columns, staleness.rows)]), every)
    assert leaks(staleness, printed([table(["a", "b", "c", "d"], staleness.rows)]), every)
    assert not leaks(staleness, printed([table(staleness.columns, staleness.rows[:1])]), every)
    revenue = reference_answers["test_missing_revenue"]
    assert leaks(revenue, printed([stream(f"missing: ${float(revenue.rows[0][0]):,.2f}")]), every)
    affected = reference_answers["test_affected_models"]
    assert leaks(affected, printed([stream("not run: " + ", ".join(sorted(affected.names)))]), every)
    assert not leaks(affected, printed([stream("models: " + ", ".join(sorted(every)))]), every)
    selector = reference_answers["test_catch_up_selector"]
    assert leaks(selector, printed([stream(" ".join(sorted(selector.names)))]), every)
    assert leaks(selector, printed([stream(f"try --select '{selector.text}'")]), every)
    assert leaks(selector, printed([table(["model"], [[m] for m in sorted(selector.names)])]), every)
    gun = reference_answers["test_smoking_gun"]
    assert leaks(gun, printed([stream(f"the column to read is {gun.text}.")]), every)
    assert not leaks(gun, printed([table([gun.text], [["all"]])]), every)
    for question in ("test_source_freshness", "test_freshness_test", "test_monitor_rules"):
        lines = reference_answers[question].lines
        assert lines, f"{question}: no solution line to look for"
        assert leaks(reference_answers[question], printed([stream("\n".join(lines[:1]))]), every)
    assert _norm("2024-02-09 06:00:00") == _norm(__import__("datetime").datetime(2024, 2, 9, 6))


def test_student_notebooks_hold_no_solution_no_hidden_test_and_no_output():
    from wt06_grading.definition.reference import solution_only_lines

    solution_lines = solution_only_lines()
    assert len(solution_lines) > 30
    for path in STUDENT.glob("*.ipynb"):
        text = path.read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
                       "grader/wt06_grading"):
            assert marker not in text, f"{path.name} contains {marker!r}"
        notebook = nbformat.read(path, as_version=4)
        for cell in notebook.cells:
            for line in cell.source.splitlines():
                assert line.strip() not in solution_lines, f"{path.name} leaks a solution line: {line}"
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"


def test_committed_source_notebooks_carry_no_output():
    for path in SOURCE.glob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                assert cell.outputs == [] and cell.execution_count is None, f"{path.name} has outputs"


def test_make_release_regenerates_the_student_notebooks_identically(tmp_path):
    from wt06_grading.definition.release import release

    release(tmp_path)
    for name in NAMES:
        assert (tmp_path / f"{name}.ipynb").read_bytes() == (STUDENT / f"{name}.ipynb").read_bytes(), \
            f"{name}: notebooks/ is out of date; run make release"


def test_every_notebook_starts_with_the_shared_locked_setup_cell():
    for name in NAMES:
        notebook = nbformat.read(SOURCE / f"{name}.ipynb", as_version=4)
        setup = next(c for c in notebook.cells if c.cell_type == "code")
        assert setup.source == f'from wt06.notebook import start\n\ncourse = start("{name}")'
        assert _nbgrader_meta(setup) | {"locked": True} == _nbgrader_meta(setup)


def test_the_students_starting_sources_file_is_the_incident_projects():
    from wt06_grading.definition.reference import solution_cells
    from wt06_grading.foundation.markers import split_magic, without_solution

    _, source = solution_cells(raw=True)["source_freshness"]
    magic, body = split_magic(source)
    assert magic == "%%project_file models/staging/_sources.yml"
    incident = (REPO / "dbt_project/models/staging/_sources.yml").read_text()
    assert without_solution(body).rstrip("\n") == incident.rstrip("\n")


def _variant_env(tmp_path_factory, name: str, shared: Path) -> dict:
    """Settings that point the notebooks at another incident: the practice one or a variant.

    The public incidents the notebooks' visible checks use (practice, drills) sit beside the
    incident's warehouse: copies of the session's (``shared``: the canonical warehouse, with
    them beside it), not builds of their own; so is the practice incident itself.
    """
    from wt06 import incidents
    from wt06.incident.scenario import Scenario
    from wt06.pipeline.build import build_warehouse
    from wt06.publish import incident_env

    folder = tmp_path_factory.mktemp(name)
    for public in incidents.PUBLIC:
        shutil.copy(shared.with_name(f"{public}.duckdb"), folder / f"{public}.duckdb")
    if name == "practice":
        data = incidents.ensure_built("practice").data_dir
        warehouse = Path(shutil.copy(folder / "practice.duckdb", folder / "warehouse.duckdb"))
    else:
        data = folder / "data"
        Scenario(VARIANTS[name]).write(data)
        warehouse = build_warehouse(folder / "warehouse.duckdb", data_dir=data, work=folder / "build")
    return incident_env(data, warehouse, folder / "work")


def _variant_params():
    from wt06.incident.scenario import ScenarioParams

    # another selector and an outage that starts on a weekday; the other a long one with quiet days
    return {"variant-weekday": ScenarioParams.variant(3), "variant-quiet": ScenarioParams.variant(6)}


VARIANTS = _variant_params()
# Words only the course's own incident can produce: its dates, weekend, selector, run ids.
CANONICAL_LITERALS = ("staging.*", "Feb 8", "Feb 12", "08 Feb", "12 Feb", "weekend", "run_011", "run_012",
                      "rev_003", "2024-02-")


def test_the_variants_differ_from_the_course_incident_where_text_would_drift():
    from wt06.incident.scenario import Scenario

    weekday = Scenario(VARIANTS["variant-weekday"])
    assert weekday.params.broken_selector != "staging.*" and weekday.outage_days[0].weekday() < 5
    assert Scenario(VARIANTS["variant-quiet"]).quiet_days


# `make test` runs the notebooks on the practice incident and one variant (another selector,
# an outage that starts on a weekday); `make test-full` (a release) adds the long variant with
# quiet days (the practice incident has a quiet day too).
OTHER_INCIDENTS = ["practice", "variant-weekday", pytest.param("variant-quiet", marks=pytest.mark.full)]


@pytest.mark.slow
@pytest.mark.parametrize("incident", OTHER_INCIDENTS)
def test_instructor_notebooks_run_clean_on_other_incidents_and_say_nothing_of_the_course_one(
        incident_warehouse, tmp_path_factory, incident):
    """Every cell runs (every visible test passes) and no output names the course's incident."""
    env = _variant_env(tmp_path_factory, incident, incident_warehouse)
    for name in NAMES:
        notebook = _execute(SOURCE / f"{name}.ipynb", env)
        assert _errors(notebook) == [], f"{incident} {name}: {_errors(notebook)}"
        text = _outputs_text(notebook.cells)
        leaked = [word for word in CANONICAL_LITERALS if word in text]
        assert not leaked, f"{incident} {name}: the output says {leaked}"


def _with_answers(name: str, replace: dict[str, str]) -> nbformat.NotebookNode:
    """The instructor notebook ``name`` with some answer cells' sources replaced."""
    notebook = nbformat.read(SOURCE / f"{name}.ipynb", as_version=4)
    for cell in notebook.cells:
        grade_id = _nbgrader_meta(cell).get("grade_id")
        if grade_id in replace:
            cell.source = replace[grade_id]
    return notebook


def _test_errors(notebook) -> dict[str, str]:
    errors = {}
    for cell in notebook.cells:
        meta = _nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            for output in cell.outputs:
                if output.output_type == "error":
                    errors[meta["grade_id"]] = f"{output.ename}: {output.evalue}"
    return errors


@pytest.mark.slow
def test_honest_but_unusual_answers_pass_the_visible_tests(incident_warehouse):
    """Placeholder lines left in, answers computed another way, the older freshness form."""
    from wt06.settings import PLACEHOLDERS

    sql, python, yaml_stub = PLACEHOLDERS["sql"], PLACEHOLDERS["python"], PLACEHOLDERS["yaml"]
    notebook = _with_answers("02_pipeline_logs", {
        "smoking_gun": python + '\nsmoking_gun_column = "models" + "_run"',
        "catch_up_selector": 'catch_up_selector = "tag:mart tag:intermediate"\n' + python,
    })
    assert _test_errors(_execute(SOURCE / "02_pipeline_logs.ipynb", notebook=notebook)) == {}

    notebook = _with_answers("04_blast_radius", {"affected_models": python + """
def affected_models_in(incident):
    built = set(incident.sql(\"\"\"select unnest(models_run) as m from audit.dbt_invocations
                                where scheduler_run_id = (select max(scheduler_run_id) from audit.dbt_invocations)\"\"\")["m"])
    return {m for m in incident.models("+exposure:revenue_dashboard") if m not in built}


affected_models = affected_models_in(course)"""})
    assert _test_errors(_execute(SOURCE / "04_blast_radius.ipynb", notebook=notebook)) == {}

    source = nbformat.read(SOURCE / "05_fix_and_prevent.ipynb", as_version=4)
    sources_cell = next(c for c in source.cells if _nbgrader_meta(c).get("grade_id") == "source_freshness")
    top_level = (sources_cell.source
                 .replace("    # BEGIN SOLUTION\n    config:\n      loaded_at_field: _loaded_at\n      freshness:",
                          "    # BEGIN SOLUTION\n    loaded_at_field: _loaded_at\n    freshness:")
                 .replace("        warn_after: {count: 2, period: day}\n        error_after: {count: 4, period: day}",
                          "      warn_after: {count: 48, period: hour}\n      error_after: {count: 96, period: hour}")
                 .replace("# BEGIN SOLUTION", yaml_stub))  # END SOLUTION lines stay: YAML comments
    assert "config:\n      loaded_at_field" not in top_level and yaml_stub in top_level
    test_cell = next(c for c in source.cells if _nbgrader_meta(c).get("grade_id") == "freshness_test")
    notebook = _with_answers("05_fix_and_prevent", {
        "scheduler_command": python + "\nscheduler_command = 'dbt build'",
        "source_freshness": top_level,
        "freshness_test": test_cell.source.replace("-- BEGIN SOLUTION", sql.replace("\n", "\n", 1)),
    })
    assert _test_errors(_execute(SOURCE / "05_fix_and_prevent.ipynb", notebook=notebook)) == {}


@pytest.mark.slow
def test_answers_copied_from_the_outputs_fail_the_visible_tests(incident_warehouse):
    """Typed-in answers, now() for as_of(), the last phantom run for the first: caught in the notebook."""
    notebook = _with_answers("01_detect_staleness", {
        "mart_staleness": "%%sql --save mart_staleness\n"
                          "select 'fct_revenue_daily' as mart, date '2024-02-08' as newest_date, "
                          "timestamp '2024-02-08 18:14:39' as last_refreshed_at, 86.8 as hours_stale\n"
                          "union all select 'fct_daily_signups', date '2024-02-08', "
                          "timestamp '2024-02-08 18:14:39', 86.8",
        "dashboard_gap": "%%sql --save dashboard_gap\nselect distinct order_date from stg_orders "
                         "where order_date > date '2024-02-08' order by 1",
    })
    errors = _test_errors(_execute(SOURCE / "01_detect_staleness.ipynb", notebook=notebook))
    assert "grow with the story's clock" in errors["test_mart_staleness"]
    assert "practice incident" in errors["test_dashboard_gap"]

    notebook = _with_answers("01_detect_staleness", {"mart_staleness": nbformat.read(
        SOURCE / "01_detect_staleness.ipynb", as_version=4).cells[8].source.replace("as_of()", "now()")})
    errors = _test_errors(_execute(SOURCE / "01_detect_staleness.ipynb", notebook=notebook))
    assert "as_of()" in errors["test_mart_staleness"]

    source = nbformat.read(SOURCE / "03_phantom_successes.ipynb", as_version=4)
    root_cause = next(c for c in source.cells if _nbgrader_meta(c).get("grade_id") == "root_cause").source
    notebook = _with_answers("03_phantom_successes", {
        "root_cause": root_cause.replace("select * from phantoms order by started_at limit 1",
                                         "select * from phantoms order by started_at desc limit 1"),
        "breaking_change": "%%sql --save breaking_change\nselect revision_id, changed_at, changed_by, message, "
                           "command, cron from raw.raw_job_revisions where revision_id = 'rev_003'",
    })
    errors = _test_errors(_execute(SOURCE / "03_phantom_successes.ipynb", notebook=notebook))
    assert "first (oldest)" in errors["test_root_cause"]
    assert "practice incident" in errors["test_breaking_change"]


def test_readme_maps_every_learning_objective_to_graded_cells():
    from wt06_grading.definition.reference import solution_cells

    readme = (REPO / "README.md").read_text()
    table = readme.split("## Learning objectives", 1)[1].split("\n## ", 1)[0]
    rows = [r for r in table.splitlines() if re.match(r"\|\s*\d\s*\|", r)]
    assert [int(r.split("|")[1]) for r in rows] == list(range(1, 9))
    for row in rows:
        ids = re.findall(r"`([a-z_]+)`", row.split("|")[3])
        assert ids, f"objective row without graded cells: {row}"
        for grade_id in ids:
            assert grade_id in solution_cells(), f"{grade_id} (README) is not an answer cell"


def test_every_graded_test_cell_declares_its_question_and_its_answer_exists():
    from wt06_grading.definition.questions import load
    from wt06_grading.kinds import KINDS

    course = load(SOURCE)
    for name in NAMES:
        notebook = nbformat.read(SOURCE / f"{name}.ipynb", as_version=4)
        tests = [c for c in notebook.cells if _nbgrader_meta(c).get("grade") and c.cell_type == "code"
                 and not _nbgrader_meta(c).get("solution")]
        declared = {q.id: q for q in course.for_notebook(name)}
        assert sorted(declared) == sorted(_nbgrader_meta(c)["grade_id"] for c in tests), name
        answers = "\n".join(c.source for c in notebook.cells if _nbgrader_meta(c).get("solution"))
        for grade_id, question in declared.items():
            assert question.kind in KINDS and question.hint, grade_id
            answer = question.answer.name
            provided = {"query": f"%%sql --save {answer}\n", "file": f"%%project_file {answer}\n",
                        "value": f"{answer} = "}[question.answer.type]
            assert provided in answers, f"{name} {grade_id}: no answer cell provides {answer}"
            if question.kind == "query":
                assert question.params["columns"], grade_id


def test_no_cell_but_an_answer_holds_a_placeholder_line():
    """The notebooks drop placeholder lines next to an answer: a check must never contain one."""
    from wt06.settings import is_placeholder_line

    for name in NAMES:
        for cell in nbformat.read(SOURCE / f"{name}.ipynb", as_version=4).cells:
            if cell.cell_type == "code" and not _nbgrader_meta(cell).get("solution"):
                assert not any(is_placeholder_line(line) for line in cell.source.splitlines()), name


@pytest.mark.full  # release depth (make test-full): a stale expected.json also fails the practice checks above
def test_release_publishes_exactly_the_committed_expected_results(incident_warehouse, tmp_path, monkeypatch):
    """``make release``'s second half (``wt06-grade release``): the instructor notebooks run on
    the public incidents, with their questions as the grader reads them, give exactly the
    committed expected.json files the visible checks compare with."""
    from wt06 import incidents
    from wt06.publish import publish_expected
    from wt06.settings import ENV_INCIDENTS_DIR
    from wt06_grading.definition.questions import load

    copy = tmp_path / "incidents"
    shutil.copytree(REPO / "data" / "incidents", copy)
    for published in copy.glob(f"*/{incidents.EXPECTED_FILE}"):
        published.unlink()  # written again from nothing: no stale entry survives
    monkeypatch.setenv(ENV_INCIDENTS_DIR, str(copy))
    publish_expected(SOURCE, [q.as_plain() for q in load(SOURCE).questions], say=lambda _: None)
    for name in incidents.PUBLIC:
        committed = REPO / "data" / "incidents" / name / incidents.EXPECTED_FILE
        written = copy / name / incidents.EXPECTED_FILE
        assert written.read_text() == committed.read_text(), f"{name}: its expected results are stale: make release"
