"""
Several certflowd processes on one database behind HAProxy (the frontend and
backend of etc/haproxy.cfg, on loopback): under concurrent handovers, verdicts
and notes sent through it, no evaluator is drawn twice for one defense, no
note is duplicated, no verdict is lost; the background jobs (deadline
scanner, audit sealer) do each step in one instance at a time, and carry on in
another when that one is killed. Skipped when haproxy is not installed
(scripts/bootstrap installs it).
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

import pytest

from cfclient import Client, slowness, wait_until
from conftest import REPO, free_port, unique_email
from fault_helpers import (OneShot, acknowledged_problems, invariant_problems, make_worlds,
                           status_of)
from loop_helpers import count, handover_body, verdict_body

EXAMPLE = REPO / "etc" / "haproxy.cfg"
HAPROXY = shutil.which("haproxy", path=os.environ.get("PATH", "") + ":/usr/sbin:/usr/local/sbin")

pytestmark = pytest.mark.skipif(HAPROXY is None,
                                reason="haproxy is not installed (scripts/bootstrap installs it)")


class Front:
    """What a Client needs to talk through HAProxy (TLS passes through to certflowd)."""

    def __init__(self, port, ca):
        self.host = "127.0.0.1"
        self.port = port
        self.ca = ca


def haproxy_conf(port, servers, ca, sock):
    """
    etc/haproxy.cfg's defaults, frontend and backend, bound to 127.0.0.1:PORT,
    checking against CA, with SERVERS [(name, port)] and a stats socket instead
    of its global section (no chroot, user or daemon mode in a test).
    """
    out = ["global", "\tmaxconn 2000", "\tstats socket %s mode 600 level admin" % sock]
    section = None
    for line in EXAMPLE.read_text().splitlines():
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        if not line[0].isspace():
            section = s.split()[0]
        if section == "global":
            continue
        if s.startswith("bind "):
            line = "\tbind 127.0.0.1:%d" % port
        elif s.startswith("server "):
            continue
        out.append(line.replace("/etc/certflow/ca.pem", ca))
    assert section == "backend", "etc/haproxy.cfg should end with its backend"
    out += ["\tserver %s 127.0.0.1:%d" % sv for sv in servers]
    return "\n".join(out) + "\n"


class HAProxy:
    def __init__(self, stack, instances, tmp_path):
        self.port = free_port()
        self.sock = str(tmp_path / "haproxy.sock")
        self.names = ["certflowd%d" % (i + 1) for i in range(len(instances))]
        cfg = tmp_path / "haproxy.cfg"
        cfg.write_text(haproxy_conf(self.port, list(zip(self.names, (i.port for i in instances))),
                                    stack.ca, self.sock))
        check = subprocess.run([HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True)
        assert check.returncode == 0, "haproxy -c refused the configuration:\n%s%s" % (
            check.stdout, check.stderr)
        self.log = tmp_path / "haproxy.log"
        with open(self.log, "wb") as lf:
            self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(cfg)], stdin=subprocess.DEVNULL,
                                         stdout=lf, stderr=subprocess.STDOUT)
        self.front = Front(self.port, stack.ca)

    def states(self):
        """{server name: status} from the stats socket ('UP', 'DOWN', ...)."""
        s = socket.socket(socket.AF_UNIX)
        try:
            s.settimeout(5)
            s.connect(self.sock)
            s.sendall(b"show stat\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        lines = data.decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        out = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(",")))
            if row.get("pxname") == "certflowd" and row.get("svname") in self.names:
                out[row["svname"]] = row["status"]
        return out

    def wait_states(self, want, timeout=30):
        def ok():
            if self.proc.poll() is not None:
                raise AssertionError("haproxy exited:\n%s" % self.log.read_text()[-2000:])
            try:
                return self.states() == want
            except OSError:
                return False
        wait_until(ok, timeout, interval=0.2, what="haproxy to see %r" % want)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@pytest.fixture
def haproxy(stack, tmp_path):
    started = []

    def start(instances):
        h = HAProxy(stack, instances, tmp_path)
        started.append(h)
        h.wait_states({n: "UP" for n in h.names})
        return h

    yield start
    for h in started:
        h.stop()


def instance_conf(**keys):
    base = {"review_rate": "0", "db_reconnect_max_ms": "500"}
    base.update({k: str(v) for k, v in keys.items()})
    return "".join("%s = %s\n" % kv for kv in base.items())


def served(inst, route_prefix):
    """How many requests of a route (log label prefix) INST answered."""
    return sum(1 for line in inst.log_text().splitlines()
               if " INFO " + route_prefix in line)


def has_sealer(psql):
    return psql("select count(*) from information_schema.columns where table_name = "
                "'audit_log' and column_name = 'seal_seq'") == "1"


def chain_problems(psql):
    """The audit chain's seal_seq must be 1..N without a gap."""
    n, top = psql("select count(*), coalesce(max(seal_seq), 0) from audit_log "
                  "where seal_seq is not null").split("|")
    return [] if n == top else ["audit chain has %s sealed rows up to seq %s" % (n, top)]


