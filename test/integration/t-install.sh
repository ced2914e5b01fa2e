#!/bin/bash
# t-install - a build from source installs where the system looks (issue
# 25): configure found the system's sendmail-cf and systemd's unit
# directory, "make install" puts FEATURE(`hostmilter') into sendmail-cf's
# feature/ and the units into systemd's directory (whatever the prefix),
# the units name programs it installed, and hostmapgen's reload command,
# sendmail-reload, rebuilds sendmail.cf and reloads a real sendmail, or
# leaves sendmail.cf alone when m4 fails.
# Port 2596 (the sendmail sendmail-reload reloads).
. "$(dirname "$0")/lib.sh"

hm_rundir install
D=$RUN/dest
make -s -C "$HM_BUILD" install DESTDIR="$D" >"$RUN/install.log" 2>&1
is "make install DESTDIR=...: exit 0" "$?" 0
var() { sed -n "s/^$1 = //p" "$HM_BUILD/Makefile"; }
cfdir=$(var sendmailcfdir)
if [ -f /usr/share/sendmail/cf/m4/cf.m4 ]; then
	is "configure found Debian's sendmail-cf" "$cfdir" /usr/share/sendmail/cf
fi
check "FEATURE(\`hostmilter') installed into its feature/ directory" test -f "$D$cfdir/feature/hostmilter.m4"
unitdir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null)
if [ -n "$unitdir" ]; then
	is "configure found systemd's unit directory" "$(var systemdsystemunitdir)" "$unitdir"
	for u in hostmilter.service hostmapgen.service hostmapgen.path; do
		check "$u installed there" test -f "$D$unitdir/$u"
	done
	is "no @name@ left in them" "$(cat "$D$unitdir"/host* | grep -c '@[a-z_]*@')" 0
	# Every program a unit runs is one make install put there.
	for cmd in $(sed -n 's/^Exec[A-Za-z]*=\([^ ]*\).*/\1/p' "$D$unitdir"/*.service | grep -v '^/bin/kill$' | sort -u) \
		$(sed -n 's/.*--reload-cmd \([^ ]*\).*/\1/p' "$D$unitdir/hostmapgen.service"); do
		check "... $cmd is installed" test -x "$D$cmd"
	done
	like "hostmapgen.service writes the layout configure was given" "$(cat "$D$unitdir/hostmapgen.service")" \
		"--layout $(var map_layout) "
else
	ok "the units # SKIP no systemd.pc here"
fi
reload=$(find "$D" -path '*/hostmilter/sendmail-reload' | head -1)
check "sendmail-reload installed in LIBEXECDIR/hostmilter, executable" test -x "$reload"

# ---- sendmail-reload on a real sendmail: class w read again, sendmail.cf rebuilt ----
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null
hm_sendmail_config 2596
/usr/sbin/sendmail -C "$RUN/test.cf" -bd -q30m	# a full path: SIGHUP re-executes it
check "a sendmail runs on 127.0.0.1:2596" hm_wait_port 2596
knows() { hm_smtp_reply 127.0.0.9 "postmaster@$1" | grep -q '^250 '; }
echo new.example >>"$RUN/maps/sendmail.cw"
like "before: it does not know new.example" "$(hm_smtp_reply 127.0.0.9 postmaster@new.example)" '^550 5\.7\.1'
reload_it() { SENDMAIL_MC=$RUN/test.mc SENDMAIL_CF=$RUN/test.cf SENDMAIL_PID=$RUN/sendmail.pid "$reload" 2>&1; }
out=$(reload_it)
is "sendmail-reload: exit 0" "$?" 0
is "... sendmail.cf rebuilt as Debian's Makefile makes it, sendmail.mc appended" \
	"$(grep -c "^### $RUN/test.mc ###\$" "$RUN/test.cf")" 1
check "... and sendmail reloaded: it knows new.example" hm_wait 60 knows new.example
is "... no file of its own left" "$(ls -A "$RUN" | grep -c 'hostmilter-new\|hostmilter-errors')" 0
sum=$(sha256sum <"$RUN/test.cf")
echo "include(\`$RUN/no-such-file.m4')dnl" >>"$RUN/test.mc"
out=$(reload_it)
is "m4 failing: exit 1 (hostmapgen keeps the reload due)" "$?" 1
like "... saying why" "$out" "m4 $RUN/test.mc failed; $RUN/test.cf left as it was"
is "... sendmail.cf untouched" "$(sha256sum <"$RUN/test.cf")" "$sum"
is "... no file of its own left" "$(ls -A "$RUN" | grep -c 'hostmilter-new\|hostmilter-errors')" 0
done_testing
