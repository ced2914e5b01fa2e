/*
 * exetype - executables by structure; see exetype.h.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "exetype.h"

static uint32_t
exetype_le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t
exetype_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* "MZ" and a Windows or OS/2 header where e_lfanew points. */
static bool
exetype_windows(const unsigned char *b, size_t len)
{
	uint32_t at;

	if (len < 64 || b[0] != 'M' || b[1] != 'Z')
		return false;
	at = exetype_le32(b + 0x3c);
	if (at < 64 || at > len - 4)
		return false;
	return memcmp(b + at, "PE\0\0", 4) == 0 || memcmp(b + at, "NE", 2) == 0 || memcmp(b + at, "LE", 2) == 0
	       || memcmp(b + at, "LX", 2) == 0;
}

static bool
exetype_mach(const unsigned char *b, size_t len)
{
	uint32_t magic;

	if (len < 8)
		return false;
	magic = exetype_be32(b);
	if (magic == 0xfeedface || magic == 0xfeedfacf || magic == 0xcefaedfe || magic == 0xcffaedfe)
		return true;
	/* Universal binaries list a few architectures; a Java class file has its version (45 and up) there. */
	return magic == 0xcafebabe && exetype_be32(b + 4) > 0 && exetype_be32(b + 4) < 20;
}

const char *
exetype_of(const unsigned char *head, size_t len)
{
	if (exetype_windows(head, len))
		return "application/x-dosexec";
	if (len >= 16 && memcmp(head, "\x7f" "ELF", 4) == 0 && (head[4] == 1 || head[4] == 2))
		return "application/x-executable";
	if (exetype_mach(head, len))
		return "application/x-mach-binary";
	if (len >= 3 && memcmp(head, "#!/", 3) == 0)
		return "text/x-shellscript";
	return NULL;
}
