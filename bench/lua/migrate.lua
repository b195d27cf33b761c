-- POST /v1/passwords/migrate: a new user with a bcrypt hash on every request.
-- Arguments: a prefix unique to this run (emails must never repeat), the bcrypt hash.
local prefix, hash
local counter = 0

function init(args)
  prefix = args[1]
  hash = args[2]
  wrk.method = "POST"
  wrk.path = "/v1/passwords/migrate"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"email":"%s-%d-%d@example.com","hash":"%s","hash_type":"bcrypt"}',
    prefix, thread_id, counter, hash)
  return wrk.format(nil, nil, nil, body)
end
