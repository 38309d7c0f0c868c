-- notes_post.lua - wrk script: POST /v1/enrollments/{id}/notes over the
-- in-progress enrollments FIRST..LAST of the token's mentor, round-robin,
-- each request a week no other request of the run uses (one note per
-- enrollment and week): thread T writes the weeks of years BASE + 2T and
-- BASE + 2T + 1, so a run with N threads uses years BASE .. BASE + 2N - 1
-- and the next run starts after them (scripts/bench hands out the years;
-- bench/pgbench/notes_post.sql does the same per client). Every request
-- writes one audit row: the audit sealer's load. BODY is the note's text.
--
--   wrk ... -s bench/wrk/notes_post.lua URL -- FIRST LAST BASE [BODY]
--
-- The Authorization header comes from wrk -H.

local counter = 0

function setup(thread)
	thread:set("index", counter)
	counter = counter + 1
end

function init(args)
	first = tonumber(args[1])
	last = tonumber(args[2])
	base = tonumber(args[3])
	text = args[4] or "bench note"
	if not first or not last or last < first or not base or base < 1000 then
		io.stderr:write("notes_post.lua: usage: wrk ... -s notes_post.lua URL -- FIRST LAST BASE [BODY]\n")
		os.exit(2)
	end
	span = last - first + 1
	-- threads start half a range apart: they do not queue on one enrollment's row lock
	n = math.floor((index or 0) * span / 2)
	start = n
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/json"
end

function request()
	local round = math.floor((n - start) / span)
	local id = first + n % span
	local week = string.format("%04d-W%02d", base + 2 * (index or 0) + math.floor(round / 52),
	    round % 52 + 1)
	n = n + 1
	return wrk.format(nil, "/v1/enrollments/" .. id .. "/notes", nil,
	    '{"week": "' .. week .. '", "progress": 50, "body": "' .. text .. '", "at_risk": false}')
end
