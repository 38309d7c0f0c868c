"""
fault_helpers.py - what the fault and several-instance tests share: a TCP
proxy between certflowd and PostgreSQL that can blackhole traffic, abrupt
PostgreSQL stops (pg_ctl -m immediate, SIGKILL of the postmaster), a write
load of notes, handovers and verdicts run by threads with their own
connections, and the invariants that say nothing acknowledged was lost and no
transition was half made. Never prints a token.
"""

import collections
import ctypes
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

from cfclient import Client, slowness, trusting_context, wait_until
from conftest import pg_environ, proc_alive
from loop_helpers import World, handover_body, needs_improvement_body

# --------------------------------------------------------------- TCP proxy


class TcpProxy:
    """
    Forwards 127.0.0.1:port to 127.0.0.1:target. blackhole() stops moving
    bytes in both directions without closing anything (a network that drops
    packets); restore() moves them again. Connections accepted meanwhile are
    held, not refused.
    """

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.flowing = threading.Event()
        self.flowing.set()
        self.stopping = False
        self.lock = threading.Lock()
        self.socks = set()
        self.threads = []
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        self.threads.append(t)

    def blackhole(self):
        self.flowing.clear()

    def restore(self):
        self.flowing.set()

    def _accept(self):
        while not self.stopping:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(client,), daemon=True)
            t.start()

    def _serve(self, client):
        with self.lock:
            self.socks.add(client)
        self.flowing.wait()
        try:
            upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
        except OSError:
            self._close(client)
            return
        with self.lock:
            self.socks.add(upstream)
        a = threading.Thread(target=self._pump, args=(client, upstream), daemon=True)
        b = threading.Thread(target=self._pump, args=(upstream, client), daemon=True)
        a.start()
        b.start()

    def _pump(self, src, dst):
        try:
            while not self.stopping:
                if not self.flowing.is_set():
                    time.sleep(0.02)
                    continue
                r, _, _ = select.select([src], [], [], 0.1)
                if not r:
                    continue
                if not self.flowing.is_set():
                    continue
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except (OSError, ValueError):     # ValueError: closed by close() meanwhile
            pass
        self._close(src)
        self._close(dst)

    def _close(self, s):
        with self.lock:
            self.socks.discard(s)
        try:
            s.close()
        except OSError:
            pass

    def close(self):
        self.stopping = True
        self.flowing.set()
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self.socks)
        for s in socks:
            self._close(s)


# --------------------------------------------------------------- PostgreSQL control


def pgbin():
    if os.environ.get("PGBIN"):
        return Path(os.environ["PGBIN"])
    default = Path("/usr/lib/postgresql/15/bin")
    if (default / "pg_ctl").exists():
        return default
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                   key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1]


def pgdata(stack):
    return (stack.var / "pg").resolve() / "data"


def as_pg(argv):
    """ARGV as the cluster owner (postgres when we are root), from /, as devstack does."""
    if os.getuid() == 0:
        argv = ["runuser", "-u", "postgres", "--"] + argv
    return subprocess.run(argv, cwd="/", capture_output=True, text=True, timeout=120)


def postmaster_pid(stack):
    return int((pgdata(stack) / "postmaster.pid").read_text().split("\n", 1)[0])


def children_of(pid):
    out = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(d.name))
    return out


def pg_stop_immediate(stack):
    """pg_ctl stop -m immediate: every backend dies at once, crash recovery at the next start."""
    p = as_pg([str(pgbin() / "pg_ctl"), "-D", str(pgdata(stack)), "-m", "immediate", "-w",
               "stop"])
    assert p.returncode == 0, "pg_ctl stop -m immediate failed:\n%s%s" % (p.stdout, p.stderr)


def parent_of(pid):
    return int(Path("/proc/%d/stat" % pid).read_text().rsplit(")", 1)[1].split()[1])


def adopt_orphans():
    """
    Makes this process the reaper of its orphaned descendants (prctl
    PR_SET_CHILD_SUBREAPER), so that a postmaster that pg_ctl left behind is
    our child and its zombie is ours to reap: an init that reaps late would
    otherwise keep its PID alive, and pg_ctl would take it for running.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def pg_adopt(stack):
    """Makes the stack's postmaster our child (one clean restart when it is not yet)."""
    adopt_orphans()
    if parent_of(postmaster_pid(stack)) != os.getpid():
        stack.devstack("pg-stop")
        stack.devstack("pg-start")


def pg_kill9(stack):
    """SIGKILL to the stack's postmaster; returns once it and its children are gone."""
    pg_adopt(stack)
    pid = postmaster_pid(stack)
    children = children_of(pid)
    ours = parent_of(pid) == os.getpid()
    os.kill(pid, signal.SIGKILL)
    if ours:
        os.waitpid(pid, 0)
    wait_until(lambda: not Path("/proc/%d" % pid).exists()
               and not any(proc_alive(c) for c in children), 60,
               interval=0.1, what="the killed postmaster's processes to exit")


