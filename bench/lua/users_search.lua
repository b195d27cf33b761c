-- POST /v1/users/search for one email among the seeded users (the lookup an app makes).
-- Arguments: the seeding prefix, the number of seeded users.
local prefix, users

function init(args)
  prefix = args[1]
  users = tonumber(args[2])
  wrk.method = "POST"
  wrk.path = "/v1/users/search"
  wrk.headers["Content-Type"] = "application/json"
  -- Random emails, not a walk in seeding order, so the page cache is not flattered.
  math.randomseed(7919 * (thread_id + 1))
end

function request()
  local body = string.format(
    '{"limit":10,"query":{"operator":"AND","operands":[' ..
    '{"filter_name":"email_address","filter_value":["%s-%d@example.com"]}]}}',
    prefix, math.random(0, users - 1))
  return wrk.format(nil, nil, nil, body)
end
