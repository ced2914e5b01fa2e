/*
 * answer - the documents; see answer.h.
 */
#include "config.h"

#include <openssl/evp.h>
#include <string.h>

#include "answer.h"

#define NS_AD_RESPONSE "http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006"
#define NS_AD_OUTLOOK "http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a"
#define PLACEHOLDER_ADDRESS "%EMAILADDRESS%"

void
answer_xml_escape(GString *out, const char *text)
{
	for (const char *p = text; *p; p++) {
		switch (*p) {
		case '&': g_string_append(out, "&amp;"); break;
		case '<': g_string_append(out, "&lt;"); break;
		case '>': g_string_append(out, "&gt;"); break;
		case '"': g_string_append(out, "&quot;"); break;
		case '\'': g_string_append(out, "&apos;"); break;
		default: g_string_append_c(out, *p); break;
		}
	}
}

/* <name>text</name> with text escaped, indented by indent spaces. */
static void
element(GString *out, int indent, const char *name, const char *text)
{
	g_string_append_printf(out, "%*s<%s>", indent, "", name);
	answer_xml_escape(out, text);
	g_string_append_printf(out, "</%s>\n", name);
}

static void
element_uint(GString *out, int indent, const char *name, unsigned value)
{
	g_string_append_printf(out, "%*s<%s>%u</%s>\n", indent, "", name, value, name);
}

/* The login, or the placeholder Thunderbird fills in when no address was asked for. */
static const char *
username(const struct acdb_answer *answer)
{
	return answer->login[0] ? answer->login : PLACEHOLDER_ADDRESS;
}

/* ---- Thunderbird ---- */

static void
tb_server(GString *out, const char *tag, const char *type, const struct acdb_server *server, const char *user)
{
	g_string_append_printf(out, "    <%s type=\"%s\">\n", tag, type);
	element(out, 6, "hostname", server->host);
	element_uint(out, 6, "port", server->port);
	element(out, 6, "socketType", acdb_socket_name(server->socket));
	element(out, 6, "username", user);
	element(out, 6, "authentication", "password-cleartext");
	g_string_append_printf(out, "    </%s>\n", tag);
}

void
answer_thunderbird(const struct acdb_answer *answer, GString *out)
{
	const struct acdb_settings *s = &answer->settings;

	g_string_append(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<clientConfig version=\"1.1\">\n"
			"  <emailProvider id=\"");
	answer_xml_escape(out, answer->canonical);
	g_string_append(out, "\">\n");
	element(out, 4, "domain", answer->domain);
	element(out, 4, "displayName", answer->domain);
	if (s->server[ACDB_IMAP].offered)
		tb_server(out, "incomingServer", "imap", &s->server[ACDB_IMAP], username(answer));
	if (s->server[ACDB_POP3].offered)
		tb_server(out, "incomingServer", "pop3", &s->server[ACDB_POP3], username(answer));
	if (s->server[ACDB_SMTP].offered)
		tb_server(out, "outgoingServer", "smtp", &s->server[ACDB_SMTP], username(answer));
	g_string_append(out, "  </emailProvider>\n</clientConfig>\n");
}

/* ---- Outlook ---- */

static void
ad_protocol(GString *out, const char *type, const struct acdb_server *server, const char *login, bool smtp)
{
	bool ssl = server->socket == ACDB_SOCKET_SSL;

	g_string_append(out, "      <Protocol>\n");
	element(out, 8, "Type", type);
	element(out, 8, "Server", server->host);
	element_uint(out, 8, "Port", server->port);
	element(out, 8, "DomainRequired", "off");
	element(out, 8, "LoginName", login);
	element(out, 8, "SPA", "off");
	/* SSL on for both: Encryption, which Outlook prefers, says which kind ([MS-OXDSCLI]). */
	element(out, 8, "SSL", "on");
	element(out, 8, "Encryption", ssl ? "SSL" : "TLS");
	element(out, 8, "AuthRequired", "on");
	if (smtp) {
		element(out, 8, "UsePOPAuth", "off");
		element(out, 8, "SMTPLast", "off");
	}
	g_string_append(out, "      </Protocol>\n");
}

