"""
conftest.py - one throwaway certflow stack per test session.

scripts/devstack up builds it in a temporary directory (PostgreSQL, the dev CA
and certificates, certflowd.conf, migrations, an admin, certflowd); at the end
certflowd is stopped with SIGTERM, its logs are searched for sanitizer reports
and token text (either fails the session), then devstack down --purge.
Extra certflowd processes (extra_instance) share the database and the CA.
"""

import hashlib
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cfclient  # noqa: E402
from cfclient import Client, slowness, wait_until  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
DEVSTACK = REPO / "scripts" / "devstack"

SANITIZER_PATTERNS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                      "SUMMARY: AddressSanitizer", "SUMMARY: UndefinedBehaviorSanitizer")
# valgrind -q prints only errors, as "==PID== ..." lines.
VALGRIND_PATTERN = re.compile(r"^==\d+== ", re.M)

# Problems found at teardown that must fail the whole session.
_session_problems = []

if os.environ.get("SANITIZE") == "1":
    os.environ.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=23")
    os.environ.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1")


def build_dir():
    b = os.environ.get("CERTFLOW_BUILD")
    return Path(b).resolve() if b else REPO / "build"


def wrapper_argv():
    return shlex.split(os.environ.get("CERTFLOWD_WRAPPER", ""))


def log_problems(text, where):
    """Lines of TEXT that are sanitizer/valgrind reports or token text, as messages."""
    out = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if any(p in line for p in SANITIZER_PATTERNS):
            ctx = "\n".join(lines[i:i + 25])
            out.append("%s: sanitizer report:\n%s" % (where, ctx))
    if wrapper_argv() and VALGRIND_PATTERN.search(text):
        vg = [l for l in lines if VALGRIND_PATTERN.match(l)]
        out.append("%s: valgrind reports:\n%s" % (where, "\n".join(vg[:60])))
    if cfclient.TOKEN_ANYWHERE_RE.search(text):
        out.append("%s: a bearer token appears in the log (line %d)" % (
            where, next(i + 1 for i, l in enumerate(lines) if cfclient.TOKEN_ANYWHERE_RE.search(l))))
    return out


def read_text(path):
    try:
        return Path(path).read_text(errors="replace")
    except FileNotFoundError:
        return ""


def proc_alive(pid):
    """True when PID exists and is not a zombie."""
    try:
        stat = Path("/proc/%d/stat" % pid).read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def proc_start_time(pid):
    """Start time of PID in clock ticks since boot (identifies a process, not just its number)."""
    stat = Path("/proc/%d/stat" % pid).read_text()
    return int(stat.rsplit(")", 1)[1].split()[19])


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Stack:
    """The running stack, from devstack's exports."""

    def __init__(self, env, var, build):
        self.env = env
        self.url = env["CERTFLOW_URL"]
        u = urlsplit(self.url)
        self.host = u.hostname
        self.port = u.port
        self.ca = env["CERTFLOW_CA"]
        self.admin_token = env["CERTFLOW_ADMIN_TOKEN"]
        self.pg_env = {k: env[k] for k in ("PGHOST", "PGPORT", "PGDATABASE", "PGUSER")}
        self.var = Path(env.get("CERTFLOW_VAR", var))
        self.conf = Path(env["CERTFLOW_CONF"])
        self.pid_file = Path(env["CERTFLOW_PID_FILE"])
        self.log = Path(env["CERTFLOW_LOG"])
        self.build = build
        self.certflowd = build / "certflowd"
        self.certflow = build / "certflow"
        self.tls = self.var / "tls"
        self.client_cert = env.get("CERTFLOW_CLIENT_CERT", str(self.tls / "client.pem"))
        self.client_key = env.get("CERTFLOW_CLIENT_KEY", str(self.tls / "client.key"))
        self.extra_logs = []

    @property
    def pid(self):
        return int(self.pid_file.read_text().strip())

    def devstack(self, *args, check=True, timeout=180):
        return run_devstack(self.var, self.build, *args, check=check, timeout=timeout)

    def conf_text(self):
        return self.conf.read_text()


def run_devstack(var, build, *args, check=True, timeout=180):
    """Runs scripts/devstack; stdout and stderr go to files (a daemon child may keep pipes open)."""
    env = dict(os.environ, CERTFLOW_VAR=str(var), CERTFLOW_BUILD=str(build))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        p = subprocess.run([str(DEVSTACK)] + list(args), stdout=out, stderr=err, env=env,
                           cwd=str(REPO), timeout=timeout * slowness())
        out.seek(0)
        err.seek(0)
        o = out.read().decode(errors="replace")
        e = err.read().decode(errors="replace")
    if check and p.returncode != 0:
        raise RuntimeError("devstack %s exited %d:\n%s" % (" ".join(args), p.returncode, e[-4000:]))
    return p.returncode, o, e


