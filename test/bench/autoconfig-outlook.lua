-- autoconfig-outlook.lua (wrk): Outlook's POST to autodiscover.xml for a
-- random address of gen-export.py's export, from a random client behind
-- the web server (see autoconfig-thunderbird.lua).
local domains = tonumber(os.getenv("DOMAINS") or "100000")
local per_domain = tonumber(os.getenv("PER_DOMAIN") or "10")
local body = '<?xml version="1.0" encoding="utf-8"?>\r\n'
  .. '<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">\r\n'
  .. '  <Request>\r\n    <EMailAddress>%s</EMailAddress>\r\n'
  .. '    <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a'
  .. '</AcceptableResponseSchema>\r\n  </Request>\r\n</Autodiscover>\r\n'

-- PACE_MS: each connection waits that long before its next request, so
-- that CONNECTIONS connections ask about CONNECTIONS * 1000 / PACE_MS times a
-- second (less the answers' own time), for a latency at a given rate.
local pace = tonumber(os.getenv("PACE_MS") or "0")
if pace > 0 then
  function delay()
    return pace
  end
end

function setup(thread)
  thread:set("seed", math.random(1, 1000000))
end

function init(args)
  math.randomseed(seed or os.time())
end

request = function()
  local d = math.random(0, domains - 1)
  local address = string.format("a%d@d%d.example", math.random(0, per_domain - 1), d)
  local client = string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
  return wrk.format("POST", "/Autodiscover/Autodiscover.xml",
    { ["Host"] = "autodiscover.d" .. d .. ".example", ["Content-Type"] = "text/xml",
      ["X-Forwarded-For"] = client }, string.format(body, address))
end
