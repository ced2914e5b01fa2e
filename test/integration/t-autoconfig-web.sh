#!/bin/bash
# t-autoconfig-web: hostautoconfig behind real web servers, configured with
# exactly the lines sample-etc-mail gives (README.md, "Mail client
# autoconfiguration"): nginx and Apache proxying to the daemon, and Apache
# running it as a CGI program.  Every URL form in any letter case gets
# through, the Host and the query string arrive, and a client cannot
# escape its rate limit by writing its own X-Forwarded-For.
# Ports: 2673 (nginx), 2674 (Apache, proxy), 2675 (the daemon), 2676 (Apache, CGI).
. "$(dirname "$0")/lib.sh"

AC=$HM_BUILD/autoconfig/hostautoconfig
DATA=$HM_SRC/test/data
SAMPLE=$HM_SRC/sample-etc-mail
NGINX=2673
APACHE=2674
DAEMON=2675
CGI=2676
hm_rundir autoconfig-web
M=$RUN/maps
"$HOSTMAPGEN" -q -o "$M" --reload-cmd true "$SAMPLE_EXPORT" 2>/dev/null

web_stop() {
	[ -s "$RUN/nginx/nginx.pid" ] && kill "$(cat "$RUN/nginx/nginx.pid")" 2>/dev/null
	[ -s "$RUN/apache/httpd.pid" ] && kill "$(cat "$RUN/apache/httpd.pid")" 2>/dev/null
	hm_wait 10 test ! -s "$RUN/apache/httpd.pid"
}
trap 'web_stop; hm_cleanup' EXIT

# get URL [CURL ARGS...]: the body into $RUN/body, the status on stdout.
get() {
	local url=$1
	shift
	curl -s -o "$RUN/body" -D "$RUN/headers" -w '%{http_code}' --max-time 10 "$@" "$url"
}
valid_tb() { xmllint --noout --relaxng "$DATA/clientconfig-1.1.rng" "$RUN/body" 2>/dev/null; }
valid_ad() { xmllint --noout --relaxng "$DATA/autodiscover-response.rng" "$RUN/body" 2>/dev/null; }
login_tb() { xmllint --xpath 'string(//incomingServer/username)' "$RUN/body" 2>/dev/null; }
login_ad() { xmllint --xpath "string(//*[local-name()='LoginName'])" "$RUN/body" 2>/dev/null; }
sed 's/ADDRESS/info@example.com/' "$DATA/outlook-request.xml" >"$RUN/outlook.xml"

# the URL forms, through FRONT (a base URL), as the clients send them
through() {
	local front=$1 name=$2
	is "$name: Thunderbird, emailaddress" "$(get "$front/mail/config-v1.1.xml?emailaddress=info%40example.com" \
		-H 'Host: autoconfig.example.com'; login_tb)" 200xyz00-info
	check "$name: ... valid" valid_tb
	is "$name: .well-known, the Host's domain" "$(get "$front/.well-known/autoconfig/mail/config-v1.1.xml" \
		-H 'Host: example.net'; login_tb)" '200%EMAILADDRESS%'
	is "$name: Outlook, POST /AutoDiscover/AutoDiscover.xml" "$(get "$front/AutoDiscover/AutoDiscover.xml" \
		-H 'Host: autodiscover.example.com' -H 'Content-Type: text/xml' --data-binary @"$RUN/outlook.xml"; login_ad)" \
		200xyz00-info
	check "$name: ... valid" valid_ad
	is "$name: Outlook's JSON probe, the address in the path" \
		"$(get "$front/autodiscover/autodiscover.json/v1.0/info%40example.com?Protocol=AutodiscoverV1" \
			-H 'Host: autodiscover.example.com'; jq -r .Url "$RUN/body" 2>/dev/null)" \
		"200https://autodiscover.example.com/autodiscover/autodiscover.xml"
	is "$name: Apple" "$(get "$front/mobileconfig?emailaddress=info%40example.com")" 200
	is "$name: not eligible: 404" "$(get "$front/mail/config-v1.1.xml?emailaddress=boss%40example.com")" 404
}

# ---- the daemon, behind nginx and Apache ----
"$AC" -l 127.0.0.1:$DAEMON -m "$M/autoconfig.db" -u nobody -r 1 -b 40 >"$RUN/ac.log" 2>&1 &
HM_BG_PIDS=$!
check "hostautoconfig starts" hm_wait 20 grep -q "answering on" "$RUN/ac.log"

