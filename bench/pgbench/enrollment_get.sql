-- GET /v1/enrollments/{id} (pedagogy's token), a random enrollment of FIRST..LAST.
\set id random(:first, :last)
\set rid random(1, 999999999999)
SELECT status, body::text FROM api.enrollment_get(:tok, :rid, :id::bigint)
\gset
\if :status >= 300
\set failed 1 / 0
\endif
