-- GET /v1/users/{user_id}, round-robin over the seeded users.
-- Arguments: a file of user ids, one per line.
local ids = {}
local counter = 0

function init(args)
  for line in io.lines(args[1]) do
    ids[#ids + 1] = line
  end
  counter = thread_id * 7919
end

function request()
  counter = counter + 1
  return wrk.format("GET", "/v1/users/" .. ids[(counter % #ids) + 1])
end
