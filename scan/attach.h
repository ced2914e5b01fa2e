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
 * Containers of everyday mail are opened: multipart/signed (its content
 * part is walked like any other), S/MIME signed-data (its content taken
 * out with OpenSSL's CMS reader and walked; a detached signature holds
 * none), TNEF winmail.dat (its attachments and its RTF body taken out
 * with libytnef and walked), BinHex 4.0 (its forks, decoded here: no
 * library in Debian reads it), message/rfc822 in any transfer encoding.
 *
 * What the walk does not inspect is reported in one of three classes, so
 * that the verdict can answer each as it deserves (verdict.h):
 * - incomplete, a deterministic reason the next try meets again: more
 *   than ATTACH_PARTS_MAX parts, nesting deeper than ATTACH_DEPTH_MAX,
 *   more than ATTACH_TYPES_MAX distinct types, a message GMime cannot
 *   parse, libmagic failing on a part, S/MIME content OpenSSL cannot
 *   read, TNEF libytnef cannot read, and content in a container this
 *   walk does not open (message/partial);
 * - failed, a transient reason (the spool cannot be read or mapped,
 *   libmagic's database cannot be loaded, out of memory);
 * - encrypted: PGP/MIME (multipart/encrypted), inline PGP messages,
 *   S/MIME enveloped-data.  Nobody but the recipient can open them; the
 *   container still has its true type, which a policy may block.
 * Ambiguity alone is no reason to refuse: where GMime warns that readers
 * could disagree (conflicting headers, a header block without its blank
 * line), its reading is walked and libclamav reads the raw message its
 * own way; a part whose Content-Type headers (or the types one of them
 * names) differ is walked under each of them too, since readers take the
 * first header or the last; a multipart without a boundary parameter, which GMime leaves
 * unsplit, is also split at its first "--" line, as lenient readers do,
 * and that reading walked too.
 *
 * The message is read from the spool in place (its memory, or its file
 * mapped read-only), never copied whole; the parts of a signed-data
 * container are decoded into memory, which the message's size bounds.
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
#define ATTACH_MEMBERS_MAX 20000	/* archive members and embedded files walked per message */

struct attach_type {
	char type[POLICY_TYPE_LEN];	/* "application/x-dosexec" */
	char filename[128];	/* of the first part of that type, "" when it has none */
};

struct attach_report {
	unsigned nparts;
	unsigned ntypes;
	bool incomplete;	/* something was not inspected, for good; why says what */
	char why[160];
	bool failed;		/* the walk could not finish now: the next try may */
	char failed_why[160];
	bool encrypted;		/* content only its recipient can decrypt */
	char encrypted_why[160];
	struct attach_type types[ATTACH_TYPES_MAX];	/* last: a scan worker sends the first ntypes only */
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
 * which case the report says failed.
 */
int attach_scan(const struct spool *spool, const struct attach_want *want, struct attach_report *report, char *err,
		size_t errlen);

/*
 * Every blob the walk decodes, whole, handed to a scanner so that it reads
 * what the reader will see (eng_clamav gives them to libclamav): each
 * reading of each leaf part (GMime's and the lenient ones), uuencoded and
 * yEnc blocks, archive members (all of them, read whole), PDF embedded
 * files, TNEF attachments, S/MIME content, embedded messages' parts.  No
 * type is named (libmagic is not asked).  blob returns false to stop the
 * walk.  The report is incomplete only when a cap left decoded bytes
 * unseen (too many parts or members, too deep, a member larger than the
 * walk reads whole) -- containers the walk does not open the scanner
 * reads from the raw message; failed as attach_scan says.  Each blob is
 * held in memory while blob runs: a decoded part (the message's size
 * bounds it), or a member or block (ATTACH_MEMBER_MAX bounds it).
 */
struct attach_feed {
	bool (*blob)(void *arg, const unsigned char *data, size_t len, const char *name);
	void *arg;
};

int attach_each_blob(const struct spool *spool, const struct attach_feed *feed, struct attach_report *report,
		     char *err, size_t errlen);

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
