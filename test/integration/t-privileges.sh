#!/bin/bash
# t-privileges - what hostmilter leaves an attacker on the same machine:
# the socket only root (Sendmail) may use, made 0600 at its creation in a
# directory nobody else may write, no inet socket off loopback unless
# allowed, a policy database its own user cannot rewrite (at start and at
# every reload), no way back to root, no capabilities, no_new_privs, a pid
# file that planted links cannot redirect, and a spool directory it
# checks before taking any mail.  Started outside systemd, it makes its
# missing runtime directory under /run itself, root's and 0755 (issue 25);
# -n only names it.
. "$(dirname "$0")/lib.sh"

hm_rundir privileges
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null
hm_milter_conf "SpoolDirectory $RUN/spool"
hm_spool_dir
PIDFILE=$RUN/milter/hostmilter.pid

# Links planted where the pid file goes, by someone who may write that directory.
echo "precious" >"$RUN/precious"
chmod 600 "$RUN/precious"
ln "$RUN/precious" "$PIDFILE"
check "hostmilter starts over a hard link at its pid file" hm_milter_start
is "... the linked file is untouched" "$(cat "$RUN/precious")" precious
is "... the pid file is a file of its own with the pid" "$(stat -c %h "$PIDFILE") $(cat "$PIDFILE")" "1 $HM_MILTER_PID"

status=/proc/$HM_MILTER_PID/status
uid=$(id -u hostmilter) gid=$(id -g hostmilter)
is "real, effective, saved and file-system uid are UserID's" "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$status")" "$uid $uid $uid $uid"
is "... and so are the gids" "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$status")" "$gid $gid $gid $gid"
is "no supplementary group but its own" "$(awk '/^Groups:/ { $1 = ""; print substr($0, 2) }' "$status")" "$gid"
is "no capability, not even a permitted one" "$(awk '/^Cap(Inh|Prm|Eff|Amb):/ { print $2 }' "$status" | sort -u)" 0000000000000000
is "no_new_privs is set" "$(awk '/^NoNewPrivs:/ { print $2 }' "$status")" 1

sock=$RUN/milter/hostmilter.sock
is "socket mode 0600 from its creation, root's (no chmod or chown by name after bind)" \
	"$(stat -c '%a %U' "$sock")" "600 root"
connect_as() {
	runuser -u "$1" -- python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); print("connected")
except OSError as e:
    print("refused:", e.strerror)' "$sock" 2>&1
}
like "an unprivileged user cannot connect to the socket" "$(connect_as nobody)" '^refused: Permission denied'
like "root (as Sendmail runs) can" "$(python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print("connected")' "$sock")" '^connected'
hm_milter_stop

ln -s "$RUN/precious" "$PIDFILE.new"
mv -f "$PIDFILE.new" "$PIDFILE"
check "hostmilter starts over a symbolic link at its pid file" hm_milter_start
is "... the link's target is untouched" "$(cat "$RUN/precious")" precious
check "... and the pid file is no link" test ! -L "$PIDFILE"
hm_milter_stop

start_fails() { timeout 30 "$HOSTMILTER" -f -c "$RUN/hostmilter.conf" 2>&1; }
chown root "$RUN/spool"
out=$(start_fails)
is "spool directory UserID cannot write: not started (78)" "$?" 78
like "... and it says so" "$out" "SpoolDirectory $RUN/spool: cannot write there as hostmilter"
chown hostmilter "$RUN/spool"
chmod 777 "$RUN/spool"
out=$(start_fails)
is "spool directory writable by all without the sticky bit: not started (78)" "$?" 78
like "... and it says so" "$out" 'writable by others without the sticky bit'
chmod 1777 "$RUN/spool"
check "with the sticky bit (as /var/tmp) it starts" hm_milter_start
hm_milter_stop

# ---- the socket's directory: nobody but root and UserID may write it ----
# Whoever may write there could swap the socket's name between bind and use.
chmod 1777 "$RUN/milter"
out=$(start_fails)
is "socket directory writable by every user (even sticky): not started (78)" "$?" 78
like "... and it says so" "$out" "socket directory $RUN/milter is writable by every user"
chmod 755 "$RUN/milter"
chown nobody "$RUN/milter"
out=$(start_fails)
is "socket directory of another user: not started (78)" "$?" 78
like "... and it says so" "$out" 'belongs to neither root nor UserID'
chown hostmilter "$RUN/milter"
mkdir -m 755 "$RUN/real-milter"
ln -s "$RUN/real-milter" "$RUN/milter-link"
sed "s|^Socket .*|Socket unix:$RUN/milter-link/hostmilter.sock|" "$RUN/hostmilter.conf" >"$RUN/link.conf"
out=$(timeout 30 "$HOSTMILTER" -f -c "$RUN/link.conf" 2>&1)
is "socket directory named through a symbolic link: not started (78)" "$?" 78
like "... and it says so" "$out" 'is a symbolic link'
mkdir -m 777 "$RUN/open"
mkdir -m 755 "$RUN/open/milter"
sed "s|^Socket .*|Socket unix:$RUN/open/milter/hostmilter.sock|" "$RUN/hostmilter.conf" >"$RUN/open.conf"
out=$(timeout 30 "$HOSTMILTER" -n -c "$RUN/open.conf" 2>&1)
is "a parent anyone may rename it in: -n refuses it too (78)" "$?" 78
like "... and says which" "$out" "parent $RUN/open is writable by every user, without the sticky bit"

