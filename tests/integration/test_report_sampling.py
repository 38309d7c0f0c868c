"""
An open fraud report makes a blind review certain (sql/0004
api.fraud_report_open, sql/0003 api.sample_probability): on an instance that
samples nothing (review_rate = 0.0), a verdict of a project an open report
names is sampled with probability 1 and the factor "fraud_report", and a
review is opened when a reviewer is eligible. A report on another project,
or a closed one, changes nothing.
"""

from report_helpers import client, close, report_body, submit
from review_helpers import NONE, ClientPool, ReviewWorld, reviews_of, sample_rows


def test_an_open_report_on_the_project_makes_its_verdicts_reviewed(
        stack, admin, psql, make_user, extra_instance, request):
    pool = ClientPool(request)
    inst = extra_instance(extra_conf=NONE)
    w = ReviewWorld(admin, inst, pool, n_projects=1, n_skills=1)
    mentor, mentor_c = w.user(["mentor"], "Mentor")
    evaluators = {w.user(["evaluator"], "Evaluator %d" % i, qualified=True)[0]["id"]
                  for i in range(3)}
    ped, ped_c = w.user(["pedagogy"], "Pedagogy")
    reporter, _ = make_user(["student"])
    reporter_c = client(inst, reporter)
    request.addfinalizer(reporter_c.close)

    drawn = {}

    def round_(eid, verdict="needs_improvement"):
        d = w.handover(mentor_c, w.attempt(eid)["id"])
        not_acquired = w.skill_codes() if verdict == "needs_improvement" else ()
        w.verdict(d, verdict, not_acquired=not_acquired)
        drawn[d["id"]] = d["evaluator_id"]
        return d["id"]

    def certain(d):
        p, factors, sampled = sample_rows(psql, [d])[d][1:]
        return p == 1.0 and "fraud_report" in factors and sampled

    def base(d):
        p, factors, sampled = sample_rows(psql, [d])[d][1:]
        return p == 0.0 and "fraud_report" not in factors and not sampled

    students = [w.user(["student"], "Student %d" % i)[0] for i in range(4)]
    plain, named, other, closed = (w.enroll(s, mentor)["id"] for s in students)
    _, r_named = submit(reporter_c, psql, report_body(enrollment_id=named, project_code="p1"))
    _, r_other = submit(reporter_c, psql, report_body(enrollment_id=other, project_code="p9"))
    _, r_closed = submit(reporter_c, psql, report_body(enrollment_id=closed))
    close(ped_c, r_closed)

    d_plain, d_named, d_other, d_closed = (round_(e) for e in (plain, named, other, closed))
    rows = sample_rows(psql, [d_plain, d_named, d_other, d_closed])
    assert certain(d_named), rows[d_named]
    for d in (d_plain, d_other, d_closed):
        assert base(d), (d, rows[d])
        assert reviews_of(psql, d) == []
    reviews = reviews_of(psql, d_named)
    assert len(reviews) == 1 and reviews[0]["requested_by"] == "sample", reviews
    assert reviews[0]["state"] == "pending"
    assert reviews[0]["reviewer_id"] in evaluators - {drawn[d_named]}

    # A report naming the whole enrollment (no project) counts too, until it is closed.
    _, r_all = submit(reporter_c, psql, report_body(enrollment_id=plain))
    d2 = round_(plain)
    assert certain(d2), sample_rows(psql, [d2])
    assert len(reviews_of(psql, d2)) == 1
    close(ped_c, r_all)
    d3 = round_(plain)
    assert base(d3), sample_rows(psql, [d3])

    # A report about an unknown enrollment counts once pedagogy links it.
    unknown = int(psql("select coalesce(max(id), 0) + 1000000 from enrollments"))
    _, r_late = submit(reporter_c, psql, report_body(enrollment_id=unknown, project_code="p1"))
    d4 = round_(other)
    assert base(d4), sample_rows(psql, [d4])
    assert ped_c.post("/v1/reports/%d/link" % r_late, {"enrollment_id": other}).status == 200
    d5 = round_(other, "validated")
    assert certain(d5), sample_rows(psql, [d5])
    assert len(reviews_of(psql, d5)) == 1
