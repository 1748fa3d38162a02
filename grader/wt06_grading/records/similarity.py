"""Similar answers: submissions whose answers to a question are near-identical.

Copying rarely survives as a byte-identical file; it survives as the same answer under
new names and another layout. So each answer is first reduced to its *structure*:

* SQL (a ``%%sql`` cell, a ``%%project_file`` test): parsed with sqlglot (DuckDB's
  dialect) and written back in one canonical form: keywords and identifiers in one case,
  whitespace and comments gone, literals in one notation (``date '2024-02-08'`` and
  ``cast('2024-02-08' as date)`` alike), and every alias (table aliases, CTE names,
  column aliases) renamed by order of first use (``a1``, ``a2``...), so renaming
  ``o`` to ``orders_cte`` changes nothing. SQL sqlglot cannot parse is compared by its
  tokens.
* Python: its AST (``ast.dump``), so layout, comments and quotes do not matter.
* YAML (a ``%%project_file`` config): the parsed document, keys sorted.
* Prose (the postmortem): its words, lower case.

Two answers to the same question are *similar* when their token sequences match for at
least ``THRESHOLD`` of their length (difflib's ratio), both have at least ``MIN_TOKENS``
tokens (short answers coincide honestly), and neither is the model answer or the blank
starting point (both are shared by design). Similar pairs are grouped into clusters
(connected pairs), per question. A flagged pair is a reason to read both, not a verdict.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from wt06_grading.foundation import markers
from wt06_grading.foundation.layout import ASSIGNMENT, RELEASE_NOTEBOOKS, SOURCE

THRESHOLD = 0.92  # share of matching tokens (difflib ratio) from which two answers are "similar"
MIN_TOKENS = 12  # answers shorter than this (normalised tokens) are never compared
RARE = 50  # a shingle shared by more answers than this does not make two answers candidates

_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\d+(?:\.\d+)?|'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|\S")


def _plain_tokens(text: str) -> list[str]:
    return [t.lower() for t in _TOKEN.findall(text)]


def _sql(text: str) -> list[str]:
    try:
        import sqlglot
        from sqlglot import exp

        trees = [t for t in sqlglot.parse(text, read="duckdb") if t is not None]
    except Exception:  # noqa: BLE001 (not SQL sqlglot reads: compare its tokens)
        return _plain_tokens(re.sub(r"--[^\n]*", "", text))
    out: list[str] = []
    for tree in trees:
        names: dict[str, str] = {}
        for node in tree.walk():
            alias = None
            if isinstance(node, exp.TableAlias) and node.name:
                alias = node.name
            elif isinstance(node, exp.Alias) and node.alias:
                alias = node.alias
            if alias and alias.lower() not in names:
                names[alias.lower()] = f"a{len(names) + 1}"

        def rename(node, names=names):
            if isinstance(node, exp.Identifier) and node.name.lower() in names:
                return exp.to_identifier(names[node.name.lower()])
            if isinstance(node, exp.Literal) and not node.is_string:
                try:
                    return exp.Literal.number(f"{float(node.this):g}")
                except ValueError:
                    return node
            return node

        canonical = tree.transform(rename).sql(dialect="duckdb", normalize=True, comments=False)
        out += _plain_tokens(canonical)
    return out


def _python(text: str) -> list[str]:
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return _plain_tokens(re.sub(r"#[^\n]*", "", text))
    return _plain_tokens(ast.dump(tree, annotate_fields=False, include_attributes=False))


def _yaml(text: str) -> list[str]:
    try:
        import yaml

        return _plain_tokens(json.dumps(yaml.safe_load(text), sort_keys=True, default=str))
    except Exception:  # noqa: BLE001
        return _plain_tokens(text)


def normalise(source: str, cell_type: str = "code") -> list[str]:
    """The answer's tokens after normalisation (see the module's docstring)."""
    if cell_type == "markdown":
        return re.findall(r"[a-z0-9]+", source.lower())
    lines = source.split("\n")
    magic = lines[0].strip() if lines and lines[0].startswith("%%") else ""
    body = "\n".join(lines[1:]) if magic else source
    if magic.startswith("%%sql"):
        return _sql(body)
    if magic.startswith("%%project_file"):
        path = magic.split(maxsplit=1)[1] if len(magic.split()) > 1 else ""
        return _sql(body) if path.endswith(".sql") else _yaml(body)
    return _python(body)


def ratio(a: list[str], b: list[str]) -> float:
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass
class Cluster:
    notebook: str
    question: str  # the answer cell's grade id
    students: list[str]
    similarity: float  # the lowest ratio among the pairs that joined it
    identical: bool  # every member's normalised answer is the same


def answers(folder: Path, students: list[str]) -> dict[tuple[str, str], dict[str, tuple[str, str]]]:
    """(notebook, answer cell) -> student -> (source, cell type), from ``autograded/<student>/wt06/``."""
    out: dict[tuple[str, str], dict[str, tuple[str, str]]] = defaultdict(dict)
    for student in students:
        for path in sorted((Path(folder) / student / ASSIGNMENT).glob("*.ipynb")):
            try:
                notebook = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            for cell in notebook.get("cells", []):
                meta = cell.get("metadata", {}).get("nbgrader", {})
                if meta.get("solution") and meta.get("grade_id"):
                    source = cell.get("source", "")
                    source = "".join(source) if isinstance(source, list) else str(source)
                    out[(path.stem, meta["grade_id"])][student] = (source, cell.get("cell_type", "code"))
    return out


def _shingles(tokens: list[str], size: int = 5) -> set[str]:
    if len(tokens) < size:
        return {" ".join(tokens)}
    return {hashlib.blake2b(" ".join(tokens[i:i + size]).encode(), digest_size=8).hexdigest()
            for i in range(len(tokens) - size + 1)}


def similar(by_question: dict[tuple[str, str], dict[str, tuple[str, str]]],
            shared: dict[tuple[str, str], list[tuple[str, str]]] | None = None, *,
            threshold: float = THRESHOLD, min_tokens: int = MIN_TOKENS) -> list[Cluster]:
    """Clusters of students with near-identical answers, per question.

    ``shared``: (notebook, answer cell) -> sources everyone may have (the model answer, the
    blank starting point); an answer near one of them is left out.
    """
    clusters = []
    for (notebook, question), students in sorted(by_question.items()):
        common = [normalise(source, kind) for source, kind in (shared or {}).get((notebook, question), [])]
        tokens = {}
        for student, (source, kind) in students.items():
            normal = normalise(source, kind)
            if len(normal) < min_tokens or any(ratio(normal, c) >= threshold for c in common):
                continue
            tokens[student] = normal
        index: dict[str, list[str]] = defaultdict(list)
        for student, normal in tokens.items():
            for shingle in _shingles(normal):
                index[shingle].append(student)
        candidates = {(a, b) for group in index.values() if len(group) <= RARE
                      for i, a in enumerate(group) for b in group[i + 1:]}
        parent = {s: s for s in tokens}

        def root(s, parent=parent):
            while parent[s] != s:
                parent[s] = parent[parent[s]]
                s = parent[s]
            return s

        lowest: dict[str, float] = {}
        for a, b in sorted(candidates):
            r = ratio(tokens[a], tokens[b])
            if r >= threshold:
                ra, rb = root(a), root(b)
                low = min(r, lowest.get(ra, 1.0), lowest.get(rb, 1.0))
                parent[rb] = ra
                lowest[ra] = low
        groups: dict[str, list[str]] = defaultdict(list)
        for student in tokens:
            groups[root(student)].append(student)
        for head, members in groups.items():
            if len(members) > 1:
                same = len({tuple(tokens[m]) for m in members}) == 1
                clusters.append(Cluster(notebook, question, sorted(members), lowest.get(head, 1.0), same))
    return clusters


def shared_sources(course: Path) -> dict[tuple[str, str], list[tuple[str, str]]]:
    """The model answers (instructor notebooks) and the blank starting points (release) per answer cell."""
    import nbformat

    out: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    source = Path(course) / "source" / ASSIGNMENT
    release = Path(course) / "release" / ASSIGNMENT
    release = release if release.is_dir() else RELEASE_NOTEBOOKS
    for folder, solved in ((source if source.is_dir() else SOURCE, True), (release, False)):
        for path in sorted(Path(folder).glob("*.ipynb")):
            for cell in nbformat.read(path, as_version=4).cells:
                meta = cell.metadata.get("nbgrader", {})
                if meta.get("solution"):
                    text = markers.without_markers(cell.source) if solved else cell.source
                    out[(path.stem, meta["grade_id"])].append((text, cell.cell_type))
    return out


def class_clusters(course: Path, students: list[str]) -> list[Cluster]:
    """The similar answers of ``students`` in ``course``'s autograded notebooks."""
    return similar(answers(Path(course) / "autograded", students), shared_sources(course))