# ---- an inet socket: loopback unless the configuration allows more ----
sed "s|^Socket .*|Socket inet:2570|" "$RUN/hostmilter.conf" >"$RUN/inet.conf"
out=$(timeout 30 "$HOSTMILTER" -n -c "$RUN/inet.conf" 2>&1)
is "Socket inet:PORT (every interface): refused (78)" "$?" 78
like "... the milter protocol has no authentication" "$out" 'listens beyond loopback.*AllowRemoteSocket yes'
sed "s|^Socket .*|Socket inet6:2570@[::]|" "$RUN/hostmilter.conf" >"$RUN/inet.conf"
out=$(timeout 30 "$HOSTMILTER" -n -c "$RUN/inet.conf" 2>&1)
is "Socket inet6:PORT@[::]: refused (78)" "$?" 78
sed "s|^Socket .*|Socket inet:2570@127.0.0.1|" "$RUN/hostmilter.conf" >"$RUN/inet.conf"
check "Socket inet:PORT@127.0.0.1 starts" hm_milter_start "$RUN/inet.conf"
is "... listening on loopback only" "$(ss -Hltn 'sport = :2570' | awk '{ print $4 }')" "127.0.0.1:2570"
hm_milter_stop
sed "s|^Socket .*|Socket inet:2570@0.0.0.0\nAllowRemoteSocket yes|" "$RUN/hostmilter.conf" >"$RUN/inet.conf"
before=$(hm_log_count 'listens beyond loopback')
check "Socket inet:PORT@0.0.0.0 with AllowRemoteSocket yes starts" hm_milter_start "$RUN/inet.conf"
is "... on every interface" "$(ss -Hltn 'sport = :2570' | awk '{ print $4 }')" "0.0.0.0:2570"
check "... and warns of it" hm_log_more 'warning: Socket inet:2570@0\.0\.0\.0 listens beyond loopback' "$before" ""
hm_milter_stop

# ---- the policy database: never writable by UserID ----
db=$RUN/maps/hostmilter.db
chown hostmilter "$db"
out=$(start_fails)
is "policy database owned by UserID: not started (78)" "$?" 78
like "... and it says why" "$out" "PolicyDB $db belongs to UserID"
chown root "$db"
chmod 666 "$db"
out=$(start_fails)
is "policy database writable by every user: not started (78)" "$?" 78
chmod 644 "$db"
chmod 777 "$RUN/maps"
out=$(start_fails)
is "its directory writable by every user: not started (78)" "$?" 78
like "... and it says so" "$out" "PolicyDB's directory $RUN/maps is writable by every user"
chmod 755 "$RUN/maps"
chown hostmilter "$RUN/maps"
out=$(start_fails)
is "its directory owned by UserID: not started (78)" "$?" 78
chown root "$RUN/maps"

# At reload: a new database UserID could have written is refused, the old policy kept.
check "hostmilter starts on a safe database" hm_milter_start
before=$(hm_log_count 'keeping the previous one')
chown hostmilter "$db"	# the next connection sees the change (ctime) and checks again
out=$("$HM_BUILD/test/bench/milter-load" -s "unix:$sock" -c 1 -n 1 -m 1)
like "a database chowned to UserID under a running daemon: mail still decided" "$out" 'messages=1 ok=1'
check "... by the previous policy, and the log says why" \
	hm_wait_log 'cannot be read, keeping the previous one: PolicyDB .* belongs to UserID' "$before"
before=$(hm_log_count 'reload refused')
kill -HUP "$HM_MILTER_PID"
check "SIGHUP with that database: the reload is refused" hm_wait_log 'reload refused, keeping the running policy: PolicyDB' "$before"
chown root "$db"
before=$(hm_log_count 'policy loaded')
kill -HUP "$HM_MILTER_PID"
check "... made root's again, SIGHUP loads it" hm_wait_log 'policy loaded' "$before"
hm_milter_stop

# ---- the runtime directory: made under /run when missing, as the unit's RuntimeDirectory= ----
rundir=/run/hostmilter-test-privileges
rm -rf "$rundir"
trap 'rm -rf "$rundir"; hm_cleanup' EXIT
sed -e "s|^Socket .*|Socket unix:$rundir/hostmilter.sock|" -e "s|^PidFile .*|PidFile $rundir/hostmilter.pid|" \
	-e "s|^ControlSocket .*|ControlSocket unix:$rundir/control.sock|" "$RUN/hostmilter.conf" >"$RUN/run.conf"
out=$(timeout 30 "$HOSTMILTER" -n -c "$RUN/run.conf" 2>&1)
is "-n with the runtime directory missing: exit 0" "$?" 0
like "... saying a start makes it" "$out" "$rundir is missing; a start makes it \\(root's, mode 0755\\)"
check "... and making nothing" test ! -e "$rundir"
check "a start outside systemd makes it" hm_milter_start "$RUN/run.conf"
is "... root's, mode 0755" "$(stat -c '%U:%G %a' "$rundir")" "root:root 755"
is "... with the socket, the control socket and the pid file in it" \
	"$(cd "$rundir" && ls | LC_ALL=C sort | paste -sd' ')" "control.sock hostmilter.pid hostmilter.sock"
hm_milter_stop
sed -e "s|^Socket .*|Socket unix:$RUN/missing/hostmilter.sock|" "$RUN/hostmilter.conf" >"$RUN/missing.conf"
out=$(timeout 30 "$HOSTMILTER" -f -c "$RUN/missing.conf" 2>&1)
is "a missing socket directory outside /run: not made, not started (78)" "$?" 78
check "... and not made" test ! -e "$RUN/missing"

sed -i "s|^UserID .*|UserID root|" "$RUN/hostmilter.conf"
out=$(start_fails)
is "UserID root: not started (78)" "$?" 78
done_testing
