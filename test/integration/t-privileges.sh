#!/bin/bash
# t-privileges - what hostmilter leaves an attacker on the same machine:
# the socket only root (Sendmail) and UserID may use, no way back to root,
# no capabilities, no_new_privs, a pid file that planted links cannot
# redirect, and a spool directory it checks before taking any mail.
. "$(dirname "$0")/lib.sh"

hm_rundir privileges
"$HOSTMAPGEN" -q -o "$RUN/maps" "$SAMPLE_EXPORT" 2>/dev/null
hm_milter_conf "SpoolDirectory $RUN/spool"
mkdir -p "$RUN/spool"
chown hostmilter "$RUN/spool"
chmod 700 "$RUN/spool"
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
is "socket mode 0600, owned by UserID" "$(stat -c '%a %U' "$sock")" "600 hostmilter"
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

sed -i "s|^UserID .*|UserID root|" "$RUN/hostmilter.conf"
out=$(start_fails)
is "UserID root: not started (78)" "$?" 78
done_testing
