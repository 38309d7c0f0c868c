-- The handover-plus-verdict cycle (bench/wrk/verdict_cycle.lua): POST
-- /v1/attempts/{id}/handover with the mentor's token, then POST
-- /v1/defenses/{id}/verdict ("needs improvement") with the token of the
-- evaluator the handover drew; the attempt is back with its mentor. Client C
-- cycles over the attempts FIRST + STRIDE * k, k = C + NCLIENTS * j + OFFSET
-- (mod COUNT, a multiple of NCLIENTS: no two clients share an attempt).
-- One transaction = one cycle = two statements, each its own transaction
-- as certflowd sends them. Seeds: sha256 of pgbench integers, in SQL.
\set j :j + 1
\set attempt :first + :stride * mod(:client_id + :nclients * :j + :offset, :count)
\set rid random(1, 999999999999)
\set s1 random(1, 9223372036854775807)
\set s2 random(1, 9223372036854775807)
\set s3 random(1, 9223372036854775807)
SELECT status, body::text, body #>> '{defense,id}' AS defense, encode(sha256(convert_to(rpad('cf_bench' || lpad(body #>> '{defense,evaluator_id}', 12, '0'), 46, 'A'), 'UTF8')), 'hex') AS evtok FROM api.attempt_handover(:mtok, :rid, :attempt::bigint, :hbody::jsonb, encode(sha256(int8send(:s1::bigint)), 'hex'), :settings::jsonb)
\gset h_
\if :h_status >= 300
\set failed 1 / 0
\endif
SELECT status, body::text FROM api.defense_verdict(:h_evtok, :rid, :h_defense::bigint, :vbody::jsonb, encode(sha256(int8send(:s2::bigint)), 'hex'), encode(sha256(int8send(:s3::bigint)), 'hex'), :settings::jsonb)
\gset v_
\if :v_status >= 300
\set failed 1 / 0
\endif