def pg_start(stack):
    stack.devstack("pg-start")


def pg_running(stack):
    p = as_pg([str(pgbin() / "pg_ctl"), "-D", str(pgdata(stack)), "status"])
    return p.returncode == 0


def psql_as(stack, sql, database=None, user=None):
    """psql without the fixture (a database that refuses sessions must not raise here)."""
    over = {}
    if database:
        over["PGDATABASE"] = database
    if user:
        over["PGUSER"] = user
    return subprocess.run(["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                          env=pg_environ(stack, **over), capture_output=True, text=True,
                          timeout=60)


def status_of(target, path="/healthz", token=None):
    """The status of one request on a new connection (a new TLS handshake), None on failure."""
    c = Client(target, token=token, timeout=10)
    try:
        return c.get(path).status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        c.close()


# --------------------------------------------------------------- a client without retries


class OneShot:
    """
    One keep-alive HTTPS connection that never resends: a request whose
    connection broke raises, and its outcome is unknown to the caller.
    """

    def __init__(self, target, token, timeout=30):
        self.target = target
        self.token = token
        self.timeout = timeout * slowness()
        self.context = trusting_context(target.ca)
        self.conn = None

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def request(self, method, path, body=None):
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(self.target.host, self.target.port,
                                                    timeout=self.timeout, context=self.context)
        hdrs = {"Authorization": "Bearer " + self.token}
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            hdrs["Content-Type"] = "application/json"
        try:
            self.conn.request(method, path, body=payload, headers=hdrs)
            resp = self.conn.getresponse()
            data = resp.read()
        except BaseException:
            self.close()
            raise
        if resp.will_close:
            self.close()
        return resp.status, data


# --------------------------------------------------------------- the load


def make_worlds(admin, make_user, n, n_evaluators=2):
    """N worlds of one project each (a handover, verdict, handover... cycle)."""
    return [World(admin, make_user, n_projects=1, n_skills=2, n_evaluators=n_evaluators)
            for _ in range(n)]


class WorldLoad:
    """
    One thread that writes, in one world, a weekly note then a handover or a
    verdict (needs improvement, so that the cycle goes on), again and again.
    A request that got no 2xx is "uncertain": the thread reads the state back
    before going on. Records what was acknowledged and what was not.
    """

    def __init__(self, world, target, index, pause=0.0):
        self.w = world
        self.index = index
        self.pause = pause
        self.project = world.projects["p1"]
        self.mentor = OneShot(target, world.mentor["token"])
        self.evaluators = {u["id"]: OneShot(target, u["token"]) for u in world.evaluators}
        self.attempt_id = world.enrollment["attempts"][0]["id"]
        self.week = 0
        self.known = None         # (attempt state, round, defense dict or None)
        self.statuses = collections.Counter()   # read by other threads under self.lock
        self.lock = threading.Lock()
        self.unexpected = []      # (what, status, body) outside 2xx/503
        self.exceptions = []
        self.acked_notes = []     # (note id, week, body)
        self.failed_notes = []    # weeks
        self.acked_handovers = []  # (defense id, round, evaluator id)
        self.acked_verdicts = []  # defense ids (needs_improvement)
        self.failed_verdicts = []  # defense ids
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()

    def _send(self, what, client, method, path, body=None):
        """(status, json or None); status None when the connection failed."""
        try:
            status, data = client.request(method, path, body)
        except (OSError, http.client.HTTPException) as e:
            self.exceptions.append("%s: %r" % (what, e))
            with self.lock:
                self.statuses["exception"] += 1
            return None, None
        with self.lock:
            self.statuses[status] += 1
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = None
        if not (200 <= status < 300 or status == 503):
            self.unexpected.append((what, status, data[:300]))
        return status, doc

    def _resync(self):
        """Reads the attempt back (mentor's view); False when the server cannot say."""
        status, doc = self._send("resync", self.mentor, "GET", "/v1/enrollments/%d" % self.w.eid)
        if status != 200:
            return False
        a = doc["attempts"][0]
        defense = a["rounds"][-1]["defense"] if a["rounds"] else None
        self.known = (a["state"], a["round"], defense)
        return True

    def _note(self):
        self.week += 1
        week = "%04d-W%02d" % (2001 + (self.week - 1) // 50, (self.week - 1) % 50 + 1)
        body = {"week": week, "progress": self.week % 101, "at_risk": False,
                "body": "load %d note %d" % (self.index, self.week)}
        status, doc = self._send("note", self.mentor, "POST",
                                 "/v1/enrollments/%d/notes" % self.w.eid, body)
        if status == 201:
            self.acked_notes.append((doc["id"], week, body["body"]))
        else:
            self.failed_notes.append(week)

    def _step(self):
        state, rnd, defense = self.known
        if state == "mentoring":
            status, doc = self._send("handover", self.mentor, "POST",
                                     "/v1/attempts/%d/handover" % self.attempt_id,
                                     handover_body(tag="load%d-r%d" % (self.index, rnd + 1)))
            if status == 200:
                d = doc["defense"]
                self.acked_handovers.append((d["id"], doc["round"], d["evaluator_id"]))
                self.known = (doc["state"], doc["round"], d)
                return
        elif state == "awaiting_defense" and defense is not None:
            ev = self.evaluators[defense["evaluator_id"]]
            status, doc = self._send("verdict", ev, "POST",
                                     "/v1/defenses/%d/verdict" % defense["id"],
                                     needs_improvement_body(self.project,
                                                            tag="load%d-%d" % (self.index,
                                                                               defense["id"])))
            if status == 200:
                self.acked_verdicts.append(defense["id"])
                self.known = (doc["attempt"]["state"], doc["attempt"]["round"], None)
                return
            self.failed_verdicts.append(defense["id"])
        else:
            self.stop.set()       # a state this load does not drive: stop writing
            return
        self.known = None

    def _run(self):
        try:
            while not self.stop.is_set():
                if self.known is None and not self._resync():
                    time.sleep(0.05)
                    continue
                self._note()
                self._step()
                if self.pause:
                    time.sleep(self.pause)
        finally:
            self.mentor.close()
            for c in self.evaluators.values():
                c.close()

    def join(self, timeout=120):
        self.stop.set()
        self.thread.join(timeout * slowness())
        assert not self.thread.is_alive(), "a load thread never finished"


class Load:
    """Several WorldLoads at once."""

    def __init__(self, worlds, target, pause=0.0):
        self.loads = [WorldLoad(w, target, i, pause) for i, w in enumerate(worlds)]

    def __enter__(self):
        for l in self.loads:
            l.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    def stop(self):
        for l in self.loads:
            l.stop.set()
        for l in self.loads:
            l.join()

    def acked(self):
        return sum(len(l.acked_notes) + len(l.acked_handovers) + len(l.acked_verdicts)
                   for l in self.loads)

    def statuses(self):
        total = collections.Counter()
        for l in self.loads:
            with l.lock:
                total.update(l.statuses)
        return total

    def unexpected(self):
        return [u for l in self.loads for u in l.unexpected]

    def wait_acked(self, more, timeout=30):
        """Waits until MORE further writes were acknowledged."""
        base = self.acked()
        wait_until(lambda: self.acked() >= base + more, timeout, interval=0.05,
                   what="%d more acknowledged writes" % more)


# --------------------------------------------------------------- invariants


def _ids(values):
    return ",".join(str(int(v)) for v in values) or "NULL"


def invariant_problems(psql, enrollment_ids):
    """
    Everything that must hold, in the database, for the enrollments
    ENROLLMENT_IDS whatever failed: one list of messages (empty when fine).
    """
    e = _ids(enrollment_ids)
    checks = {
        "a decided defense without exactly one defense.verdict audit row, "
        "or a pending one with such a row":
            "select d.id, d.state, count(l.id) from defenses d "
            "join attempts a on a.id = d.attempt_id "
            "left join audit_log l on l.action = 'defense.verdict' "
            " and l.entity_type = 'defense' and l.entity_id = d.id "
            "where a.enrollment_id in (%s) group by d.id, d.state "
            "having count(l.id) <> case when d.state = 'decided' then 1 else 0 end" % e,
        "a defense whose per-skill results are not all there (decided) or not absent (pending)":
            "select d.id, d.state, "
            " (select count(*) from defense_skills s where s.defense_id = d.id), "
            " (select count(*) from skills k where k.project_id = a.project_id) "
            "from defenses d join attempts a on a.id = d.attempt_id "
            "where a.enrollment_id in (%s) and "
            " (select count(*) from defense_skills s where s.defense_id = d.id) <> "
            " case when d.state = 'decided' then "
            "  (select count(*) from skills k where k.project_id = a.project_id) else 0 end" % e,
        "an attempt whose round is not its number of defenses and of delivered rounds":
            "select a.id, a.round, "
            " (select count(*) from defenses d where d.attempt_id = a.id), "
            " (select count(distinct v.round) from deliverables v where v.attempt_id = a.id), "
            " (select coalesce(max(d.round), 0) from defenses d where d.attempt_id = a.id) "
            "from attempts a where a.enrollment_id in (%s) and (a.round <> "
            " (select count(*) from defenses d where d.attempt_id = a.id) or a.round <> "
            " (select count(distinct v.round) from deliverables v where v.attempt_id = a.id) "
            " or a.round <> (select coalesce(max(d.round), 0) from defenses d "
            "  where d.attempt_id = a.id))" % e,
        "a defense without exactly one attempt.handover audit row naming it":
            "select d.id, count(l.id) from defenses d "
            "join attempts a on a.id = d.attempt_id "
            "left join audit_log l on l.action = 'attempt.handover' "
            " and l.entity_type = 'attempt' and l.entity_id = a.id "
            " and (l.details ->> 'defense_id')::bigint = d.id "
            "where a.enrollment_id in (%s) group by d.id having count(l.id) <> 1" % e,
        "an attempt whose state does not follow its latest defense":
            "select a.id, a.state, a.round, d.state, d.verdict from attempts a "
            "left join defenses d on d.attempt_id = a.id and d.round = a.round "
            "where a.enrollment_id in (%s) and not ("
            " (a.round = 0 and d.id is null and a.state in ('pending', 'mentoring')) or "
            " (d.state = 'pending' and a.state = 'awaiting_defense') or "
            " (d.verdict = 'needs_improvement' and a.state = 'mentoring') or "
            " (d.verdict = 'validated' and a.state = 'validated'))" % e,
        "an earlier round's defense still pending":
            "select d.id from defenses d join attempts a on a.id = d.attempt_id "
            "where a.enrollment_id in (%s) and d.round < a.round and d.state <> 'decided'" % e,
        "a defense whose draw is missing or picked someone else":
            "select d.id, d.evaluator_id, dr.pick from defenses d "
            "join attempts a on a.id = d.attempt_id left join draws dr on dr.id = d.draw_id "
            "where a.enrollment_id in (%s) and (dr.id is null or dr.pick <> d.evaluator_id)" % e,
        "a note without exactly one note.create audit row":
            "select n.id, count(l.id) from notes n left join audit_log l "
            " on l.action = 'note.create' and l.entity_type = 'note' and l.entity_id = n.id "
            "where n.enrollment_id in (%s) group by n.id having count(l.id) <> 1" % e,
        "a note.create audit row without its note":
            "select l.id from audit_log l where l.action = 'note.create' "
            "and (l.details ->> 'enrollment_id')::bigint in (%s) "
            "and not exists (select 1 from notes n where n.id = l.entity_id)" % e,
        "an enrollment whose last_note_week is not its latest note's week":
            "select e.id, e.last_note_week, (select max(week) from notes n "
            " where n.enrollment_id = e.id) from enrollments e where e.id in (%s) "
            "and e.last_note_week is distinct from "
            " (select max(week) from notes n where n.enrollment_id = e.id)" % e,
    }
    problems = []
    for what, sql in checks.items():
        rows = psql(sql)
        if rows:
            problems.append("%s:\n%s" % (what, rows))
    return problems


def acknowledged_problems(psql, loads):
    """Every 2xx the loads got must be in the database, as answered."""
    problems = []
    notes = [n for l in loads for n in l.acked_notes]
    if notes:
        got = {}
        for line in psql("select id, week, body from notes where id in (%s)"
                         % _ids(n[0] for n in notes)).splitlines():
            i, week, body = line.split("|", 2)
            got[int(i)] = (week, body)
        for i, week, body in notes:
            if got.get(i) != (week, body):
                problems.append("acknowledged note %d (%s) is %r in the database"
                                % (i, week, got.get(i)))
    handovers = [h for l in loads for h in l.acked_handovers]
    if handovers:
        got = {}
        for line in psql("select id, round, evaluator_id from defenses where id in (%s)"
                         % _ids(h[0] for h in handovers)).splitlines():
            i, rnd, ev = (int(x) for x in line.split("|"))
            got[i] = (rnd, ev)
        for i, rnd, ev in handovers:
            if got.get(i) != (rnd, ev):
                problems.append("acknowledged handover's defense %d (round %d, evaluator %d) "
                                "is %r in the database" % (i, rnd, ev, got.get(i)))
    verdicts = [v for l in loads for v in l.acked_verdicts]
    if verdicts:
        got = dict(line.split("|", 1) for line in psql(
            "select id, state || ':' || coalesce(verdict, '') from defenses where id in (%s)"
            % _ids(verdicts)).splitlines())
        for v in verdicts:
            if got.get(str(v)) != "decided:needs_improvement":
                problems.append("acknowledged verdict on defense %d is %r in the database"
                                % (v, got.get(str(v))))
    return problems


def assert_consistent(psql, worlds, loads):
    problems = invariant_problems(psql, [w.eid for w in worlds])
    problems += acknowledged_problems(psql, loads)
    assert problems == [], "\n\n".join(problems)
