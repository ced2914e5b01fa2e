/*
 * attach - the true type of every part of a message, or why not.
 *
 * Promise: GMime walks every leaf part, nested messages included, and
 * decodes its content transfer encoding; libmagic names the type from the
 * first ATTACH_MAGIC_BYTES of the decoded bytes, whatever the part's name
 * or declared type says.  What a mail reader would open is opened too:
 * a part whose content is a message (message/rfc822 sent base64-encoded,
 * or any part that starts like a header block) is parsed and walked, and
 * uuencoded blocks inside text parts are decoded and typed.
 *
 * Whatever the walk does not inspect marks the report incomplete, with
 * the reason: more than ATTACH_PARTS_MAX parts, nesting deeper than
 * ATTACH_DEPTH_MAX, more than ATTACH_TYPES_MAX distinct types, a message
 * GMime cannot parse or finds ambiguous (GMime's GMIME_CRIT_* warnings:
 * another reader may see other parts), a part that cannot be decoded,
 * libmagic failing, and content in a container this walk does not open
 * (TNEF/winmail.dat, BinHex, S/MIME signed-data, message/partial).  A
 * recipient whose rules block types never gets "clean" from an
 * incomplete report (verdict.h).  Encrypted content (S/MIME
 * enveloped-data, PGP, password-protected archives) cannot be opened by
 * anyone but its recipient; it has the true type of its container, which
 * a policy may block.
 *
 * The message is read from the spool as a stream, so memory stays
 * bounded by ATTACH_MAGIC_BYTES and GMime's headers, not by the message.
 * Each thread keeps its libmagic cookies and its buffer (a cookie's result
 * buffer is not thread-safe), made on first use and freed when the
 * thread ends: nothing large is allocated per message.
 */
#ifndef HM_ATTACH_H
#define HM_ATTACH_H

#include <stdbool.h>
#include <stddef.h>

#include "policy.h"
#include "spool.h"

#define ATTACH_MAGIC_BYTES (256 * 1024)
#define ATTACH_PARTS_MAX 1000	/* leaf parts and uuencoded blocks looked at per message */
#define ATTACH_DEPTH_MAX 32	/* multiparts and messages inside each other */
#define ATTACH_TYPES_MAX 64	/* distinct types remembered */

struct attach_type {
	char type[POLICY_TYPE_LEN];	/* "application/x-dosexec" */
	char filename[128];	/* of the first part of that type, "" when it has none */
};

struct attach_report {
	unsigned nparts;
	unsigned ntypes;
	struct attach_type types[ATTACH_TYPES_MAX];
	bool incomplete;	/* something was not inspected; why says what */
	char why[160];
};

/* The types the message's recipients block, all of them: libmagic's
 * rules are chosen from them (magicset.h).  NULL or none: every rule. */
struct attach_want {
	const char *const *types;
	size_t ntypes;
	unsigned types_max;	/* 0: ATTACH_TYPES_MAX; lower for a test that crosses it */
};

/* Once per process, before threads: GMime's global state. */
void attach_init(void);
void attach_shutdown(void);
/*
 * Fills report.  0 when every part was looked at (the report may still be
 * incomplete: a container not opened, a cap crossed); -1 with err when the
 * walk could not run at all (spool unreadable, libmagic not loaded), in
 * which case the report is incomplete too.
 */
int attach_scan(const struct spool *spool, const struct attach_want *want, struct attach_report *report, char *err,
		size_t errlen);

/*
 * Whether a type libmagic found is the type a policy blocks.  Names
 * libmagic has used for one kind of file count as one: 5.44 calls a PE
 * file application/vnd.microsoft.portable-executable where older versions
 * and every panel say application/x-dosexec, so a libmagic upgrade cannot
 * unblock executables.  Case-insensitive.
 */
bool attach_same_type(const char *found, const char *blocked);
/* The names of type's family, type itself first, NULL-terminated; n at most. */
size_t attach_type_family(const char *type, const char **names, size_t n);

#endif
