"""Dead code check for ``make lint``: vulture over the two packages, the notebooks' code and bench.

Vulture reads Python files only, and much of the course package is called from the
notebooks (``wt.verify_fix(...)``, ``plots.run_durations(...)``): their code cells are
written to a temporary module first (magics and shell lines dropped), so a helper only
a notebook calls counts as used. ``tools/vulture_allow.py`` names what is called by a
framework rather than by our code (IPython hooks, Dask plugin methods, entry points
named in strings). Tests do not count as users: a helper only a test calls is dead
unless the allow-list names it with the test that uses it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCANNED = ["wt06", "grader/wt06_grading", "bench", "docs/make_images.py", "tools/vulture_allow.py"]
NOTEBOOKS = ["notebooks", "grader/source/wt06"]


def notebook_code() -> str:
    """Every code cell of the course's notebooks, as one module vulture can read."""
    parts = []
    for folder in NOTEBOOKS:
        for path in sorted((ROOT / folder).glob("*.ipynb")):
            for cell in json.loads(path.read_text())["cells"]:
                if cell["cell_type"] != "code":
                    continue
                source = "".join(cell["source"])
                if source.lstrip().startswith("%%"):
                    continue  # a cell magic: SQL, not Python
                lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
                parts.append(f"def _cell_{len(parts)}():\n" + "".join(f"    {line}\n" for line in lines) + "    pass\n")
    return "\n".join(parts)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="wt06-dead-code-") as tmp:
        cells = Path(tmp) / "notebook_cells.py"
        cells.write_text(notebook_code())
        command = [sys.executable, "-m", "vulture", "--min-confidence", "60",
                   *[str(ROOT / p) for p in SCANNED], str(cells)]
        found = subprocess.run(command, capture_output=True, text=True)
    report = [line for line in found.stdout.splitlines() if "notebook_cells.py" not in line]
    for line in report:
        print(line.replace(str(ROOT) + "/", ""))
    if found.returncode not in (0, 3) or found.stderr.strip():
        print(found.stderr, file=sys.stderr)
        return found.returncode or 1
    if report:
        print(f"{len(report)} unused names: delete them, or name in tools/vulture_allow.py why a framework "
              "calls them", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
