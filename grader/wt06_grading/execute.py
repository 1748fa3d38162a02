"""nbgrader's Execute, made to survive a kernel that dies.

Plain nbgrader aborts a whole submission when the kernel dies (``os._exit``, a crash,
running out of memory) and records no grade. Here the cell that killed the kernel gets
an error output saying so, the cells after it are marked as not run (their tests fail,
deterministically), and grading goes on with the next notebook.
"""

from __future__ import annotations

from nbclient.exceptions import DeadKernelError
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor

KERNEL_DIED = "KernelDied"
NOT_RUN = "NotRun"


def error_output(ename: str, evalue: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue,
                        traceback=[f"{ename}: {evalue}"])


class CrashTolerantExecute(Execute):
    """Execute that turns a dead kernel into error outputs instead of an abort."""

    _died_at = None

    def preprocess(self, nb, resources=None, km=None):
        self._died_at = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if self._died_at is not None:
            if cell.cell_type == "code":
                cell.outputs = [error_output(NOT_RUN, f"not run: the kernel died in cell #{self._died_at + 1}")]
            return cell, resources
        try:
            return super().preprocess_cell(cell, resources, index)
        except DeadKernelError:
            self._died_at = index
            cell.outputs.append(error_output(
                KERNEL_DIED, "the kernel died while running this cell (os._exit, a crash or "
                             "running out of memory); the cells after it were not run"))
            return cell, resources

    async def _async_cleanup_kernel(self):
        try:
            await super()._async_cleanup_kernel()
        except Exception:  # a dead kernel cannot be shut down politely
            pass


class CapOutputSize(NbGraderPreprocessor):
    """Cut any single output down to ``max_chars`` characters.

    nbgrader's LimitOutput counts lines; one 50 MB line passes it untouched and then
    lands in the gradebook's notebook and in the feedback HTML.
    """

    max_chars = 20_000

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and len(output.get("text", "")) > self.max_chars:
                size = len(output["text"])
                output["text"] = output["text"][: self.max_chars] + f"\n... [{size:,} characters cut]\n"
            for kind, value in list(output.get("data", {}).items()):
                if isinstance(value, str) and len(value) > self.max_chars * 50:
                    output["data"][kind] = f"[{len(value):,} characters of {kind} cut]"
        return cell, resources
