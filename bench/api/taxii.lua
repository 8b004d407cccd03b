-- taxii.lua - wrk script: a TAXII 2.1 page of up to 1,000 objects of the
-- shared collection, starting at a random point of the ITEMS seeded (one
-- publication a second from 2020-01-01).
local items = tonumber(os.getenv("ITEMS") or "1000")
local token = os.getenv("TOKEN")
math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
request = function()
  local t = 1577836800 + math.random(0, math.max(items - 100, 0))
  local after = os.date("!%Y-%m-%dT%H:%M:%S.000000Z", t)
  return wrk.format("GET",
    "/taxii2/api/collections/5f7d2c1e-8a43-4b6e-9d2f-3c1a7e9b4d60/objects/" ..
    "?limit=1000&added_after=" .. after,
    { ["Authorization"] = "Bearer " .. token,
      ["Accept"] = "application/taxii+json;version=2.1" })
end
