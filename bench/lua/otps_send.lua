-- POST /v1/otps/sms/login_or_create to a new phone number per request: the send path, a user
-- made, a code kept, a sealed message queued in the outbox (no provider: nothing leaves).
-- Arguments: an area code of this round (three digits, 2-9 first), the number of wrk threads.
local area
local threads
local counter = 0

function init(args)
  area = args[1]
  threads = tonumber(args[2])
  wrk.method = "POST"
  wrk.path = "/v1/otps/sms/login_or_create"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local n = 2000000 + counter * threads + thread_id
  return wrk.format(nil, nil, nil,
    string.format('{"phone_number":"+1%s%07d"}', area, n % 8000000 + 2000000))
end
