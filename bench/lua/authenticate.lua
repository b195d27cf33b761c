-- POST /v1/passwords/authenticate, round-robin over the users bench/run seeded.
-- Arguments: number of users, their password.
local users, password
local counter = 0

function init(args)
  users = tonumber(args[1])
  password = args[2]
  wrk.method = "POST"
  wrk.path = "/v1/passwords/authenticate"
  wrk.headers["Content-Type"] = "application/json"
  counter = thread_id
end

function request()
  counter = counter + 7
  local body = string.format('{"email":"bench-%d@example.com","password":"%s"}',
    counter % users, password)
  return wrk.format(nil, nil, nil, body)
end
