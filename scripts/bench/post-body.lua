-- wrk script: POST the file $BODY as text/xml with HTTP Basic $AUTH (user:password, base64).
local f = io.open(os.getenv("BODY"), "rb")
local body = f:read("*a")
f:close()
function init(args)
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
  wrk.headers["Authorization"] = "Basic " .. os.getenv("AUTH")
end
