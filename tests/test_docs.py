"""The README and the guides stay true: their links and pictures exist, commands exist."""

from __future__ import annotations

import re
import subprocess

from conftest import REPO

DOCS = [REPO / "README.md", REPO / "grader" / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_every_relative_link_and_picture_exists():
    for doc in DOCS:
        for target in re.findall(r"\]\(([^)#\s]+)\)", doc.read_text()):
            if "://" in target:
                continue
            assert (doc.parent / target).exists(), f"{doc.relative_to(REPO)} links to missing {target}"


def test_every_make_target_the_docs_mention_exists():
    targets = set(re.findall(r"^([a-z-]+):", (REPO / "Makefile").read_text(), re.M))
    for doc in DOCS:
        for target in re.findall(r"`make ([a-z-]+)", doc.read_text()):
            assert target in targets, f"{doc.relative_to(REPO)} mentions make {target}"


def test_the_quick_start_has_exactly_two_commands():
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line.split("#")[0].strip() for line in block.strip().splitlines()]
    assert commands == ["make lab", "make test"]
    help_text = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True).stdout
    assert "make lab" in help_text and "make test" in help_text


def test_the_readme_tells_how_to_run_dbt_from_a_terminal_and_where_the_clock_lives():
    readme = (REPO / "README.md").read_text()
    section = readme.split("## dbt from a terminal", 1)[1].split("\n## ", 1)[0]
    for command in ("cd dbt_project", "dbt debug", "dbt run", "dbt source freshness"):
        assert command in section
    profile = (REPO / "dbt_project" / "profiles.yml").read_text()
    assert "../data/warehouse.duckdb" in profile and "../data/warehouse.duckdb" in section
    clock = readme.split("## One clock", 1)[1].split("\n## ", 1)[0]
    assert "as_of()" in clock and "as-of --set" in clock


def test_the_docs_describe_the_notebooks_that_exist():
    import nbformat

    readme = (REPO / "README.md").read_text()
    for path in sorted((REPO / "grader" / "source" / "wt06").glob("*.ipynb")):
        assert f"`{path.stem}`" in readme, f"README does not describe {path.stem}"
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("solution") and meta.get("grade_id") not in ("load_gaps", "duration_alert"):
                assert f"`{meta['grade_id']}`" in readme, f"README's objectives omit {meta['grade_id']}"
