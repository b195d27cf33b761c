-- POST /v1/users/search for one email among the seeded users (the lookup an app makes).
-- Arguments: the seeding prefix, the number of seeded users.
local prefix, users
local counter = 0

function init(args)
  prefix = args[1]
  users = tonumber(args[2])
  wrk.method = "POST"
  wrk.path = "/v1/users/search"
  wrk.headers["Content-Type"] = "application/json"
  counter = thread_id * 7919
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"limit":10,"query":{"operator":"AND","operands":[' ..
    '{"filter_name":"email_address","filter_value":["%s-%d@example.com"]}]}}',
    prefix, counter % users)
  return wrk.format(nil, nil, nil, body)
end
