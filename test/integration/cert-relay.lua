-- cert-relay.lua - relaying by TLS client certificate, at the milter
-- protocol level: miltertest plays Sendmail and sets {verify},
-- {cert_issuer} and {cert_subject} as Sendmail does after STARTTLS
-- (DNs xtext-encoded).  Prints "PASS name" or "FAIL name" per case.

local sock = "unix:" .. os.getenv("HM_SOCKET")
local issuer = "/C=DE/O=IN-Berlin+20e.V./CN=IN-Berlin+20CA"

local function relay_reply(ip, verify, cert_issuer, cert_subject)
	local conn = mt.connect(sock, 40, 0.25)
	if conn == nil then error("cannot connect to " .. sock) end
	mt.macro(conn, SMFIC_CONNECT, "{daemon_name}", "MTA")
	if mt.conninfo(conn, "client.example", ip) ~= nil then error("conninfo failed") end
	if verify ~= nil then
		mt.macro(conn, SMFIC_HELO, "{verify}", verify, "{cert_issuer}", cert_issuer,
			 "{cert_subject}", cert_subject)
	end
	mt.helo(conn, "client.example")
	mt.macro(conn, SMFIC_MAIL, "i", "CERTTEST")
	mt.mailfrom(conn, "<someone@site.in-berlin.de>")
	if mt.getreply(conn) ~= SMFIR_CONTINUE then error("MAIL refused") end
	mt.rcptto(conn, "<friend@elsewhere.example>")
	local reply = mt.getreply(conn)
	mt.disconnect(conn)
	return reply
end

local function expect(name, got, want)
	if got == want then print("PASS " .. name) else print("FAIL " .. name) end
end

expect("verified certificate of the configured issuer and subject relays",
       relay_reply("192.0.2.200", "OK", issuer, "/CN=site.in-berlin.de"), SMFIR_CONTINUE)
expect("same certificate, subject in another case, relays",
       relay_reply("192.0.2.200", "OK", issuer, "/CN=SITE.in-berlin.de"), SMFIR_CONTINUE)
expect("another subject of that issuer is refused",
       relay_reply("192.0.2.200", "OK", issuer, "/CN=other.in-berlin.de"), SMFIR_REPLYCODE)
expect("another issuer is refused",
       relay_reply("192.0.2.200", "OK", "/CN=Some+20Other+20CA", "/CN=site.in-berlin.de"), SMFIR_REPLYCODE)
expect("a certificate that did not verify is refused",
       relay_reply("192.0.2.200", "FAIL", issuer, "/CN=site.in-berlin.de"), SMFIR_REPLYCODE)
expect("no certificate at all is refused",
       relay_reply("192.0.2.200", nil), SMFIR_REPLYCODE)
expect("the customer network relays without a certificate",
       relay_reply("192.0.2.10", nil), SMFIR_CONTINUE)
