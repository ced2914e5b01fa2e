/*
 * pdfparts - the files embedded in a PDF, taken out with poppler-glib.
 *
 * Promise: pdfparts_each opens a PDF held in memory with poppler (the
 * library behind evince and pdfdetach, maintained in Debian) and hands
 * every embedded file (the document's attachments, whatever filters and
 * predictors compress them) to a callback, as poppler decodes it, up to
 * max bytes each.  poppler rather than a PDF parser of our own: a PDF's
 * streams take a dozen filters and predictors (FlateDecode with a PNG
 * predictor hid an executable from libclamav), which poppler decodes as
 * the readers do.
 */
#ifndef HM_PDFPARTS_H
#define HM_PDFPARTS_H

#include <stdbool.h>
#include <stddef.h>

enum pdfparts_result {
	PDFPARTS_DONE,
	PDFPARTS_ENCRYPTED,	/* opened only with a password */
	PDFPARTS_UNREADABLE,	/* poppler cannot open it (why says how) */
	PDFPARTS_TOO_LARGE,	/* an embedded file larger than max */
};

/* Whether the bytes start like a PDF ("%PDF-" within the first 1024 bytes, as readers accept it). */
bool pdfparts_is_pdf(const unsigned char *head, size_t len);

/* fn gets each embedded file; false stops. */
enum pdfparts_result pdfparts_each(const unsigned char *data, size_t len, size_t max,
				   bool (*fn)(void *arg, const char *name, const unsigned char *data, size_t len),
				   void *arg, char *why, size_t whylen);

#endif
