-- wrk script: PUT a new result (a unique id per request) into line item $LINE_ITEM for a
-- student read from the file $STUDENTS, with the bearer token $TOKEN. Every response must be
-- 201; others are counted by wrk as non-2xx.
local counter = 0
local threads = 0
local students = {}
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  for line in io.lines(os.getenv("STUDENTS")) do students[#students + 1] = line end
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
  wrk.headers["Content-Type"] = "application/json"
end
function request()
  counter = counter + 1
  local id = string.format("bench-%s-%d-%d", os.getenv("RUN") or "r", tid, counter)
  local body = string.format(
    '{"result":{"lineItem":{"sourcedId":"%s"},"student":{"sourcedId":"%s"},' ..
    '"scoreStatus":"fully graded","score":%d,"scoreDate":"2026-01-15"}}',
    os.getenv("LINE_ITEM"), students[(counter % #students) + 1], counter % 101)
  return wrk.format("PUT", os.getenv("BASE_PATH") .. "/results/" .. id, nil, body)
end
