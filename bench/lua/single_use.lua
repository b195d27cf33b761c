-- POST one single-use secret per request: magic-link tokens (/v1/magic_links/authenticate) or
-- passcodes (/v1/otps/authenticate). Arguments: the path, a file of request bodies (one JSON
-- object per line), the number of wrk threads. Thread t takes lines t, t + threads, ...; a
-- secret works once, so lines are never reused (bench/run seeds more than a round can spend
-- and refuses the figures if a thread ran out: the replayed line is an error response).
local bodies = {}
local counter = 0

function init(args)
  local threads = tonumber(args[3])
  local n = 0
  for line in io.lines(args[2]) do
    if n % threads == thread_id then
      bodies[#bodies + 1] = line
    end
    n = n + 1
  end
  wrk.method = "POST"
  wrk.path = args[1]
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, bodies[((counter - 1) % #bodies) + 1])
end
