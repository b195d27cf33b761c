-- POST /v1/sessions/authenticate, round-robin over seeded sessions.
-- Arguments: the field (session_token or session_jwt), a file of its values, one per line.
local field
local values = {}
local counter = 0

function init(args)
  field = args[1]
  for line in io.lines(args[2]) do
    values[#values + 1] = line
  end
  wrk.method = "POST"
  wrk.path = "/v1/sessions/authenticate"
  wrk.headers["Content-Type"] = "application/json"
  counter = thread_id * 7919
end

function request()
  counter = counter + 1
  local body = string.format('{"%s":"%s"}', field, values[(counter % #values) + 1])
  return wrk.format(nil, nil, nil, body)
end
