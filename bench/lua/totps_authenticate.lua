-- POST /v1/totps/authenticate: each request spends one user's code for the current step, once.
-- Arguments: a file of "user_id code" lines, the number of wrk threads. Thread t takes lines
-- t, t + threads, ...; a code is accepted once per step, so lines are never reused (bench/run
-- seeds more users than a round can spend and refuses the figures if a thread ran out).
local pairs_ = {}
local counter = 0

function init(args)
  local threads = tonumber(args[2])
  local n = 0
  for line in io.lines(args[1]) do
    if n % threads == thread_id then
      local user_id, code = line:match("^(%S+) (%S+)$")
      pairs_[#pairs_ + 1] = string.format(
        '{"user_id":"%s","totp_code":"%s","session_duration_minutes":60}', user_id, code)
    end
    n = n + 1
  end
  wrk.method = "POST"
  wrk.path = "/v1/totps/authenticate"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  -- Past the end, the first line again: the server refuses the replay, and bench/run refuses
  -- a run with any error response.
  return wrk.format(nil, nil, nil, pairs_[((counter - 1) % #pairs_) + 1])
end