def parse_exports(text):
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("export "):
            continue
        name, _, value = line[len("export "):].partition("=")
        parts = shlex.split(value)
        env[name] = parts[0] if parts else ""
    return env


def stop_stack_daemon(stack):
    """SIGTERMs the stack's certflowd and waits; returns problems (empty when it stopped cleanly)."""
    problems = []
    try:
        pid = stack.pid
    except (FileNotFoundError, ValueError):
        return ["certflowd pid file %s is missing at session end" % stack.pid_file]
    if not proc_alive(pid):
        return ["certflowd (pid %d) was no longer running at session end" % pid]
    before = len(read_text(stack.log))
    os.kill(pid, signal.SIGTERM)
    try:
        wait_until(lambda: not proc_alive(pid), 30, what="certflowd to exit after SIGTERM")
    except AssertionError as e:
        problems.append(str(e))
        return problems
    tail = read_text(stack.log)[before:]
    if "certflowd stopped" not in tail:
        problems.append("certflowd did not log 'certflowd stopped' after SIGTERM; log tail:\n%s"
                        % tail[-2000:])
    return problems


@pytest.fixture(scope="session")
def stack():
    build = build_dir()
    for b in ("certflowd", "certflow"):
        if not os.access(build / b, os.X_OK):
            pytest.exit("%s/%s is missing: run make (or make integration)" % (build, b), returncode=2)
    var = Path(tempfile.mkdtemp(prefix="certflow-it-"))
    try:
        rc, out, err = run_devstack(var, build, "up", check=False)
        if rc != 0:
            log = read_text(var / "certflowd.log")
            raise RuntimeError("devstack up exited %d:\n%s\n--- certflowd.log ---\n%s"
                               % (rc, err[-4000:], log[-4000:]))
        st = Stack(parse_exports(out), var, build)
    except BaseException:
        run_devstack(var, build, "down", "--purge", check=False)
        shutil.rmtree(var, ignore_errors=True)
        raise
    try:
        yield st
    finally:
        problems = []
        # Make sure PostgreSQL runs again if a test left it stopped.
        run_devstack(var, build, "pg-start", check=False)
        problems += stop_stack_daemon(st)
        problems += log_problems(read_text(st.log), str(st.log))
        for extra in st.extra_logs:
            problems += log_problems(read_text(extra), str(extra))
        rc, _, err = run_devstack(var, build, "down", "--purge", check=False)
        if rc != 0:
            problems.append("devstack down --purge exited %d:\n%s" % (rc, err[-2000:]))
            shutil.rmtree(var, ignore_errors=True)
        if problems:
            _session_problems.extend(problems)
            raise AssertionError("session teardown found problems:\n\n" + "\n\n".join(problems))


def pytest_sessionfinish(session, exitstatus):
    if _session_problems:
        sys.stderr.write("\n==== certflow integration: problems found at teardown ====\n")
        for p in _session_problems:
            sys.stderr.write(p + "\n\n")
        if session.exitstatus == 0:
            session.exitstatus = 1


# --------------------------------------------------------------- clients

@pytest.fixture(scope="session")
def admin(stack):
    c = Client(stack, token=stack.admin_token)
    yield c
    c.close()


@pytest.fixture(scope="session")
def admin_me(admin):
    r = admin.get("/v1/me")
    assert r.status == 200, r
    return r.json()


@pytest.fixture
def anon(stack):
    c = Client(stack)
    yield c
    c.close()


def unique_email(prefix="user"):
    return "%s-%s@example.test" % (prefix, uuid.uuid4().hex[:12])


@pytest.fixture
def make_user(stack, admin):
    """make_user(roles, jury_category=None, name=...) -> (created user json, Client with its token)."""
    clients = []

    def make(roles, jury_category=None, name=None, email=None):
        body = {"name": name or "Test User", "email": email or unique_email(), "roles": list(roles)}
        if jury_category is not None:
            body["jury_category"] = jury_category
        r = admin.post("/v1/users", body)
        assert r.status == 201, r
        user = r.json()
        c = Client(stack, token=user["token"])
        clients.append(c)
        return user, c

    yield make
    for c in clients:
        c.close()


