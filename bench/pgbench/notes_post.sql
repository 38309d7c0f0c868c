-- POST /v1/enrollments/{id}/notes (the mentor's token) over the enrollments
-- FIRST..FIRST+SPAN-1, round-robin (each client from its own place), each
-- transaction a new (enrollment, week):
-- client C writes the weeks of years BASE + 2C and BASE + 2C + 1, as
-- bench/wrk/notes_post.lua does per thread. TEXT is the note's text. The
-- body is built by format() in the statement: pgbench cannot make strings.
\set n :n + 1
\set id :first + mod(:n + :client_id * :span / :nclients, :span)
\set r :n / :span
\set year :base + 2 * :client_id + :r / 52
\set week mod(:r, 52) + 1
\set rid random(1, 999999999999)
SELECT status, body::text FROM api.note_create(:tok, :rid, :id::bigint, format('{"week": "%s-W%s", "progress": 50, "body": "%s", "at_risk": false}', :year::int, lpad(:week::text, 2, '0'), :text::text)::jsonb)
\gset
\if :status >= 300
\set failed 1 / 0
\endif
