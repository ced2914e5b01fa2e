# setup.sh - sourced by ./run-tests and ./demo: installs the Debian packages
# they need (without starting services), makes the host name qualified, and
# builds the programs outside the source tree.  Expects SRC, BUILD and LOGS.

# The last line is the legit corpus of t-legit.sh (make-legit.py): PDFs, photos, and public corpora
# of real mail (Python's email tests, enmime's test mail).
PACKAGES="build-essential autoconf automake m4 pkg-config libmilter-dev libdb-dev db-util
	libmagic-dev libclamav-dev libytnef0-dev libarchive-dev libpoppler-glib-dev libssl-dev libjansson-dev libgmime-3.0-dev libglib2.0-dev check
	sendmail sendmail-bin sendmail-cf sasl2-bin libsasl2-modules swaks libnet-ssleay-perl libio-socket-ssl-perl openssl miltertest jq python3 python3-jsonschema util-linux
	libmicrohttpd-dev clamav clamav-daemon clamav-testfiles spamassassin spamc rspamd
	clang libclang-rt-14-dev cppcheck clang-tidy valgrind dpkg-dev debhelper fakeroot curl iproute2 strace
	libhiredis-dev libseccomp-dev redis-server procmail p7zip-full zstd xz-utils poppler-utils
	libexpat1-dev libxml2-utils wrk nginx-light apache2
	gnupg libtasn1-doc shared-mime-info libjxl-testdata libpython3.11-testsuite golang-github-jhillyerd-enmime-dev zip
	libconvert-binhex-perl"

install_packages() {
	local missing=() p created=
	for p in $PACKAGES; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	say "installing ${missing[*]}"
	# Keep apt from starting sendmail and friends: the tests start their own.
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod +x /usr/sbin/policy-rc.d
		created=1
	fi
	apt-get -o DPkg::Lock::Timeout=900 update -q >"$LOGS/apt.log" 2>&1
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y -q "${missing[@]}" >>"$LOGS/apt.log" 2>&1
	local status=$?
	[ -n "$created" ] && rm -f /usr/sbin/policy-rc.d
	[ $status -eq 0 ] || { say "apt-get failed; see $LOGS/apt.log"; exit 1; }
}

# Sendmail sleeps a minute on lookups when the host name is not qualified.
qualify_hostname() {
	local h
	h=$(hostname)
	grep -Eq "^[0-9.]+[[:space:]]+$h\.[^[:space:]]+" /etc/hosts && return 0
	sed -i "/^127\.0\.0\.1[[:space:]]\+$h\$/d" /etc/hosts
	echo "127.0.1.1 $h.localdomain $h" >>/etc/hosts
}

build() {
	local dir=$1
	shift
	mkdir -p "$dir"
	(cd "$dir" && "$SRC/configure" -q "$@" && make -j"$(nproc)") >"$LOGS/build-$(basename "$dir").log" 2>&1 ||
		{ say "build in $dir failed; see $LOGS/build-$(basename "$dir").log"; tail -20 "$LOGS/build-$(basename "$dir").log"; exit 1; }
}

bootstrap() {
	# An in-tree build would stop the out-of-tree ones.
	[ -f "$SRC/Makefile" ] && make -C "$SRC" distclean >/dev/null 2>&1
	(cd "$SRC" && autoreconf -fi) >"$LOGS/autoreconf.log" 2>&1 ||
		{ say "autoreconf failed"; cat "$LOGS/autoreconf.log"; exit 1; }
}
