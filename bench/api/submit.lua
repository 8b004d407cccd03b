-- submit.lua - wrk script: POST a new report of three indicators, each
-- request distinct so none is a duplicate.
local token = os.getenv("TOKEN")
local n = 0
local tag = tostring({}):sub(8)
request = function()
  n = n + 1
  local body = string.format(
    '{"indicators":["h%s-%d.submit.example","203.0.113.%d",' ..
    '"hxxp://h%s-%d.submit[.]example/x"],"permission":"community"}',
    tag, n, n % 250 + 1, tag, n)
  return wrk.format("POST", "/api/v1/reports",
    { ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json" }, body)
end
