-- wrk script: GET a random path from the file $PATHS with the bearer token $TOKEN.
local paths = {}
function init(args)
  for line in io.lines(os.getenv("PATHS")) do paths[#paths + 1] = line end
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
end
function request()
  return wrk.format("GET", paths[math.random(#paths)])
end
