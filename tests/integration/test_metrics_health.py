"""/healthz and /metrics (Prometheus text format)."""

import math

from cfclient import metric_present, metric_value, parse_metrics

REQUESTS = "certflow_http_requests_total"
DURATION = "certflow_http_request_duration_seconds"


def scrape(anon):
    r = anon.get("/metrics")
    assert r.status == 200, r
    return r, parse_metrics(r.body.decode("utf-8"))


def test_healthz_is_200_ok_without_token(anon):
    r = anon.get("/healthz")
    assert r.status == 200, r
    assert r.content_type == "application/json"
    assert r.json() == {"status": "ok"}


def test_metrics_is_prometheus_text_without_token(anon):
    r, _ = scrape(anon)
    ctype = (r.headers.get("Content-Type") or "").replace(" ", "").lower()
    assert ctype.startswith("text/plain;version=0.0.4"), r.headers.get("Content-Type")


def test_metrics_declares_a_type_for_each_family(anon):
    _, (samples, types) = scrape(anon)
    assert types.get(REQUESTS) == "counter", types
    assert types.get(DURATION) == "histogram", types
    for g in ("certflow_db_pool_busy", "certflow_db_pool_waiting", "certflow_db_pool_size",
              "certflow_db_pool_connected"):
        assert types.get(g) == "gauge", (g, types)
    assert types.get("certflow_db_errors_total") == "counter", types


def test_request_counter_counts_each_request_by_route_and_status(anon, admin):
    _, (before, _) = scrape(anon)
    n0 = metric_value(before, REQUESTS, route="GET /v1/me", status="200")
    for _ in range(3):
        assert admin.get("/v1/me").status == 200
    _, (after, _) = scrape(anon)
    n1 = metric_value(after, REQUESTS, route="GET /v1/me", status="200")
    assert n1 - n0 == 3


def test_401_is_counted_under_its_own_status(anon):
    _, (before, _) = scrape(anon)
    n0 = metric_value(before, REQUESTS, route="GET /v1/me", status="401")
    assert anon.get("/v1/me").status == 401
    _, (after, _) = scrape(anon)
    assert metric_value(after, REQUESTS, route="GET /v1/me", status="401") - n0 == 1


def test_unmatched_requests_are_counted_under_route_unmatched(anon, admin):
    _, (before, _) = scrape(anon)
    n0 = metric_value(before, REQUESTS, route="unmatched", status="404")
    assert admin.get("/no/such/thing/%d" % 12345).status == 404
    assert admin.get("/v1/users/abc").status == 404
    _, (after, _) = scrape(anon)
    assert metric_value(after, REQUESTS, route="unmatched", status="404") - n0 == 2
    # The raw path must not become a label value (unbounded cardinality).
    assert not any("/no/such/thing" in l.get("route", "") for _, l, _ in after)


def test_route_label_uses_the_pattern_not_the_raw_path(anon, admin, make_user):
    user, _ = make_user(["student"])
    assert admin.get("/v1/users/%d" % user["id"]).status == 200
    _, (after, _) = scrape(anon)
    routes = {l.get("route") for n, l, _ in after if n == REQUESTS}
    assert "GET /v1/users/%d" % user["id"] not in routes
    assert any(r and r.startswith("GET /v1/users/") for r in routes), routes


def test_duration_histogram_is_cumulative_and_consistent(anon, admin):
    admin.get("/v1/me")
    _, (samples, _) = scrape(anon)
    series = {}
    for name, labels, value in samples:
        if name == DURATION + "_bucket":
            key = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
            le = float("inf") if labels["le"] == "+Inf" else float(labels["le"])
            series.setdefault(key, []).append((le, value))
    assert series, "no %s_bucket samples" % DURATION
    for key, buckets in series.items():
        buckets.sort()
        assert math.isinf(buckets[-1][0]), (key, "no +Inf bucket")
        counts = [c for _, c in buckets]
        assert counts == sorted(counts), (key, "buckets are not cumulative", buckets)
        labels = dict(key)
        total = metric_value(samples, DURATION + "_count", **labels)
        assert counts[-1] == total, (key, counts[-1], total)
        s = metric_value(samples, DURATION + "_sum", **labels)
        assert s >= 0
    grand = metric_value(samples, DURATION + "_count")
    assert grand >= 1


def test_pool_gauges_describe_a_connected_pool(anon, admin):
    assert admin.get("/v1/me").status == 200
    _, (samples, _) = scrape(anon)
    size = metric_value(samples, "certflow_db_pool_size")
    connected = metric_value(samples, "certflow_db_pool_connected")
    busy = metric_value(samples, "certflow_db_pool_busy")
    waiting = metric_value(samples, "certflow_db_pool_waiting")
    assert size >= 1
    assert 1 <= connected <= size
    assert 0 <= busy <= size
    assert waiting >= 0
    assert metric_present(samples, "certflow_db_errors_total")
