"""Regenerate the pictures in docs/images from the course itself (``make docs-images``).

Charts come from executing the instructor notebooks (the same code students run), so a
change to a chart or to the data shows up in the guides after one command. When
chromium and Playwright are available, a screenshot of notebook 1 in JupyterLab is taken
with the browser test's harness too.
"""

from __future__ import annotations

import base64
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "docs" / "images"
SOURCE = REPO / "grader" / "source" / "wt06"

# picture name -> (notebook, index of the chart among that notebook's images)
CHARTS = {
    "freshness_lag.png": ("01_detect_staleness", 0),
    "run_durations.png": ("02_pipeline_logs", 0),
    "duration_baseline.png": ("03_phantom_successes", 0),
    "missing_by_day.png": ("04_blast_radius", 0),
    "detection_timeline.png": ("06_agent_lens", 1),
}


def _images(notebook) -> list[bytes]:
    return [base64.b64decode(o["data"]["image/png"]) for c in notebook.cells if c.cell_type == "code"
            for o in c.outputs if "image/png" in o.get("data", {})]


def charts() -> None:
    executed = {}
    for name in sorted({nb for nb, _ in CHARTS.values()}):
        notebook = nbformat.read(SOURCE / f"{name}.ipynb", as_version=4)
        NotebookClient(notebook, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(SOURCE)}}).execute()
        executed[name] = _images(notebook)
    for picture, (name, index) in CHARTS.items():
        (OUT / picture).write_bytes(executed[name][index])
        print(f"wrote docs/images/{picture}")


def screenshot() -> None:
    sys.path.insert(0, str(REPO / "tools"))
    from lab_browser import LabSession, browser_missing  # the browser tests' harness

    if browser_missing():
        print(f"no screenshot: {browser_missing()}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        session = LabSession(Path(tmp))
        try:
            result = session.run_all(REPO / "notebooks" / "01_detect_staleness.ipynb", root=REPO,
                                     keep_going=True, name="notebook")
        finally:
            session.close()
        import matplotlib.image as image

        pixels = image.imread(result.screenshot)
        image.imsave(OUT / "notebook_in_jupyterlab.png", pixels[1080:2150, :1150])
        print("wrote docs/images/notebook_in_jupyterlab.png")


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    charts()
    screenshot()