def test_the_example_haproxy_cfg_is_valid_as_shipped(stack, tmp_path):
    cfg = tmp_path / "example.cfg"
    cfg.write_text(EXAMPLE.read_text().replace("/etc/certflow/ca.pem", stack.ca))
    p = subprocess.run([HAPROXY, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


# --------------------------------------------------------------- concurrent writes

class Acks:
    """The acknowledged writes of one world, in fault_helpers' shape."""

    def __init__(self):
        self.acked_notes = []
        self.acked_handovers = []
        self.acked_verdicts = []


def race(front, token, path, bodies):
    """Each body from its own connection at once; [(status, json or None)]."""
    barrier = threading.Barrier(len(bodies))
    out = [None] * len(bodies)

    def one(i):
        c = OneShot(front, token)
        try:
            c.request("GET", "/healthz")       # connected (and balanced) before the start
            barrier.wait(30 * slowness())
            status, data = c.request("POST", path, bodies[i])
            out[i] = (status, json.loads(data) if data else None)
        except Exception as e:              # reported by the caller
            out[i] = (None, repr(e))
        finally:
            c.close()

    threads = [threading.Thread(target=one, args=(i,), daemon=True) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120 * slowness())
    return out


def one_winner(results, ok, what, problems):
    """Index of the only OK status among RESULTS (the others 409), or None."""
    statuses = [s for s, _ in results]
    if sorted(statuses) != [ok] + [409] * (len(results) - 1):
        problems.append("%s: statuses %r (%r)" % (what, statuses,
                                                 [b for s, b in results if s != ok][:2]))
        return None
    return statuses.index(ok)


def drive_world(front, w, rounds, racers, acks, problems):
    project = w.projects["p1"]
    attempt = w.enrollment["attempts"][0]["id"]
    for rnd in range(1, rounds + 1):
        res = race(front, w.mentor["token"], "/v1/attempts/%d/handover" % attempt,
                   [handover_body(tag="w%d-r%d-%d" % (w.eid, rnd, i)) for i in range(racers)])
        i = one_winner(res, 200, "handover of attempt %d round %d" % (attempt, rnd), problems)
        if i is None:
            return
        d = res[i][1]["defense"]
        acks.acked_handovers.append((d["id"], rnd, d["evaluator_id"]))

        week = "2030-W%02d" % rnd
        res = race(front, w.mentor["token"], "/v1/enrollments/%d/notes" % w.eid,
                   [{"week": week, "progress": 10 * rnd, "at_risk": False,
                     "body": "w%d racer %d" % (w.eid, i)} for i in range(racers)])
        i = one_winner(res, 201, "note %s of enrollment %d" % (week, w.eid), problems)
        if i is None:
            return
        acks.acked_notes.append((res[i][1]["id"], week, "w%d racer %d" % (w.eid, i)))

        token = next(u["token"] for u in w.evaluators if u["id"] == d["evaluator_id"])
        last = rnd == rounds
        bodies = [verdict_body(project, "validated", tag="v%d-%d" % (d["id"], i))
                  if last and i % 2 == 0 else
                  verdict_body(project, "needs_improvement", not_acquired=("p1-s1",),
                               comment="not yet", tag="v%d-%d" % (d["id"], i))
                  for i in range(racers)]
        res = race(front, token, "/v1/defenses/%d/verdict" % d["id"], bodies)
        i = one_winner(res, 200, "verdict on defense %d" % d["id"], problems)
        if i is None:
            return
        if bodies[i]["verdict"] == "needs_improvement":
            acks.acked_verdicts.append(d["id"])
        w.won = getattr(w, "won", []) + [(d["id"], bodies[i]["verdict"],
                                          bodies[i]["recording"]["uri"])]



@pytest.mark.parametrize("n", [2, 3])
def test_instances_behind_haproxy_never_draw_twice_duplicate_a_note_or_lose_a_verdict(
        n, stack, admin, make_user, psql, extra_instance, haproxy):
    instances = [extra_instance(instance_conf()) for _ in range(n)]
    h = haproxy(instances)
    worlds = make_worlds(admin, make_user, 6, n_evaluators=3)
    before = [served(i, "POST ") for i in instances]
    rounds, racers = 3, 4
    acks = [Acks() for _ in worlds]
    problems = []
    threads = [threading.Thread(target=drive_world,
                                args=(h.front, w, rounds, racers, acks[k], problems), daemon=True)
               for k, w in enumerate(worlds)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300 * slowness())
    assert not any(t.is_alive() for t in threads), "a world's races never finished"
    assert problems == [], "\n".join(problems)

    # Every instance took part.
    after = [served(i, "POST ") for i in instances]
    assert all(a > b for a, b in zip(after, before)), (before, after)

    ids = [w.eid for w in worlds]
    e = ",".join(map(str, ids))
    assert invariant_problems(psql, ids) == []
    assert acknowledged_problems(psql, acks) == []
    # One defense per round, one draw per defense, the racer who won decided it.
    for w in worlds:
        attempt = w.enrollment["attempts"][0]["id"]
        ev = ",".join(str(u["id"]) for u in w.evaluators)
        assert count(psql, "select count(*) from defenses where attempt_id = %d" % attempt) == rounds
        assert count(psql, "select count(*) from draws where kind = 'defense' and pick in (%s)"
                     % ev) == rounds
        for defense_id, verdict, uri in w.won:
            assert psql("select state, verdict, recording_uri from defenses where id = %d"
                        % defense_id) == "decided|%s|%s" % (verdict, uri)
    assert count(psql, "select count(*) from notes where enrollment_id in (%s)" % e) == \
        rounds * len(worlds)


# --------------------------------------------------------------- background jobs

def reassigned_by(inst):
    """Defense ids INST's deadline scanner reassigned, from its log."""
    return {int(m) for m in re.findall(r'deadline scan: reassigned \{"id" ?: ?(\d+)',
                                       inst.log_text())}


def sealed_by(inst):
    return len(re.findall(r"audit sealer: \d+ rows sealed", inst.log_text()))


def overdue(psql, defense_ids):
    psql("update defenses set due_at = now() - interval '2 hours' where id in (%s)"
         % ",".join(map(str, defense_ids)))


def system_reassigns(psql, defense_id):
    return count(psql, "select count(*) from audit_log where action = 'defense.reassign' "
                       "and entity_id = %d and details ->> 'by' = 'system'" % defense_id)


def wait_reassigned(psql, defense_ids, times):
    """Until each defense has TIMES system reassignments; then checks none has more."""
    ids = ",".join(map(str, defense_ids))

    def done():
        return count(psql, "select count(*) from defenses where id in (%s) and due_at > now()"
                     % ids) == len(defense_ids)
    wait_until(done, 30, interval=0.2, what="the overdue defenses to be reassigned")
    time.sleep(1.5)     # more scans on every instance: none may reassign them again
    for d in defense_ids:
        assert system_reassigns(psql, d) == times, d
        assert count(psql, "select count(*) from evaluator_misses where defense_id = %d "
                           "and kind = 'deadline'" % d) == times


def test_background_jobs_run_in_one_instance_at_a_time_and_fail_over_when_it_dies(
        stack, admin, make_user, psql, extra_instance, haproxy):
    sealer = has_sealer(psql)
    keys = {"deadline_scan_interval_s": 1}
    if sealer:
        keys["audit_seal_interval_s"] = 1
    a, b = (extra_instance(instance_conf(**keys)) for _ in range(2))
    h = haproxy([a, b])
    worlds = make_worlds(admin, make_user, 4, n_evaluators=3)
    defenses = []
    for w in worlds:
        mentor = Client(h.front, token=w.mentor["token"])
        r = mentor.post("/v1/attempts/%d/handover" % w.enrollment["attempts"][0]["id"],
                        handover_body())
        assert r.status == 200, r
        defenses.append(r.json()["defense"]["id"])
        mentor.close()

    # Both scanners run every second; each overdue defense is reassigned once per
    # round. Again in the rare case the shared stack's scan (every 60 s) came
    # first and did them all.
    times = 0
    for _ in range(3):
        times += 1
        overdue(psql, defenses)
        wait_reassigned(psql, defenses, times)
        did_a, did_b = reassigned_by(a) & set(defenses), reassigned_by(b) & set(defenses)
        if did_a | did_b:
            break
    assert did_a | did_b, "neither instance logged the reassignments (the shared one did all)"
    if sealer:
        wait_until(lambda: psql("select count(*) from audit_log where seal_seq is null") == "0",
                   30, interval=0.2, what="every audit row to be sealed")
        assert chain_problems(psql) == []

    # Kill the instance that did the work (a, when both did).
    victim, survivor = (a, b) if did_a or not did_b else (b, a)
    sealed_at_kill = sealed_by(survivor)
    victim.proc.send_signal(signal.SIGKILL)
    victim.proc.wait(30)
    down = h.names[[a, b].index(victim)]
    up = h.names[[a, b].index(survivor)]
    h.wait_states({down: "DOWN", up: "UP"}, timeout=30)
    # HAProxy sends everything to the survivor.
    c = Client(h.front, token=stack.admin_token)
    assert [c.get("/v1/me").status for _ in range(5)] == [200] * 5
    c.close()
    for _ in range(3):
        assert status_of(h.front) == 200

    # The survivor's scanner (or the shared stack's, every 60 s) takes over: every
    # defense overdue again is reassigned once more. Tried again in the rare case the
    # shared instance's scan came first and did them all.
    for _ in range(3):
        times += 1
        seen = reassigned_by(survivor)
        overdue(psql, defenses)
        wait_reassigned(psql, defenses, times)
        if reassigned_by(survivor) - seen:
            break
    else:
        pytest.fail("the surviving instance never reassigned an overdue defense")
    if sealer:
        # Rows written since the kill are sealed, the chain stays gapless, and the
        # survivor seals (every second; the shared instance every 5 s may come first
        # now and then, hence a few spaced writes).
        c = Client(h.front, token=stack.admin_token)
        for _ in range(8):
            r = c.post("/v1/users", {"name": "Sealed", "email": unique_email("seal"),
                                     "roles": ["student"]})
            assert r.status == 201, r
            wait_until(lambda: psql("select count(*) from audit_log where seal_seq is null")
                       == "0", 30, interval=0.1, what="the new audit rows to be sealed")
            if sealed_by(survivor) > sealed_at_kill:
                break
        else:
            pytest.fail("the surviving instance never sealed the audit chain after the kill")
        c.close()
        assert chain_problems(psql) == []
