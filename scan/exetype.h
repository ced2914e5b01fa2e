/*
 * exetype - executables recognized by their structure.
 *
 * Promise: a pure function over the first bytes of a file that names the
 * executable formats an operating system runs, whatever else the bytes
 * also are: libmagic stops at its first matching rule, so a PE whose
 * Rich header holds a valid tar checksum is "application/x-tar" to it,
 * and one with an ISO 9660 descriptor in its overlay is an ISO image, yet
 * Windows runs both.  The walk (attach.c) remembers this type beside
 * libmagic's, and a policy that blocks either blocks the part.
 *
 * Recognized, with the names libmagic gives them:
 * - PE and NE/LE/LX ("MZ", and at e_lfanew "PE\0\0", "NE", "LE" or "LX"):
 *   application/x-dosexec;
 * - ELF ("\x7fELF", class 1 or 2): application/x-executable;
 * - Mach-O, thin (feedface/feedfacf, either byte order) and universal
 *   (cafebabe with a plausible architecture count, which a Java class
 *   file's version never is): application/x-mach-binary;
 * - a script that names its interpreter ("#!/"): text/x-shellscript.
 */
#ifndef HM_EXETYPE_H
#define HM_EXETYPE_H

#include <stddef.h>

/* The executable type of the bytes, or NULL when they are none of the above. */
const char *exetype_of(const unsigned char *head, size_t len);

#endif
