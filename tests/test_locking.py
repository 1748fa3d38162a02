"""A notebook-style connection and in-process dbt share the file; another process is told why it cannot."""

from __future__ import annotations

import subprocess
import sys

from conftest import REPO
from wt06.incident.warehouse import connect
from wt06.pipeline import dbt_runner


def test_a_notebook_connection_and_in_process_dbt_work_together(warehouse_copy, project_copy):
    con = connect(warehouse_copy)
    try:
        before = con.execute("select count(*) from audit.dbt_invocations").fetchone()[0]
        result = dbt_runner.invoke('dbt run --select "staging.*"', warehouse=warehouse_copy,
                                   project=project_copy)
        assert result.success, result.log
        after = con.execute("select count(*) from audit.dbt_invocations").fetchone()[0]
        assert after == before + 1
        assert con.execute("select count(*) from stg_orders").fetchone()[0] > 0
    finally:
        con.close()
        dbt_runner.release()


def test_a_second_process_gets_one_clear_sentence(warehouse_copy):
    con = connect(warehouse_copy)
    try:
        other = subprocess.run(
            [sys.executable, "-m", "wt06", "dbt", "--warehouse", str(warehouse_copy), "--", "run"],
            capture_output=True, text=True, cwd=REPO, timeout=120,
        )
    finally:
        con.close()
    assert other.returncode == 1
    assert "Traceback" not in other.stderr
    assert f"The warehouse {warehouse_copy} is open in another process" in other.stderr
    assert "Shut that kernel down" in other.stderr
