-- wrk script: POST LIS Person requests to $SOAP_PATH with HTTP Basic ($AUTH), for random
-- person ids from the file $IDS: readPerson (MODE=one) or readPersons of $BATCH ids (MODE=batch),
-- or readPersons of the file's first $BATCH ids, always the same (MODE=page: the records of
-- REST's first page when the file holds the ids in sourcedId order).
local ids = {}
local ns = "http://www.imsglobal.org/services/lis/pms2p0/wsdl11/sync/imspms_v2p0"
local mode, batch, path
function init(args)
  for line in io.lines(os.getenv("IDS")) do ids[#ids + 1] = line end
  mode = os.getenv("MODE") or "one"
  batch = tonumber(os.getenv("BATCH") or "100")
  path = os.getenv("SOAP_PATH")
  wrk.headers["Authorization"] = "Basic " .. os.getenv("AUTH")
  wrk.headers["Content-Type"] = "text/xml; charset=utf-8"
end
local function envelope(body)
  return '<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:p="' .. ns ..
    '"><s:Header><p:imsx_syncRequestHeaderInfo><p:imsx_version>V1.0</p:imsx_version><p:imsx_messageIdentifier>bench</p:imsx_messageIdentifier></p:imsx_syncRequestHeaderInfo></s:Header><s:Body>' ..
    body .. '</s:Body></s:Envelope>'
end
function request()
  local body
  if mode == "page" then
    local parts = {}
    for i = 1, batch do parts[i] = "<p:sourcedId>" .. ids[i] .. "</p:sourcedId>" end
    body = "<p:readPersonsRequest><p:sourcedIdSet>" .. table.concat(parts) .. "</p:sourcedIdSet></p:readPersonsRequest>"
  elseif mode == "one" then
    body = "<p:readPersonRequest><p:sourcedId>" .. ids[math.random(#ids)] .. "</p:sourcedId></p:readPersonRequest>"
  else
    local parts = {}
    for i = 1, batch do parts[i] = "<p:sourcedId>" .. ids[math.random(#ids)] .. "</p:sourcedId>" end
    body = "<p:readPersonsRequest><p:sourcedIdSet>" .. table.concat(parts) .. "</p:sourcedIdSet></p:readPersonsRequest>"
  end
  return wrk.format("POST", path, nil, envelope(body))
end
