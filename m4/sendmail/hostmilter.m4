divert(-1)
dnl
dnl  FEATURE(`hostmilter', `SOCKET')
dnl
dnl  Declares hostmilter as an input mail filter and appends the macros it
dnl  reads to confMILTER_MACROS_*: appends, because other filters need
dnl  theirs, and adds a macro only when the list lacks it.
dnl
dnl  SOCKET is where hostmilter listens, as the Socket key of
dnl  hostmilter.conf says; the default is unix:/run/hostmilter/hostmilter.sock
dnl
dnl  F=T: while hostmilter is down, Sendmail answers 4xx and accepts nothing
dnl  unfiltered.  Timeouts: connect 30s, send 1m, read 2m, and 10 minutes
dnl  to the end of a message, which leaves scanning its time.  To change
dnl  them, define confHOSTMILTER_TIMEOUTS before the FEATURE line.
dnl
dnl  Put the FEATURE line after any confMILTER_MACROS_ definitions of your
dnl  own; a later definition replaces what the FEATURE appended.
dnl
dnl  Routes: hostmapgen writes the mailers its mailertable names (one per
dnl  port other than 25, and one for domains held until ETRN) into
dnl  /etc/mail/hostmilter-mailers.m4; the FEATURE includes that file when it
dnl  exists.  Define confHOSTMILTER_MAILERS before the FEATURE line to name
dnl  another.  A change there needs sendmail.cf rebuilt, which hostmapgen's
dnl  --reload-cmd is for.
dnl
dnl  Part of hostmilter, GPL-2.0-or-later.
dnl
ifelse(defn(`_ARG_'), `', `define(`_HM_SOCKET_', `unix:/run/hostmilter/hostmilter.sock')',
	`define(`_HM_SOCKET_', defn(`_ARG_'))')
ifdef(`confHOSTMILTER_TIMEOUTS', `',
	`define(`confHOSTMILTER_TIMEOUTS', `C:30s;S:1m;R:2m;E:10m')')
dnl Square brackets quote here, so the backquotes and apostrophes inside
dnl the lists are plain characters.
changequote([, ])
dnl _HM_HAS_(LIST, NAME): 1 when NAME is an item of LIST (quotes and blanks ignored).
define([_HM_HAS_], [ifelse(index([;]translit([$1], [,`' ], [;])[;], [;$2;]), [-1], [0], [1])])
dnl _HM_APPEND_(MACRO, NAME): add NAME to the list MACRO unless it holds it.
define([_HM_APPEND_],
	[ifdef([$1],
		[ifelse(defn([$1]), [], [define([$1], [$2])],
			_HM_HAS_(defn([$1]), [$2]), [1], [],
			[define([$1], defn([$1])[, $2])])],
		[define([$1], [$2])])])
_HM_APPEND_([confMILTER_MACROS_CONNECT], [{daemon_name}])
_HM_APPEND_([confMILTER_MACROS_CONNECT], [{if_addr}])
_HM_APPEND_([confMILTER_MACROS_CONNECT], [{client_addr}])
_HM_APPEND_([confMILTER_MACROS_HELO], [{verify}])
_HM_APPEND_([confMILTER_MACROS_HELO], [{cert_subject}])
_HM_APPEND_([confMILTER_MACROS_HELO], [{cert_issuer}])
_HM_APPEND_([confMILTER_MACROS_ENVFROM], [i])
_HM_APPEND_([confMILTER_MACROS_ENVFROM], [{auth_authen}])
_HM_APPEND_([confMILTER_MACROS_ENVFROM], [{auth_type}])
_HM_APPEND_([confMILTER_MACROS_ENVFROM], [{mail_addr}])
_HM_APPEND_([confMILTER_MACROS_ENVRCPT], [{rcpt_addr}])
_HM_APPEND_([confMILTER_MACROS_ENVRCPT], [{rcpt_mailer}])
_HM_APPEND_([confMILTER_MACROS_EOM], [i])
changequote(`, ')
INPUT_MAIL_FILTER(`hostmilter', `S='defn(`_HM_SOCKET_')`, F=T, T='defn(`confHOSTMILTER_TIMEOUTS'))
ifdef(`confHOSTMILTER_MAILERS', `',
	`define(`confHOSTMILTER_MAILERS', `/etc/mail/hostmilter-mailers.m4')')
sinclude(confHOSTMILTER_MAILERS)
divert(-1)