void
answer_outlook(const struct acdb_answer *answer, GString *out)
{
	const struct acdb_settings *s = &answer->settings;

	g_string_append(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover xmlns=\"" NS_AD_RESPONSE "\">\n"
			"  <Response xmlns=\"" NS_AD_OUTLOOK "\">\n    <Account>\n");
	element(out, 6, "AccountType", "email");
	element(out, 6, "Action", "settings");
	if (s->server[ACDB_IMAP].offered)
		ad_protocol(out, "IMAP", &s->server[ACDB_IMAP], answer->login, false);
	if (s->server[ACDB_POP3].offered)
		ad_protocol(out, "POP3", &s->server[ACDB_POP3], answer->login, false);
	if (s->server[ACDB_SMTP].offered)
		ad_protocol(out, "SMTP", &s->server[ACDB_SMTP], answer->login, true);
	g_string_append(out, "    </Account>\n  </Response>\n</Autodiscover>\n");
}

void
answer_outlook_error(unsigned code, const char *message, const char *time, GString *out)
{
	g_string_append(out, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Autodiscover xmlns=\"" NS_AD_RESPONSE "\">\n"
			"  <Response>\n    <Error Time=\"");
	answer_xml_escape(out, time);
	g_string_append(out, "\" Id=\"0\">\n");
	element_uint(out, 6, "ErrorCode", code);
	element(out, 6, "Message", message);
	g_string_append(out, "      <DebugData />\n    </Error>\n  </Response>\n</Autodiscover>\n");
}

/* ---- JSON ---- */

/* A JSON string of text; texts here are host names and our own messages, escaped all the same. */
static void
json_string(GString *out, const char *text)
{
	g_string_append_c(out, '"');
	for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
		if (*p == '"' || *p == '\\')
			g_string_append_printf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			g_string_append_printf(out, "\\u%04x", *p);
		else
			g_string_append_c(out, (char)*p);
	}
	g_string_append_c(out, '"');
}

void
answer_outlook_json(const char *host, GString *out)
{
	GString *url = g_string_new("https://");

	g_string_append(url, host);
	g_string_append(url, "/autodiscover/autodiscover.xml");
	g_string_append(out, "{\"Protocol\":\"AutodiscoverV1\",\"Url\":");
	json_string(out, url->str);
	g_string_append(out, "}\n");
	g_string_free(url, TRUE);
}

void
answer_json_error(const char *code, const char *message, GString *out)
{
	g_string_append(out, "{\"ErrorCode\":");
	json_string(out, code);
	g_string_append(out, ",\"ErrorMessage\":");
	json_string(out, message);
	g_string_append(out, "}\n");
}

/* ---- Apple ---- */

/* A UUID (version 4 layout) from SHA-256 of the parts: the same parts, the same profile. */
static void
derived_uuid(const char *a, const char *b, const char *c, char uuid[37])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	GString *text = g_string_new(NULL);
	size_t n = 0;

	g_string_printf(text, "%s\n%s\n%s", a, b, c);
	EVP_Digest(text->str, text->len, md, &mdlen, EVP_sha256(), NULL);
	g_string_free(text, TRUE);
	md[6] = (unsigned char)((md[6] & 0x0f) | 0x40);
	md[8] = (unsigned char)((md[8] & 0x3f) | 0x80);
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			uuid[n++] = '-';
		snprintf(uuid + n, 3, "%02X", md[i]);
		n += 2;
	}
	uuid[n] = '\0';
}

static void
plist_string(GString *out, const char *key, const char *value)
{
	g_string_append(out, "      <key>");
	answer_xml_escape(out, key);
	g_string_append(out, "</key>\n      <string>");
	answer_xml_escape(out, value);
	g_string_append(out, "</string>\n");
}

static void
plist_other(GString *out, const char *key, const char *value_xml)
{
	g_string_append_printf(out, "      <key>%s</key>\n      %s\n", key, value_xml);
}

