/*
 * route_calibration.c - finishes the calibration routes: PostgreSQL returns
 * each evaluator's 2x2 agreement table (kept as counters, one row read),
 * and the statistics are computed here by lib/stats.c, the single
 * implementation the unit tests check against hand-computed values.
 */
#include <math.h>
#include <stdlib.h>

#include <jansson.h>

#include <certflow/stats.h>

#include "routes.h"

/* A number, or null for NAN (no review yet). */
static json_t *
json_number(double x)
{
	return isnan(x) ? json_null() : json_real(x);
}

static void
read_table(const json_t *obj, struct agreement_table *t)
{
	const json_t *table = json_object_get(obj, "table");

	t->vv = json_integer_value(json_object_get(table, "vv"));
	t->vn = json_integer_value(json_object_get(table, "vn"));
	t->nv = json_integer_value(json_object_get(table, "nv"));
	t->nn = json_integer_value(json_object_get(table, "nn"));
}

/* Adds the agreement statistics of OBJ's table to OBJ; returns them in *S. */
static void
add_stats(json_t *obj, double floor, struct agreement_stats *s)
{
	struct agreement_table t;

	read_table(obj, &t);
	stats_agreement(&t, s);
	json_object_set_new(obj, "reviews", json_integer(s->reviews));
	json_object_set_new(obj, "agreements", json_integer(s->agreements));
	json_object_set_new(obj, "agreement", json_number(s->agreement));
	json_object_set_new(obj, "wilson_low", json_number(s->wilson_low));
	json_object_set_new(obj, "wilson_high", json_number(s->wilson_high));
	json_object_set_new(obj, "kappa", json_number(s->kappa));
	json_object_set_new(obj, "ac1", json_number(s->ac1));
	json_object_set_new(obj, "leniency", json_number(s->leniency));
	json_object_set_new(obj, "severity", json_number(s->severity));
	json_object_set_new(obj, "flagged", json_boolean(stats_flagged(s, floor)));
}

static void
reply_object(struct request *r, int status, json_t *obj)
{
	char *text = obj != NULL ? json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(6)) : NULL;

	json_decref(obj);
	if (text == NULL) {
		request_fail(r, 500, "cannot build the answer", NULL);
		return;
	}
	request_reply_json(r, status, text);
	free(text);
}

void
route_calibration_one(struct request *r, int status, const char *body)
{
	json_t *obj = json_loads(body, 0, NULL);
	struct agreement_stats s;

	if (obj == NULL) {
		request_fail(r, 500, "cannot read the calibration figures", NULL);
		return;
	}
	add_stats(obj, json_number_value(json_object_get(obj, "agreement_floor")), &s);
	reply_object(r, status, obj);
}

/* Worst first: flagged, then the lowest upper bound of agreement, then the lowest AC1. */
static int
cmp_worst(const void *a, const void *b)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	int fx = json_is_true(json_object_get(x, "flagged"));
	int fy = json_is_true(json_object_get(y, "flagged"));
	double hx = json_number_value(json_object_get(x, "wilson_high"));
	double hy = json_number_value(json_object_get(y, "wilson_high"));
	double ax = json_is_null(json_object_get(x, "ac1")) ? 2.0 :
	    json_number_value(json_object_get(x, "ac1"));
	double ay = json_is_null(json_object_get(y, "ac1")) ? 2.0 :
	    json_number_value(json_object_get(y, "ac1"));

	if (fx != fy)
		return fy - fx;
	if (hx != hy)
		return hx < hy ? -1 : 1;
	return (ax > ay) - (ax < ay);
}

void
route_calibration_all(struct request *r, int status, const char *body)
{
	json_t *obj = json_loads(body, 0, NULL), *list, *overall, **items = NULL;
	double floor = json_number_value(json_object_get(obj, "agreement_floor"));
	struct agreement_table sum = { 0, 0, 0, 0 }, t;
	struct agreement_stats s;
	size_t n, i;

	list = json_object_get(obj, "evaluators");
	n = json_array_size(list);
	if (obj == NULL || (n > 0 && (items = calloc(n, sizeof(*items))) == NULL)) {
		json_decref(obj);
		request_fail(r, 500, "cannot read the calibration figures", NULL);
		return;
	}
	for (i = 0; i < n; i++) {
		items[i] = json_incref(json_array_get(list, i));
		read_table(items[i], &t);
		sum.vv += t.vv;
		sum.vn += t.vn;
		sum.nv += t.nv;
		sum.nn += t.nn;
		add_stats(items[i], floor, &s);
	}
	qsort(items, n, sizeof(*items), cmp_worst);
	json_array_clear(list);
	for (i = 0; i < n; i++)
		json_array_append_new(list, items[i]);
	free(items);
	overall = json_pack("{s:{s:I,s:I,s:I,s:I}}", "table", "vv", (json_int_t)sum.vv,
	    "vn", (json_int_t)sum.vn, "nv", (json_int_t)sum.nv, "nn", (json_int_t)sum.nn);
	if (overall != NULL) {
		add_stats(overall, floor, &s);
		json_object_del(overall, "flagged");
		json_object_set_new(obj, "overall", overall);
	}
	reply_object(r, status, obj);
}
