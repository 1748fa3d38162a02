"""Take in a submission: read its files safely, then decide what can be graded.

``read_submission`` (driver) turns ``submitted/<student>/<assignment>/`` into bytes.
Only regular files directly in that folder are read, opened without following links:
a symlink (to the instructor's sources, to /etc/passwd), a hard link to a file outside
the submissions, a device, a FIFO or a subfolder is refused with a sentence, and the
notebook it stood for is graded as missing; a student folder that is itself a link is not
read at all, and the student's row says why. A notebook that is the same file as a
classmate's (a hard link between two submissions: which one is the original cannot be
told) is graded for both and flagged for a look, never zeroed. ``take_in`` (worker)
parses the notebooks, each problem becoming a sentence with a fixed outcome:

* a notebook that is not valid JSON, or not submitted: graded as missing (0 points);
* a notebook saved under another name: graded under its expected name, if exactly one
  unknown notebook carries that notebook's cells;
* stored outputs, however large: dropped before grading (noted if large).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from wt06_grading.foundation.contract import Note, SubmissionJob
from wt06_grading.foundation.layout import ASSIGNMENT

MAX_FILE_BYTES = 200_000_000
LARGE_BYTES = 5_000_000
ACCEPTED = (".ipynb",)
TIMESTAMP = "timestamp.txt"


def _read_regular(folder_fd: int, name: str, submissions: Path | None = None,
                  own: Path | None = None) -> bytes | str | tuple[bytes, str]:
    """The bytes of ``name`` if it is a regular file with one link, else why not.

    A file with other links is read only if every one of them is in ``submissions``
    (the class's folder): then (bytes, the sentence naming the other submissions).
    """
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder_fd)
    except OSError as exc:
        if exc.errno in (40, 6):  # ELOOP: a symlink; ENXIO: a socket or a FIFO without writer
            return f"{name} is a link or a special file, not a notebook; it was not read"
        return f"{name} could not be opened ({exc.strerror})"
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            return f"{name} is not a regular file (a device, a FIFO or a folder); it was not read"
        shared = ""
        if info.st_nlink != 1:
            others = _links_among(submissions, info) if submissions is not None else None
            if others is None or len(others) != info.st_nlink:
                return f"{name} is a hard link to a file outside the submissions; it was not read"
            shared = (f"{name} is the same file (a hard link) as "
                      f"{', '.join(str(o) for o in others if o != own)}: graded for every submission "
                      "that holds it; look at who copied whom")
        if info.st_size > MAX_FILE_BYTES:
            return f"{name} is {info.st_size / 1e6:.0f} MB, more than a notebook can be; it was not read"
        chunks, size = [], 0
        while chunk := os.read(fd, 1 << 20):
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_FILE_BYTES:
                return f"{name} is larger than a notebook can be; it was not read"
        return (b"".join(chunks), shared) if shared else b"".join(chunks)
    finally:
        os.close(fd)


def _links_among(submissions: Path, info: os.stat_result) -> list[Path] | None:
    """Every submitted file (``<student>/<assignment>/<name>``) that is the file ``info`` describes.

    Links are not followed: a student folder or assignment folder that is a symlink (to the
    instructor's sources, say) holds no submission, so a hard link to a file it points at is
    still a link to a file outside the submissions.
    """
    found = []
    try:
        for student in os.scandir(submissions):
            if not student.is_dir(follow_symlinks=False):
                continue
            folder = Path(student.path) / ASSIGNMENT
            if folder.is_symlink() or not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                if not entry.is_file(follow_symlinks=False):
                    continue
                other = entry.stat(follow_symlinks=False)
                if other.st_ino == info.st_ino and other.st_dev == info.st_dev:
                    found.append(Path(entry.path).relative_to(submissions))
    except OSError:
        return None
    return sorted(found)


def read_submission(folder: Path, student: str) -> SubmissionJob:
    """The submission in ``folder`` as bytes; what could not be read goes into ``problems``."""
    job = SubmissionJob(student, {})
    if Path(folder).parent.is_symlink() and Path(folder).parent.name == student:
        job.problems.append("the student's folder is a link (a symlink), not a folder; it was not read")
        return job
    try:
        folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        job.problems.append("the submission folder is missing, a link, or unreadable")
        return job
    try:
        for entry in sorted(os.listdir(folder_fd)):
            if entry.startswith("."):
                continue
            if not (entry.endswith(ACCEPTED) or entry == TIMESTAMP):
                job.problems.append(f"{entry} is not part of the assignment and was ignored")
                continue
            submissions = Path(folder).parent.parent
            own = Path(folder).relative_to(submissions) / entry
            content = _read_regular(folder_fd, entry, submissions, own)
            if isinstance(content, tuple):
                content, shared = content
                job.problems.append(shared)
            if isinstance(content, str):
                job.problems.append(content)
            elif entry == TIMESTAMP:
                job.timestamp = content.decode(errors="replace").strip()[:64]
            else:
                job.files[entry] = content
    finally:
        os.close(folder_fd)
    return job


@dataclass
class Intake:
    notebooks: dict[str, nbformat.NotebookNode] = field(default_factory=dict)  # name -> parsed
    notes: list[Note] = field(default_factory=list)

    def note(self, notebook: str, sentence: str, *, look: bool = True) -> None:
        self.notes.append(Note(notebook, sentence, look))


def _grade_ids(notebook) -> set[str]:
    return {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in notebook.cells} - {None}


def _parse(name: str, data: bytes):
    try:
        raw = json.loads(data)
        notebook = nbformat.from_dict(raw)
        if not isinstance(notebook.get("cells"), list):
            raise ValueError("no cells")
        for cell in notebook.cells:
            if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
                raise ValueError("a cell of unknown type")
            source = cell.get("source", "")
            cell["source"] = "".join(source) if isinstance(source, list) else str(source)
            cell.setdefault("metadata", {})
            if not isinstance(cell["metadata"], dict):
                cell["metadata"] = {}
        return notebook, None
    except (ValueError, TypeError, RecursionError, AttributeError):
        return None, f"{name} is not a valid notebook (its JSON is broken or incomplete)"


def take_in(job: SubmissionJob, release: dict[str, nbformat.NotebookNode], only: list[str] | None = None) -> Intake:
    """Read ``job``'s notebooks against the released ones (``only``: the notebooks graded)."""
    intake = Intake()
    for problem in job.problems:
        intake.note("", problem)
    wanted = [name for name in release if only is None or name in only]
    unknown = {}
    for filename, data in sorted(job.files.items()):
        name = filename[: -len(".ipynb")]
        notebook, problem = _parse(filename, data)
        if name in release:
            if name not in wanted:
                continue
            if problem:
                intake.note(name, problem + "; graded as missing")
                continue
            intake.notebooks[name] = notebook
            if len(data) > LARGE_BYTES:
                intake.note(name, f"the submitted notebook was {len(data) / 1e6:.0f} MB (stored outputs); "
                                  "outputs were cleared before grading", look=False)
        elif notebook is not None:
            unknown[filename] = notebook
    for name in wanted:
        if name in intake.notebooks or any(n.notebook == name for n in intake.notes):
            continue
        ids = _grade_ids(release[name])
        matches = [f for f, nb in unknown.items() if len(ids & _grade_ids(nb)) >= len(ids) / 2]
        if len(matches) == 1:
            intake.notebooks[name] = unknown.pop(matches[0])
            intake.note(name, f"submitted as {matches[0]}; graded as {name}.ipynb (renamed)")
        else:
            intake.note(name, f"{name}.ipynb was not submitted; graded as missing (0 points)")
    for stray in unknown:
        intake.note("", f"{stray} is not part of the assignment and was ignored", look=False)
    if not job.files and not job.problems:
        intake.notes = [Note("", "empty submission: no notebook was submitted")]
    for notebook in intake.notebooks.values():
        for cell in notebook.cells:  # stored outputs are never graded
            if cell.get("cell_type") == "code":
                cell["outputs"], cell["execution_count"] = [], None
    return intake