mkdir -p "$RUN/nginx/tmp"
sed "s/127\.0\.0\.1:8025/127.0.0.1:$DAEMON/" "$SAMPLE/hostautoconfig-nginx.conf" >"$RUN/nginx/hostautoconfig.conf"
cat >"$RUN/nginx/nginx.conf" <<EOF
pid $RUN/nginx/nginx.pid;
error_log $RUN/nginx/error.log;
worker_processes 1;
events { worker_connections 64; }
http {
    access_log off;
    client_body_temp_path $RUN/nginx/tmp; proxy_temp_path $RUN/nginx/tmp; fastcgi_temp_path $RUN/nginx/tmp;
    uwsgi_temp_path $RUN/nginx/tmp; scgi_temp_path $RUN/nginx/tmp;
    server {
        listen 127.0.0.1:$NGINX;
        include $RUN/nginx/hostautoconfig.conf;
        location / { return 404; }
    }
}
EOF
check "nginx starts with sample-etc-mail/hostautoconfig-nginx.conf" nginx -c "$RUN/nginx/nginx.conf" -p "$RUN/nginx"
hm_wait_port $NGINX
through "http://127.0.0.1:$NGINX" nginx

mkdir -p "$RUN/apache" "$RUN/cgi-bin" "$RUN/cgi-rate"
cp "$AC" "$RUN/cgi-bin/hostautoconfig"	# (the build tree's path is nothing a web server should serve)
chown www-data "$RUN/cgi-rate" && chmod 700 "$RUN/cgi-rate"
sed "s/127\.0\.0\.1:8025/127.0.0.1:$DAEMON/" "$SAMPLE/hostautoconfig-apache.conf" >"$RUN/apache/proxy.conf"
sed -e "s|/usr/lib/cgi-bin/hostautoconfig|$RUN/cgi-bin/hostautoconfig|" -e "s|/var/lib/hostautoconfig/rate|$RUN/cgi-rate/rate|" \
	-e "s|/etc/mail/autoconfig.db|$M/autoconfig.db|" "$SAMPLE/hostautoconfig-apache-cgi.conf" >"$RUN/apache/cgi.conf"
mods=/usr/lib/apache2/modules
cat >"$RUN/apache/httpd.conf" <<EOF
ServerRoot $RUN/apache
ServerName localhost
Listen 127.0.0.1:$APACHE
Listen 127.0.0.1:$CGI
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule alias_module $mods/mod_alias.so
LoadModule env_module $mods/mod_env.so
LoadModule cgid_module $mods/mod_cgid.so
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_http_module $mods/mod_proxy_http.so
User www-data
Group www-data
PidFile $RUN/apache/httpd.pid
ErrorLog $RUN/apache/error.log
DefaultRuntimeDir $RUN/apache
ScriptSock $RUN/apache/cgid.sock
<Directory />
    Require all denied
</Directory>
<Directory $RUN/cgi-bin>
    Require all granted
</Directory>
<VirtualHost 127.0.0.1:$APACHE>
    Include $RUN/apache/proxy.conf
</VirtualHost>
<VirtualHost 127.0.0.1:$CGI>
    Include $RUN/apache/cgi.conf
</VirtualHost>
EOF
check "Apache starts with sample-etc-mail/hostautoconfig-apache{,-cgi}.conf" apache2 -f "$RUN/apache/httpd.conf" -k start
hm_wait_port $APACHE && hm_wait_port $CGI
through "http://127.0.0.1:$APACHE" "Apache proxy"
through "http://127.0.0.1:$CGI" "Apache CGI"

# ---- no escape from the rate limit ----
# Everything above came through the proxies from 127.0.0.1, which is the
# client they append; a client writing its own X-Forwarded-For stays that client.
spoofed() {
	local i code
	for i in $(seq 1 60); do
		code=$(get "http://127.0.0.1:$1/mail/config-v1.1.xml?emailaddress=info%40example.com" \
			-H "X-Forwarded-For: 203.0.113.$i")
		[ "$code" = 429 ] && { echo "429 after $i"; return; }
	done
	echo "no 429 in 60"
}
like "nginx: a client's own X-Forwarded-For does not escape its limit" "$(spoofed $NGINX)" '^429 after'
like "Apache proxy: the same" "$(spoofed $APACHE)" '^429 after [0-9]'
like "Apache CGI: the processes share the limit (the rate file)" "$(spoofed $CGI)" '^429 after'
check "the CGI program's rate file belongs to the web server's user alone" \
	test "$(stat -c '%U %a' "$RUN/cgi-rate/rate")" = "www-data 600"
unlike "nothing in Apache's error log from hostautoconfig" "$(grep -i hostautoconfig "$RUN/apache/error.log")" 'error'
done_testing
