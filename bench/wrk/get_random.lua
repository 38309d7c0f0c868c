-- get_random.lua - wrk script: GET PATH with "{id}" replaced by an id drawn
-- uniformly from FIRST..LAST at each request (each thread its own stream).
--
--   wrk ... -s bench/wrk/get_random.lua URL -- PATH FIRST LAST [PAUSE_MS]
--   e.g. -- '/v1/enrollments/{id}' 52 50051
--
-- With PAUSE_MS each connection waits 0 to 2 x PAUSE_MS (uniform; PAUSE_MS on
-- average) before each request: a fixed number of users at a pace below
-- saturation, where the latency is the route's own and not the time spent
-- queued behind the other connections. wrk does not count the pause.
--
-- The Authorization header comes from wrk -H. scripts/bench uses it for
-- GET /v1/enrollments/{id}, the calibration route and the jury dossier; the
-- pgbench side draws its ids the same way (\set id random(:first, :last)).

local counter = 0

function setup(thread)
	thread:set("index", counter)
	counter = counter + 1
end

function init(args)
	template = args[1]
	first = tonumber(args[2])
	last = tonumber(args[3])
	pause = tonumber(args[4] or "0")
	if not template or not first or not last or last < first or not pause or pause < 0 then
		io.stderr:write("get_random.lua: usage: wrk ... -s get_random.lua URL -- PATH FIRST LAST [PAUSE_MS]\n")
		os.exit(2)
	end
	math.randomseed(os.time() * 1000 + (index or 0) * 7919)
end

function request()
	local path = template:gsub("{id}", tostring(math.random(first, last)))
	return wrk.format("GET", path)
end

function delay()
	if pause > 0 then
		return math.random(0, 2 * pause)
	end
	return 0
end
