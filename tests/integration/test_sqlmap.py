"""
sqlmap against the running stack finds no injectable parameter: query
parameters, path ids and JSON body fields, with the token of a user who is
administrator, pedagogy and the mentor of a real enrollment, on the ids of
real resources, so that the requests reach the SQL functions. Each run must say that
the parameters do not appear injectable, and certflowd must be alive
afterwards with no 5xx answered and no failed statement counted in /metrics.
`make check` runs a short pass (level 1, risk 1, no time-based technique, a
few routes); `make scan` (CERTFLOW_SQLMAP=full) runs more routes at level 3,
risk 2, with time-based blind tests too.
"""

import json
import os
import re
import shutil
import subprocess

import pytest

from cfclient import metric_value, metrics, slowness
from conftest import proc_alive, unique_email
from world_helpers import TaggedWorld, note_body, path_body, report_body

FULL = os.environ.get("CERTFLOW_SQLMAP") == "full"

# Lines of sqlmap's that call a parameter injectable (its XSS heuristic is not matched).
INJECTABLE = re.compile(r"might be injectable|' injectable|is vulnerable|"
                        r"identified the following injection point", re.I)
NOT_INJECTABLE = re.compile(r"do not appear to be injectable|does not seem to be injectable")
# sqlmap's CRITICAL lines that do not stop its tests: nothing found, and
# answers that differ from one request to the next (a created resource's id).
HARMLESS = re.compile(r"\[CRITICAL\] (all tested parameters do not appear to be injectable|"
                      r"target URL content appears to be heavily dynamic)")

QUICK = [
    ("reports_state", "GET", "/v1/reports?state=open", None),
    ("user_id", "GET", "/v1/users/1*", None),
    ("disagreements_state", "GET", "/v1/disagreements?state=open", None),
    ("calibration_since", "GET",
     "/v1/evaluators/{evaluator}/calibration?since=2026-01-01T00:00:00Z", None),
    ("note", "POST", "/v1/enrollments/{enrollment}/notes",
     dict(note_body("2026-W10", body="steady work*"), week="2026-W10*")),
    ("path", "POST", "/v1/paths",
     dict(path_body("sqlmap-p"), code="sqlmap-p*", title="SQL map path*")),
]
MORE = [
    ("defenses_mine", "GET", "/v1/defenses?mine=true", None),
    ("notes_id", "GET", "/v1/enrollments/{enrollment}*/notes", None),
    ("report", "POST", "/v1/reports",
     report_body(description="seen in the corridor*", project_code="p1*")),
    ("user", "POST", "/v1/users",
     {"name": "Sql Map*", "email": unique_email("sqlmap") + "*", "roles": ["student"]}),
]
ROUTES = QUICK + MORE if FULL else QUICK


def injectable_lines(out):
    return [ln for ln in out.splitlines()
            if INJECTABLE.search(ln) and not re.search(r"\bnot\b", ln)]


def test_the_lines_that_report_an_injection_are_recognised():
    found = ("[INFO] heuristic (basic) test shows that GET parameter 'state' might be "
             "injectable (possible DBMS: 'PostgreSQL')\n"
             "[INFO] GET parameter 'notes' appears to be 'AND boolean-based blind - WHERE or "
             "HAVING clause' injectable\n"
             "[INFO] URI parameter '#1*' is 'Generic UNION query (NULL) - 1 to 10 columns' "
             "injectable\n"
             "sqlmap identified the following injection point(s) with a total of 46 HTTP(s) "
             "requests:\n")
    nothing = ("[WARNING] GET parameter 'state' does not seem to be injectable\n"
               "[WARNING] heuristic (basic) test shows that GET parameter 'state' might not be "
               "injectable\n"
               "[INFO] heuristic (XSS) test shows that GET parameter 'q' might be vulnerable to "
               "cross-site scripting (XSS) attacks\n")
    assert injectable_lines(found) == found.splitlines()
    assert injectable_lines(nothing) == []


def sqlmap_path():
    path = shutil.which("sqlmap")
    if path is None:
        pytest.skip("sqlmap is not installed (scripts/bootstrap installs it; CI has it)")
    return path


def server_errors(samples):
    """5xx answers and failed statements so far."""
    fivexx = sum(v for n, labels, v in samples if n == "certflow_http_requests_total" and
                 labels.get("status", "").startswith("5"))
    return fivexx, metric_value(samples, "certflow_db_errors_total")


@pytest.fixture(scope="module")
def world(stack, admin):
    """(the scanning user's token, the ids the routes name)."""
    w = TaggedWorld(admin, stack, prefix="sqlmap")
    try:
        scanner, _ = w.user("Scanner", ["admin", "pedagogy", "mentor"])
        w.user("Evaluator", ["evaluator"])
        w.user("Student", ["student"])
        enrollment = w.enroll("Student", "Scanner", w.path())
        yield scanner["token"], {"evaluator": w.id("Evaluator"), "enrollment": enrollment["id"]}
    finally:
        w.close()


def run_sqlmap(stack, token, tmp, method, path, body):
    argv = [sqlmap_path(), "-u", stack.url + path, "--batch", "--disable-coloring",
            "--flush-session", "--output-dir", str(tmp / "out"), "--dbms", "PostgreSQL",
            "--skip-waf",
            "--timeout", "10", "--retries", "1", "-v", "1"]
    headers = ["Authorization: Bearer " + token, "Accept: application/json"]
    if FULL:
        argv += ["--level", "3", "--risk", "2", "--technique", "BEUSTQ"]
    else:
        argv += ["--level", "1", "--risk", "1", "--technique", "BEUS"]
    if method == "POST":
        argv += ["--method", "POST", "--data", json.dumps(body)]
        headers.append("Content-Type: application/json")
    argv += ["--headers", "\n".join(headers)]
    # sqlmap keeps its history and output under $HOME: keep them in the test's folder.
    env = dict(os.environ, HOME=str(tmp), TERM="dumb")
    r = subprocess.run(argv, capture_output=True, text=True, errors="replace", env=env,
                       stdin=subprocess.DEVNULL, timeout=(1800 if FULL else 300) * slowness())
    return r.returncode, r.stdout + r.stderr


@pytest.mark.parametrize("name,method,path,body", ROUTES, ids=[r[0] for r in ROUTES])
def test_sqlmap_finds_nothing_injectable(stack, world, tmp_path, name, method, path, body):
    token, ids = world
    before = server_errors(metrics(stack))
    rc, out = run_sqlmap(stack, token, tmp_path, method, path.format(**ids), body)
    (tmp_path / "sqlmap.out").write_text(out)
    tail = out[-4000:]
    assert rc == 0, "sqlmap exited %d:\n%s" % (rc, tail)
    found = injectable_lines(out)
    assert not found, "sqlmap calls something injectable:\n%s" % "\n".join(found)
    assert NOT_INJECTABLE.search(out), "sqlmap tested nothing:\n%s" % tail
    critical = [ln for ln in out.splitlines() if "[CRITICAL]" in ln and not HARMLESS.search(ln)]
    assert not critical, "sqlmap could not test:\n%s" % "\n".join(critical)
    assert proc_alive(stack.pid), "certflowd died under sqlmap"
    after = server_errors(metrics(stack))
    assert after == before, "5xx answers and failed statements went from %s to %s" % (before, after)
