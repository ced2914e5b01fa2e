/*
 * pdfparts - embedded files of a PDF with poppler-glib; see pdfparts.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <poppler.h>

#include "pdfparts.h"

bool
pdfparts_is_pdf(const unsigned char *head, size_t len)
{
	return memmem(head, len < 1024 ? len : 1024, "%PDF-", 5) != NULL;
}

struct pdfparts_sink {
	GByteArray *bytes;
	size_t max;
	bool too_large;
};

static gboolean
pdfparts_save(const gchar *buf, gsize count, gpointer data, GError **error)
{
	struct pdfparts_sink *sink = data;

	if (sink->bytes->len + count > sink->max) {
		sink->too_large = true;
		g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE, "embedded file too large");
		return FALSE;
	}
	g_byte_array_append(sink->bytes, (const guint8 *)buf, (guint)count);
	return TRUE;
}

/* Every attachment of an open document; the result for the ones that could not be taken out. */
static enum pdfparts_result
pdfparts_attachments(PopplerDocument *doc, size_t max, bool (*fn)(void *, const char *, const unsigned char *, size_t),
		     void *arg, char *why, size_t whylen)
{
	GList *list = poppler_document_get_attachments(doc);
	enum pdfparts_result result = PDFPARTS_DONE;

	for (GList *l = list; l && result == PDFPARTS_DONE; l = l->next) {
		PopplerAttachment *att = l->data;
		struct pdfparts_sink sink = { g_byte_array_new(), max, false };
		GError *error = NULL;

		if (!poppler_attachment_save_to_callback(att, pdfparts_save, &sink, &error)) {
			result = sink.too_large ? PDFPARTS_TOO_LARGE : PDFPARTS_UNREADABLE;
			snprintf(why, whylen, "%s", error ? error->message : "an embedded file poppler cannot read");
		} else if (!fn(arg, att->name, sink.bytes->data, sink.bytes->len))
			l = g_list_last(l);	/* the caller has seen enough */
		g_clear_error(&error);
		g_byte_array_free(sink.bytes, TRUE);
	}
	g_list_free_full(list, g_object_unref);
	return result;
}

enum pdfparts_result
pdfparts_each(const unsigned char *data, size_t len, size_t max,
	      bool (*fn)(void *arg, const char *name, const unsigned char *data, size_t len), void *arg, char *why,
	      size_t whylen)
{
	GBytes *bytes = g_bytes_new_static(data, len);
	GError *error = NULL;
	PopplerDocument *doc = poppler_document_new_from_bytes(bytes, NULL, &error);
	enum pdfparts_result result;

	g_bytes_unref(bytes);
	if (!doc) {
		result = error && g_error_matches(error, POPPLER_ERROR, POPPLER_ERROR_ENCRYPTED) ? PDFPARTS_ENCRYPTED
											 : PDFPARTS_UNREADABLE;
		snprintf(why, whylen, "%s", error ? error->message : "poppler cannot open it");
		g_clear_error(&error);
		return result;
	}
	result = poppler_document_has_attachments(doc) ? pdfparts_attachments(doc, max, fn, arg, why, whylen)
						       : PDFPARTS_DONE;
	g_object_unref(doc);
	return result;
}
