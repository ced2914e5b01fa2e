divert(-1)
dnl hostmilter-mailers.m4, written by hostmapgen from the panel export: do not edit.
dnl The mailer definitions that mailertable names for routes on other ports, or held
dnl for ETRN; the hostmilter feature of sendmail.mc reads this file.  After a change:
dnl m4 sendmail.mc, and restart sendmail.
MAILER_DEFINITIONS
Mhm2603,	P=[IPC], F=mDFMuXa, S=EnvFromSMTP/HdrFromSMTP, R=EnvToSMTP, E=\r\n, L=990,
		T=DNS/RFC822/SMTP,
		A=TCP $h 2603
divert(-1)
