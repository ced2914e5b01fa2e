#!/bin/bash
# t-deb - the Debian package: dpkg-buildpackage builds it from a copy of
# the source tree, dpkg installs it, and what an admin gets is checked: the
# programs, man pages and FEATURE where Debian's sendmail-cf finds it, the
# hostmilter user and its spool, a sandboxed systemd unit that waits for
# the policy database (enabled), the panel's hook (hostmapgen.service and
# hostmapgen.path, with Debian's layout and the reload command that
# rebuilds sendmail.cf; not enabled), Debian's daemon names in
# hostmilter.conf, nothing started, and hostmilter -n passing on the sample
# configuration.  Purged at the end.  t-debian-recipe runs README.Debian
# with the package (and holds this test's lock).
. "$(dirname "$0")/lib.sh"

hm_rundir deb
command -v dpkg-buildpackage >/dev/null && dpkg-query -W debhelper >/dev/null 2>&1 ||
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q dpkg-dev debhelper fakeroot >"$RUN/apt.log" 2>&1
mkdir -p "$RUN/build/hostmilter"
tar -C "$HM_SRC" --exclude=./_build --exclude=./.git --exclude=./autom4te.cache --exclude=./fuzz-build -cf - . |
	tar -C "$RUN/build/hostmilter" -xf -
(cd "$RUN/build/hostmilter" && { [ ! -f Makefile ] || make distclean; } >/dev/null 2>&1 &&
	DEB_BUILD_OPTIONS=nocheck dpkg-buildpackage -us -uc -b) >"$RUN/build.log" 2>&1
is "dpkg-buildpackage -us -uc -b builds" "$?" 0
deb=$(ls "$RUN"/build/hostmilter_*_*.deb 2>/dev/null | head -1)
check "... a hostmilter .deb" test -n "$deb"
[ -n "$deb" ] || { tail -30 "$RUN/build.log" | sed 's/^/# /'; done_testing; exit 1; }

dpkg --purge hostmilter >/dev/null 2>&1
printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d.hostmilter-test
[ -e /usr/sbin/policy-rc.d ] || { cp /usr/sbin/policy-rc.d.hostmilter-test /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; made_policy=1; }
rm -f /usr/sbin/policy-rc.d.hostmilter-test
# The package's daemons only: other checkouts' tests run their own hostmilters meanwhile.
package_daemons() {
	local p
	for p in $(pgrep -x hostmilter); do
		[ "$(readlink "/proc/$p/exe" 2>/dev/null)" = /usr/sbin/hostmilter ] && echo "$p"
	done
}
package_daemons >"$RUN/before.pids"
dpkg -i "$deb" >"$RUN/install.log" 2>&1
is "dpkg -i installs it" "$?" 0
[ -n "${made_policy:-}" ] && rm -f /usr/sbin/policy-rc.d
purge() { dpkg --purge hostmilter >/dev/null 2>&1; }
trap 'purge; hm_cleanup' EXIT

for f in /usr/sbin/hostmilter /usr/sbin/hostmapgen /usr/bin/hostscan /usr/share/man/man8/hostmilter.8.gz \
	/usr/share/man/man8/hostmapgen.8.gz /usr/share/man/man5/hostmilter.conf.5.gz \
	/usr/share/man/man5/hostmapgen-export.5.gz /usr/share/man/man1/hostscan.1.gz \
	/usr/share/sendmail/cf/feature/hostmilter.m4 /etc/mail/hostmilter.conf /usr/libexec/hostmilter/sendmail-reload \
	/lib/systemd/system/hostmilter.service /lib/systemd/system/hostmapgen.service \
	/lib/systemd/system/hostmapgen.path /usr/share/doc/hostmilter/README.Debian.gz; do
	check "installs $f" test -e "$f"
done
like "hostmilter.conf is a conffile" "$(dpkg-query -W -f='${Conffiles}' hostmilter)" '/etc/mail/hostmilter\.conf'
check "the hostmilter user exists" bash -c "getent passwd hostmilter >/dev/null"
is "its spool: /var/spool/hostmilter, 0700, hostmilter's" "$(stat -c '%a %U' /var/spool/hostmilter)" "700 hostmilter"
unit=/lib/systemd/system/hostmilter.service
for d in ProtectSystem=strict PrivateTmp=yes RestrictAddressFamilies= NoNewPrivileges=yes CapabilityBoundingSet= \
	ConditionPathExists=/etc/mail/hostmilter.db Type=forking PIDFile=/run/hostmilter/hostmilter.pid \
	LimitNOFILE=65536; do
	like "the unit has $d" "$(cat "$unit")" "^$d"
done
# Stopping must wait longer than the configuration's DrainTimeout, or messages under way are cut off.
stop=$(sed -n 's/^TimeoutStopSec=//p' "$unit")
drain=$(awk '$1 == "DrainTimeout" { print $2 }' /etc/mail/hostmilter.conf)
check "the unit waits longer for a stop (${stop:-none} s) than DrainTimeout (${drain:-?} s)" \
	test "${stop:-0}" -gt "${drain:-300}"
