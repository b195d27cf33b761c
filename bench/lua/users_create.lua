-- POST /v1/users: a new user on every request.
-- Arguments: a prefix unique to this run (emails must never repeat).
local prefix
local counter = 0

function init(args)
  prefix = args[1]
  wrk.method = "POST"
  wrk.path = "/v1/users"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format('{"email":"%s-%d-%d@example.com"}', prefix, thread_id, counter)
  return wrk.format(nil, nil, nil, body)
end