# --------------------------------------------------------------- PostgreSQL

def pg_environ(stack, **over):
    env = dict(os.environ)
    env.update(stack.pg_env)
    env.update(over)
    return env


@pytest.fixture(scope="session")
def psql(stack):
    """psql(sql, database=None, user=None) -> stdout (unaligned, tuples only), raises on error."""

    def run(sql, database=None, user=None, check=True):
        over = {}
        if database:
            over["PGDATABASE"] = database
        if user:
            over["PGUSER"] = user
        p = subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                           env=pg_environ(stack, **over), capture_output=True, text=True,
                           timeout=60)
        if check and p.returncode != 0:
            raise AssertionError("psql failed (%d) on %r:\n%s" % (p.returncode, sql, p.stderr))
        return p.stdout.strip()

    return run


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------- extra instances

def conf_with(text, **keys):
    """Config TEXT with each KEY set to its value (existing lines of that key removed)."""
    lines = text.splitlines()
    for k in keys:
        lines = [l for l in lines if not re.match(r"^\s*%s\s*=" % re.escape(k), l)]
    for k, v in keys.items():
        lines.append("%s = %s" % (k, v))
    return "\n".join(lines) + "\n"


def parse_conf_lines(extra):
    keys = {}
    for line in extra.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        k, _, v = line.partition("=")
        keys[k.strip()] = v.strip()
    return keys


class Instance:
    def __init__(self, stack, port, conf, log, proc):
        self.stack = stack
        self.host = "127.0.0.1"
        self.port = port
        self.url = "https://127.0.0.1:%d" % port
        self.ca = stack.ca
        self.conf = conf
        self.log = log
        self.proc = proc
        self.terminated_by_fixture = False

    def log_text(self):
        return read_text(self.log)


def certflowd_argv(stack, *args):
    return wrapper_argv() + [str(stack.certflowd)] + list(args)


def _healthz_status(inst, context=None):
    c = Client(inst, context=context, timeout=5)
    try:
        return c.get("/healthz").status
    except Exception:       # not listening yet, handshake refused, ...
        return None
    finally:
        c.close()


@pytest.fixture
def extra_instance(stack, tmp_path):
    """
    extra_instance(extra_conf='', wait=True, context=None, conf_dir=None) starts
    another certflowd on a free port, sharing the stack's database and
    certificates; its configuration file goes in CONF_DIR (default tmp_path). Teardown
    SIGTERMs it, expects exit status 0, and searches its log for sanitizer reports.
    """
    started = []

    def start(extra_conf="", wait=True, context=None, conf_dir=None):
        n = len(started)
        port = free_port()
        keys = {"listen_port": str(port)}
        keys.update(parse_conf_lines(extra_conf))
        port = int(keys["listen_port"])     # EXTRA_CONF may choose it
        conf = Path(conf_dir or tmp_path) / ("certflowd-extra%d.conf" % n)
        conf.write_text(conf_with(stack.conf_text(), **keys))
        log = stack.var / ("certflowd-extra-%s.log" % uuid.uuid4().hex[:8])
        stack.extra_logs.append(log)
        with open(log, "wb") as lf:
            proc = subprocess.Popen(certflowd_argv(stack, "-c", str(conf)), stdin=subprocess.DEVNULL,
                                    stdout=lf, stderr=subprocess.STDOUT, cwd=str(REPO))
        inst = Instance(stack, port, conf, log, proc)
        started.append(inst)
        if wait:
            def ready():
                if proc.poll() is not None:
                    raise AssertionError("extra certflowd exited with %d during startup:\n%s"
                                         % (proc.returncode, inst.log_text()[-3000:]))
                return _healthz_status(inst, context) == 200
            wait_until(ready, 30, interval=0.1, what="extra certflowd /healthz 200")
        return inst

    yield start

    problems = []
    for inst in started:
        if inst.proc.poll() is None:
            inst.proc.send_signal(signal.SIGTERM)
            try:
                rc = inst.proc.wait(timeout=30 * slowness())
            except subprocess.TimeoutExpired:
                inst.proc.kill()
                inst.proc.wait()
                problems.append("extra certflowd on port %d did not exit within 30 s of SIGTERM"
                                % inst.port)
            else:
                if rc != 0:
                    problems.append("extra certflowd on port %d exited with %d after SIGTERM:\n%s"
                                    % (inst.port, rc, inst.log_text()[-3000:]))
        problems += log_problems(inst.log_text(), str(inst.log))
    if problems:
        pytest.fail("\n\n".join(problems))