/* The Incoming... or Outgoing... keys of one server. */
static void
plist_server(GString *out, const char *side, const struct acdb_server *server, const char *login)
{
	char key[64], number[32];

	snprintf(key, sizeof(key), "%sMailServerAuthentication", side);
	plist_string(out, key, "EmailAuthPassword");
	snprintf(key, sizeof(key), "%sMailServerHostName", side);
	plist_string(out, key, server->host);
	snprintf(key, sizeof(key), "%sMailServerPortNumber", side);
	snprintf(number, sizeof(number), "<integer>%u</integer>", server->port);
	plist_other(out, key, number);
	/* true for STARTTLS too: the device then negotiates TLS on the plain port, never sends in clear. */
	snprintf(key, sizeof(key), "%sMailServerUseSSL", side);
	plist_other(out, key, "<true/>");
	snprintf(key, sizeof(key), "%sMailServerUsername", side);
	plist_string(out, key, login);
}

/* The mail payload: one incoming server (IMAP preferred), the SMTP server, no password. */
static void
plist_payload(GString *out, const struct acdb_answer *answer, const char *identifier)
{
	const struct acdb_settings *s = &answer->settings;
	bool imap = s->server[ACDB_IMAP].offered;
	char uuid[37], id[600];

	derived_uuid(answer->address, answer->login, "payload", uuid);
	snprintf(id, sizeof(id), "%s.mail", identifier);
	g_string_append(out, "    <dict>\n");
	plist_string(out, "EmailAccountDescription", answer->address);
	plist_string(out, "EmailAccountType", imap ? "EmailTypeIMAP" : "EmailTypePOP");
	plist_string(out, "EmailAddress", answer->address);
	plist_server(out, "Incoming", &s->server[imap ? ACDB_IMAP : ACDB_POP3], answer->login);
	plist_server(out, "Outgoing", &s->server[ACDB_SMTP], answer->login);
	plist_other(out, "OutgoingPasswordSameAsIncomingPassword", "<true/>");
	plist_string(out, "PayloadDisplayName", answer->address);
	plist_string(out, "PayloadIdentifier", id);
	plist_string(out, "PayloadType", "com.apple.mail.managed");
	plist_string(out, "PayloadUUID", uuid);
	plist_other(out, "PayloadVersion", "<integer>1</integer>");
	g_string_append(out, "    </dict>\n");
}

/* "autoconfig." and the domain's labels reversed ("com.example"), then a digest of the address. */
static void
profile_identifier(const struct acdb_answer *answer, char *buf, size_t len)
{
	char **labels = g_strsplit(answer->domain, ".", -1);
	guint n = g_strv_length(labels);
	GString *id = g_string_new(NULL);
	char uuid[37];

	for (guint i = n; i > 0; i--)
		g_string_append_printf(id, "%s%s", id->len ? "." : "", labels[i - 1]);
	derived_uuid(answer->address, "", "identifier", uuid);
	g_string_append_printf(id, ".autoconfig.%.8s", uuid);
	g_strlcpy(buf, id->str, len);
	g_string_free(id, TRUE);
	g_strfreev(labels);
}

void
answer_mobileconfig(const struct acdb_answer *answer, GString *out)
{
	char uuid[37], identifier[400];

	profile_identifier(answer, identifier, sizeof(identifier));
	derived_uuid(answer->address, answer->login, "profile", uuid);
	g_string_append(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" "
			"\"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
			"<plist version=\"1.0\">\n  <dict>\n    <key>PayloadContent</key>\n    <array>\n");
	plist_payload(out, answer, identifier);
	g_string_append(out, "    </array>\n");
	plist_string(out, "PayloadDescription", "Mail settings without a password: the device asks for it.");
	plist_string(out, "PayloadDisplayName", answer->address);
	plist_string(out, "PayloadIdentifier", identifier);
	plist_other(out, "PayloadRemovalDisallowed", "<false/>");
	plist_string(out, "PayloadType", "Configuration");
	plist_string(out, "PayloadUUID", uuid);
	plist_other(out, "PayloadVersion", "<integer>1</integer>");
	g_string_append(out, "  </dict>\n</plist>\n");
}