unlike_cap() { ! grep -q "^CapabilityBoundingSet=.*$1" "$unit"; }
check "... and no longer grants CAP_CHOWN (the socket is never chowned)" unlike_cap CAP_CHOWN
if command -v systemd-analyze >/dev/null; then
	out=$(systemd-analyze verify "$unit" 2>&1 | grep -v 'sendmail.service\|network.target')
	is "systemd-analyze verify finds nothing wrong" "$out" ""
	out=$(systemd-analyze verify /lib/systemd/system/hostmapgen.path /lib/systemd/system/hostmapgen.service 2>&1)
	is "systemd-analyze verify: the panel's hook, hostmapgen.path and .service" "$out" ""
fi
hook=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/hostmapgen.service)
is "hostmapgen.service: Debian's layout, the reload command, the export in /var/lib/hostmilter" "$hook" \
	"/usr/sbin/hostmapgen --layout debian --reload-cmd /usr/libexec/hostmilter/sendmail-reload /var/lib/hostmilter/export.json"
like "hostmapgen.path watches that export" "$(cat /lib/systemd/system/hostmapgen.path)" \
	'^PathChanged=/var/lib/hostmilter/export\.json$'
check "hostmilter.service is enabled" test -L /etc/systemd/system/multi-user.target.wants/hostmilter.service
check "... hostmapgen.path is not (the admin enables it after the first export)" \
	test ! -e /etc/systemd/system/multi-user.target.wants/hostmapgen.path
is "the export's directory: /var/lib/hostmilter, root's, 0750" "$(stat -c '%a %U' /var/lib/hostmilter)" "750 root"
# The daemon names of Debian's own sendmail.mc: each submission daemon (MSP-*) requires AUTH.
msp=$(sed -n "s/.*DAEMON_OPTIONS(\`[^']*Name=\(MSP-v[46]\).*/\1/p" /usr/share/sendmail/cf/debian/sendmail.mc 2>/dev/null |
	LC_ALL=C sort -u | paste -sd' ')
is "AuthRequiredDaemons names the submission daemons of Debian's sendmail.mc (${msp:-none found})" \
	"$(awk '$1 == "AuthRequiredDaemons" { $1 = ""; print substr($0, 2) }' /etc/mail/hostmilter.conf)" "MSP-v4 MSP-v6"
check "... which Debian's sendmail.mc has" test "$msp" = "MSP-v4 MSP-v6"
is "installing started nothing" "$(package_daemons)" "$(cat "$RUN/before.pids")"

# The FEATURE as sendmail-cf finds it, from the example sendmail.mc.
m4 /usr/share/doc/hostmilter/examples/sendmail.mc >"$RUN/sendmail.cf" 2>"$RUN/m4.err"
like "the example sendmail.mc builds with the installed FEATURE" "$(grep '^Xhostmilter' "$RUN/sendmail.cf")" \
	'S=unix:/run/hostmilter/hostmilter.sock'

# hostmilter -n on the sample configuration, with a policy database from the example export.
# -n checks the socket's directory as a start would: the unit's RuntimeDirectory, made here as systemd would.
if [ ! -d /run/hostmilter ]; then
	install -d -m 0755 /run/hostmilter
	trap 'purge; rmdir /run/hostmilter 2>/dev/null; hm_cleanup' EXIT
fi
/usr/sbin/hostmapgen -q -o "$RUN/maps" /usr/share/doc/hostmilter/examples/panel-export.json 2>/dev/null
hm_clamav_db "$RUN/clamdb"
sed -e "s|^PolicyDB .*|PolicyDB $RUN/maps/hostmilter.db|" -e "s|^ClamAVDatabase .*|ClamAVDatabase $RUN/clamdb|" \
	/etc/mail/hostmilter.conf >"$RUN/hostmilter.conf"
out=$(/usr/sbin/hostmilter -n -c "$RUN/hostmilter.conf" 2>&1)
is "the installed hostmilter -n on the installed configuration: exit 0" "$?" 0
like "... says so (libclamav in process)" "$out" 'configuration, policy database and 1 scanner OK'
# ... and on the hostNET example (a clamd cluster and a spamd node; -n opens no connection).
sed -e "s|^PolicyDB .*|PolicyDB $RUN/maps/hostmilter.db|" /usr/share/doc/hostmilter/examples/hostmilter.conf \
	>"$RUN/example.conf"
out=$(/usr/sbin/hostmilter -n -c "$RUN/example.conf" 2>&1)
is "the installed hostmilter -n on the sample configuration: exit 0" "$?" 0
like "... says so (clamd and spamd clusters)" "$out" 'configuration, policy database and 2 scanners OK'
check "the example's generated files are installed" test -s /usr/share/doc/hostmilter/examples/generated/virtmaps
check "... and its README" test -s /usr/share/doc/hostmilter/examples/README.md

purge
check "purged: the spool is gone" test ! -e /var/spool/hostmilter
check "... and the configuration" test ! -e /etc/mail/hostmilter.conf
check "... and the export's directory" test ! -e /var/lib/hostmilter
check "... and the unit's link" test ! -e /etc/systemd/system/multi-user.target.wants/hostmilter.service
done_testing
