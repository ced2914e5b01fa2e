/*
 * policy - hostmilter.db records; see policy.h.
 */
#include "config.h"

#include <string.h>

#include "policy.h"
#include "size.h"

static const char *const policy_virus_names[] = {
	[POLICY_VIRUS_REJECT] = "reject",
	[POLICY_VIRUS_DISCARD] = "discard",
	[POLICY_VIRUS_QUARANTINE] = "quarantine",
	[POLICY_VIRUS_TAG] = "tag",
};

const char *
policy_virus_name(enum policy_virus virus)
{
	return policy_virus_names[virus];
}

int
policy_virus_parse(const char *name, enum policy_virus *virus)
{
	for (size_t i = 0; i < sizeof(policy_virus_names) / sizeof(*policy_virus_names); i++) {
		if (strcmp(name, policy_virus_names[i]) == 0) {
			*virus = (enum policy_virus)i;
			return 0;
		}
	}
	return -1;
}

static bool
policy_spam_equal(const struct policy_spam *a, const struct policy_spam *b)
{
	return a->scan == b->scan && a->tag_score == b->tag_score && strcmp(a->subject_tag, b->subject_tag) == 0
	       && a->has_reject == b->has_reject && (!a->has_reject || a->reject_score == b->reject_score)
	       && a->has_discard == b->has_discard && (!a->has_discard || a->discard_score == b->discard_score);
}

bool
policy_rules_equal(const struct policy_rules *a, const struct policy_rules *b)
{
	if (a->max_size != b->max_size || a->virus != b->virus || !policy_spam_equal(&a->spam, &b->spam)
	    || a->ntypes != b->ntypes)
		return false;
	for (unsigned i = 0; i < a->ntypes; i++)
		if (strcmp(a->blocked_types[i], b->blocked_types[i]) != 0)
			return false;
	return true;
}

void
policy_rules_default(struct policy_rules *rules)
{
	memset(rules, 0, sizeof(*rules));
	rules->max_size = SIZE_DEFAULT_LIMIT;
	rules->virus = POLICY_VIRUS_REJECT;
	rules->spam.scan = true;
	rules->spam.tag_score = 5.0;
	strcpy(rules->spam.subject_tag, "[SPAM]");
	rules->spam.has_reject = true;
	rules->spam.reject_score = 15.0;
}

static json_t *
policy_optional_real(bool present, double value)
{
	return present ? json_real(value) : json_null();
}

json_t *
policy_rules_to_json(const struct policy_rules *rules)
{
	json_t *types = json_array();

	for (unsigned i = 0; i < rules->ntypes; i++)
		json_array_append_new(types, json_string(rules->blocked_types[i]));
	return json_pack("{s:I, s:s, s:{s:b, s:f, s:s, s:o, s:o}, s:o}",
			 "max_size", (json_int_t)rules->max_size,
			 "virus", policy_virus_name(rules->virus),
			 "spam", "scan", rules->spam.scan, "tag_score", rules->spam.tag_score,
			 "subject_tag", rules->spam.subject_tag,
			 "reject_score", policy_optional_real(rules->spam.has_reject, rules->spam.reject_score),
			 "discard_score", policy_optional_real(rules->spam.has_discard, rules->spam.discard_score),
			 "blocked_types", types);
}

static int
policy_score_from_json(const json_t *value, bool *present, double *score)
{
	*present = !json_is_null(value);
	if (!*present)
		return 0;
	if (!json_is_number(value))
		return -1;
	*score = json_number_value(value);
	return 0;
}

static int
policy_spam_from_json(const json_t *spam, struct policy_spam *out, const char **why)
{
	const char *tag;
	json_t *reject, *discard;
	int scan;

	if (json_unpack((json_t *)spam, "{s:b, s:F, s:s, s:o, s:o}", "scan", &scan,
			"tag_score", &out->tag_score, "subject_tag", &tag,
			"reject_score", &reject, "discard_score", &discard) < 0
	    || strlen(tag) >= sizeof(out->subject_tag)
	    || policy_score_from_json(reject, &out->has_reject, &out->reject_score) < 0
	    || policy_score_from_json(discard, &out->has_discard, &out->discard_score) < 0) {
		*why = "malformed spam rules";
		return -1;
	}
	out->scan = scan;
	strcpy(out->subject_tag, tag);
	return 0;
}

static int
policy_types_from_json(const json_t *types, struct policy_rules *rules, const char **why)
{
	size_t i;
	json_t *type;

	if (!json_is_array(types) || json_array_size(types) > POLICY_TYPES_MAX) {
		*why = "malformed blocked_types";
		return -1;
	}
	rules->ntypes = 0;
	json_array_foreach(types, i, type) {
		const char *text = json_string_value(type);

		if (!text || strlen(text) >= POLICY_TYPE_LEN) {
			*why = "malformed blocked type";
			return -1;
		}
		strcpy(rules->blocked_types[rules->ntypes++], text);
	}
	return 0;
}

int
policy_rules_from_json(const json_t *json, struct policy_rules *rules, const char **why)
{
	json_int_t max_size;
	const char *virus;
	json_t *spam, *types;

	memset(rules, 0, sizeof(*rules));
	if (json_unpack((json_t *)json, "{s:I, s:s, s:o, s:o}", "max_size", &max_size,
			"virus", &virus, "spam", &spam, "blocked_types", &types) < 0
	    || max_size <= 0 || (uint64_t)max_size > SIZE_MAX_LIMIT) {
		*why = "malformed policy rules";
		return -1;
	}
	rules->max_size = (uint64_t)max_size;
	if (policy_virus_parse(virus, &rules->virus) < 0) {
		*why = "unknown virus action";
		return -1;
	}
	if (policy_spam_from_json(spam, &rules->spam, why) < 0)
		return -1;
	return policy_types_from_json(types, rules, why);
}
