"""
The database's host name is looked up by certflowd (evdns), never by libpq on
the event loop: a name connects through the addresses certflowd found, an
unknown name stops the start, and a list of hosts with a name in it is
refused at start (libpq would look those up itself).
"""

import re
import subprocess

from cfclient import Client, slowness
from conftest import certflowd_argv, conf_with, free_port


def stack_conninfo(stack):
    return re.search(r"^db_conninfo\s*=\s*(.*)$", stack.conf_text(), re.M).group(1).strip()


def with_host(stack, host):
    return re.sub(r"\bhost=\S+", "host=" + host, stack_conninfo(stack))


def healthz(inst):
    c = Client(inst, timeout=10)
    try:
        return c.get("/healthz").status
    finally:
        c.close()


def test_a_host_name_is_looked_up_and_connects(stack, extra_instance, psql):
    inst = extra_instance("db_conninfo = %s application_name=cf-host-name\n"
                          % with_host(stack, "localhost"))
    assert healthz(inst) == 200
    assert "the database host localhost is looked up" in inst.log_text()
    addrs = psql("select distinct client_addr from pg_stat_activity "
                 "where application_name = 'cf-host-name'").split()
    assert addrs and set(addrs) <= {"127.0.0.1", "::1"}, addrs


def test_an_unknown_host_name_stops_the_start_with_its_name(stack, tmp_path):
    # .invalid never resolves (RFC 6761); the schema check before serving says so
    conf = tmp_path / "unknown.conf"
    conf.write_text(conf_with(stack.conf_text(), listen_port=str(free_port()),
                              db_conninfo=with_host(stack, "certflow-db.invalid")))
    p = subprocess.run(certflowd_argv(stack, "-c", str(conf)), capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=60 * slowness())
    assert p.returncode != 0
    assert "certflow-db.invalid" in p.stdout + p.stderr, p.stdout + p.stderr


def test_a_host_list_with_a_name_is_refused_at_start(stack, tmp_path):
    conf = tmp_path / "hosts.conf"
    conf.write_text(conf_with(stack.conf_text(), listen_port=str(free_port()),
                              db_conninfo=with_host(stack, "127.0.0.1,localhost")))
    for args in (["--check-config"], []):
        p = subprocess.run(certflowd_argv(stack, "-c", str(conf), *args), capture_output=True,
                           text=True, stdin=subprocess.DEVNULL, timeout=60 * slowness())
        assert p.returncode != 0
        assert "hostaddr" in p.stdout + p.stderr, p.stdout + p.stderr


def test_a_host_list_of_addresses_is_accepted(stack, tmp_path):
    conf = tmp_path / "addrs.conf"
    conf.write_text(conf_with(stack.conf_text(), db_conninfo=with_host(stack, "127.0.0.1,::1")))
    p = subprocess.run(certflowd_argv(stack, "-c", str(conf), "--check-config"), capture_output=True,
                       text=True, stdin=subprocess.DEVNULL, timeout=60 * slowness())
    assert p.returncode == 0, p.stdout + p.stderr
