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

static const char *const policy_uninspectable_names[] = {
	[POLICY_UNINSPECTABLE_REJECT] = "reject",
	[POLICY_UNINSPECTABLE_QUARANTINE] = "quarantine",
	[POLICY_UNINSPECTABLE_TAG] = "tag",
};

static const char *const policy_encrypted_names[] = {
	[POLICY_ENCRYPTED_ACCEPT] = "accept",
	[POLICY_ENCRYPTED_TAG] = "tag",
	[POLICY_ENCRYPTED_QUARANTINE] = "quarantine",
	[POLICY_ENCRYPTED_REJECT] = "reject",
};

#define POLICY_COUNT(a) (sizeof(a) / sizeof(*(a)))

/* The index of name in names, or -1. */
static int
policy_name_index(const char *const *names, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(name, names[i]) == 0)
			return (int)i;
	return -1;
}

const char *
policy_virus_name(enum policy_virus virus)
{
	return policy_virus_names[virus];
}

int
policy_virus_parse(const char *name, enum policy_virus *virus)
{
	int i = policy_name_index(policy_virus_names, POLICY_COUNT(policy_virus_names), name);

	if (i >= 0)
		*virus = (enum policy_virus)i;
	return i >= 0 ? 0 : -1;
}

const char *
policy_uninspectable_name(enum policy_uninspectable action)
{
	return policy_uninspectable_names[action];
}

int
policy_uninspectable_parse(const char *name, enum policy_uninspectable *action)
{
	int i = policy_name_index(policy_uninspectable_names, POLICY_COUNT(policy_uninspectable_names), name);

	if (i >= 0)
		*action = (enum policy_uninspectable)i;
	return i >= 0 ? 0 : -1;
}

const char *
policy_encrypted_name(enum policy_encrypted action)
{
	return policy_encrypted_names[action];
}

int
policy_encrypted_parse(const char *name, enum policy_encrypted *action)
{
	int i = policy_name_index(policy_encrypted_names, POLICY_COUNT(policy_encrypted_names), name);

	if (i >= 0)
		*action = (enum policy_encrypted)i;
	return i >= 0 ? 0 : -1;
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
	if (a->set != b->set || a->max_size != b->max_size || a->virus != b->virus
	    || a->uninspectable != b->uninspectable || a->encrypted != b->encrypted || !policy_spam_equal(&a->spam, &b->spam) || a->ntypes != b->ntypes)
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
	rules->set = POLICY_SET_ALL;
	rules->max_size = SIZE_DEFAULT_LIMIT;
	rules->virus = POLICY_VIRUS_REJECT;
	rules->uninspectable = POLICY_UNINSPECTABLE_REJECT;
	rules->encrypted = POLICY_ENCRYPTED_ACCEPT;
	rules->spam.scan = true;
	rules->spam.tag_score = 5.0;
	strcpy(rules->spam.subject_tag, "[SPAM]");
	rules->spam.has_reject = true;
	rules->spam.reject_score = 15.0;
}

void
policy_rules_overlay(struct policy_rules *rules, const struct policy_rules *over)
{
	unsigned set = over->set;

	if (set & POLICY_SET_MAX_SIZE)
		rules->max_size = over->max_size;
	if (set & POLICY_SET_VIRUS)
		rules->virus = over->virus;
	if (set & POLICY_SET_UNINSPECTABLE)
		rules->uninspectable = over->uninspectable;
	if (set & POLICY_SET_ENCRYPTED)
		rules->encrypted = over->encrypted;
	if (set & POLICY_SET_TYPES) {
		rules->ntypes = over->ntypes;
		memcpy(rules->blocked_types, over->blocked_types, sizeof(rules->blocked_types));
	}
	if (set & POLICY_SET_SPAM_SCAN)
		rules->spam.scan = over->spam.scan;
	if (set & POLICY_SET_TAG_SCORE)
		rules->spam.tag_score = over->spam.tag_score;
	if (set & POLICY_SET_SUBJECT_TAG)
		memcpy(rules->spam.subject_tag, over->spam.subject_tag, sizeof(rules->spam.subject_tag));
	if (set & POLICY_SET_REJECT_SCORE) {
		rules->spam.has_reject = over->spam.has_reject;
		rules->spam.reject_score = over->spam.reject_score;
	}
	if (set & POLICY_SET_DISCARD_SCORE) {
		rules->spam.has_discard = over->spam.has_discard;
		rules->spam.discard_score = over->spam.discard_score;
	}
	rules->set |= set;
}

static json_t *
policy_optional_real(bool present, double value)
{
	return present ? json_real(value) : json_null();
}

static json_t *
policy_spam_to_json(const struct policy_rules *rules)
{
	const struct policy_spam *spam = &rules->spam;
	json_t *json = json_object();

	if (rules->set & POLICY_SET_SPAM_SCAN)
		json_object_set_new(json, "scan", json_boolean(spam->scan));
	if (rules->set & POLICY_SET_TAG_SCORE)
		json_object_set_new(json, "tag_score", json_real(spam->tag_score));
	if (rules->set & POLICY_SET_SUBJECT_TAG)
		json_object_set_new(json, "subject_tag", json_string(spam->subject_tag));
	if (rules->set & POLICY_SET_REJECT_SCORE)
		json_object_set_new(json, "reject_score", policy_optional_real(spam->has_reject, spam->reject_score));
	if (rules->set & POLICY_SET_DISCARD_SCORE)
		json_object_set_new(json, "discard_score",
				    policy_optional_real(spam->has_discard, spam->discard_score));
	return json;
}

json_t *
policy_rules_to_json(const struct policy_rules *rules)
{
	json_t *json = json_object();

	if (rules->set & POLICY_SET_MAX_SIZE)
		json_object_set_new(json, "max_size", json_integer((json_int_t)rules->max_size));
	if (rules->set & POLICY_SET_VIRUS)
		json_object_set_new(json, "virus", json_string(policy_virus_name(rules->virus)));
	if (rules->set & POLICY_SET_UNINSPECTABLE)
		json_object_set_new(json, "uninspectable",
				    json_string(policy_uninspectable_name(rules->uninspectable)));
	if (rules->set & POLICY_SET_ENCRYPTED)
		json_object_set_new(json, "encrypted", json_string(policy_encrypted_name(rules->encrypted)));
	if (rules->set & POLICY_SET_SPAM)
		json_object_set_new(json, "spam", policy_spam_to_json(rules));
	if (rules->set & POLICY_SET_TYPES) {
		json_t *types = json_array();

		for (unsigned i = 0; i < rules->ntypes; i++)
			json_array_append_new(types, json_string(rules->blocked_types[i]));
		json_object_set_new(json, "blocked_types", types);
	}
	return json;
}

/* Refuses members it does not know: a newer writer's key must not be ignored silently. */
static bool
policy_only_keys(const json_t *json, const char *const *keys)
{
	const char *key;
	json_t *value;

	json_object_foreach((json_t *)json, key, value) {
		const char *const *k = keys;

		while (*k && strcmp(*k, key) != 0)
			k++;
		if (!*k)
			return false;
	}
	return true;
}

static int
policy_score_from_json(const json_t *value, bool nullable, bool *present, double *score)
{
	*present = !json_is_null(value);
	if (!*present)
		return nullable ? 0 : -1;
	if (!json_is_number(value))
		return -1;
	*score = json_number_value(value);
	return 0;
}

/* One optional score member; its bit is set when present. */
static int
policy_spam_score(const json_t *spam, const char *key, unsigned bit, bool nullable, bool *present, double *score,
		  unsigned *set)
{
	const json_t *value = json_object_get(spam, key);
	bool dummy;

	if (!value)
		return 0;
	*set |= bit;
	return policy_score_from_json(value, nullable, present ? present : &dummy, score);
}

static int
policy_spam_from_json(const json_t *spam, struct policy_rules *rules, const char **why)
{
	static const char *const keys[] = { "scan", "tag_score", "subject_tag", "reject_score", "discard_score", NULL };
	struct policy_spam *out = &rules->spam;
	const json_t *scan = json_object_get(spam, "scan"), *tag = json_object_get(spam, "subject_tag");

	*why = "malformed spam rules";
	if (!json_is_object(spam) || !policy_only_keys(spam, keys) || (scan && !json_is_boolean(scan))
	    || (tag && (!json_is_string(tag) || strlen(json_string_value(tag)) >= sizeof(out->subject_tag))))
		return -1;
	if (scan) {
		out->scan = json_is_true(scan);
		rules->set |= POLICY_SET_SPAM_SCAN;
	}
	if (tag) {
		strcpy(out->subject_tag, json_string_value(tag));
		rules->set |= POLICY_SET_SUBJECT_TAG;
	}
	if (policy_spam_score(spam, "tag_score", POLICY_SET_TAG_SCORE, false, NULL, &out->tag_score, &rules->set) < 0
	    || policy_spam_score(spam, "reject_score", POLICY_SET_REJECT_SCORE, true, &out->has_reject,
				 &out->reject_score, &rules->set) < 0
	    || policy_spam_score(spam, "discard_score", POLICY_SET_DISCARD_SCORE, true, &out->has_discard,
				 &out->discard_score, &rules->set) < 0)
		return -1;
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
	rules->set |= POLICY_SET_TYPES;
	return 0;
}

static int
policy_max_size_from_json(const json_t *value, struct policy_rules *rules, const char **why)
{
	json_int_t max_size = json_integer_value(value);

	if (!json_is_integer(value) || max_size <= 0 || (uint64_t)max_size > SIZE_MAX_LIMIT) {
		*why = "malformed max_size";
		return -1;
	}
	rules->max_size = (uint64_t)max_size;
	rules->set |= POLICY_SET_MAX_SIZE;
	return 0;
}

/* "uninspectable" and "encrypted", when present. */
static int
policy_actions_from_json(const json_t *json, struct policy_rules *rules, const char **why)
{
	const json_t *uninspectable = json_object_get(json, "uninspectable");
	const json_t *encrypted = json_object_get(json, "encrypted");

	if (uninspectable) {
		if (!json_is_string(uninspectable)
		    || policy_uninspectable_parse(json_string_value(uninspectable), &rules->uninspectable) < 0) {
			*why = "unknown uninspectable action";
			return -1;
		}
		rules->set |= POLICY_SET_UNINSPECTABLE;
	}
	if (encrypted) {
		if (!json_is_string(encrypted)
		    || policy_encrypted_parse(json_string_value(encrypted), &rules->encrypted) < 0) {
			*why = "unknown encrypted action";
			return -1;
		}
		rules->set |= POLICY_SET_ENCRYPTED;
	}
	return 0;
}

int
policy_rules_from_json(const json_t *json, struct policy_rules *rules, const char **why)
{
	static const char *const keys[] = { "max_size", "virus", "uninspectable", "encrypted", "spam",
					    "blocked_types", NULL };
	const json_t *max_size = json_object_get(json, "max_size"), *virus = json_object_get(json, "virus");
	const json_t *spam = json_object_get(json, "spam"), *types = json_object_get(json, "blocked_types");

	memset(rules, 0, sizeof(*rules));
	*why = "malformed policy rules";
	if (!json_is_object(json) || !policy_only_keys(json, keys))
		return -1;
	if (max_size && policy_max_size_from_json(max_size, rules, why) < 0)
		return -1;
	if (virus) {
		if (!json_is_string(virus) || policy_virus_parse(json_string_value(virus), &rules->virus) < 0) {
			*why = "unknown virus action";
			return -1;
		}
		rules->set |= POLICY_SET_VIRUS;
	}
	if (policy_actions_from_json(json, rules, why) < 0)
		return -1;
	if (spam && policy_spam_from_json(spam, rules, why) < 0)
		return -1;
	if (types && policy_types_from_json(types, rules, why) < 0)
		return -1;
	return 0;
}

static const char *const policy_rate_keys[] = { "recipients_per_hour", "burst", "bulk_recipients_per_hour",
						"bulk_burst", NULL };

static uint32_t *
policy_rate_member(struct policy_rate *rate, size_t i)
{
	switch (i) {
	case 0:
		return &rate->per_hour;
	case 1:
		return &rate->burst;
	case 2:
		return &rate->bulk_per_hour;
	default:
		return &rate->bulk_burst;
	}
}

json_t *
policy_rate_to_json(const struct policy_rate *rate)
{
	json_t *json = json_object();
	struct policy_rate copy = *rate;

	for (size_t i = 0; policy_rate_keys[i]; i++)
		if (*policy_rate_member(&copy, i))
			json_object_set_new(json, policy_rate_keys[i], json_integer(*policy_rate_member(&copy, i)));
	return json;
}

int
policy_rate_from_json(const json_t *json, struct policy_rate *rate, const char **why)
{
	memset(rate, 0, sizeof(*rate));
	*why = "malformed rate_limit";
	if (!json)
		return 0;
	if (!json_is_object(json) || !policy_only_keys(json, policy_rate_keys))
		return -1;
	for (size_t i = 0; policy_rate_keys[i]; i++) {
		const json_t *value = json_object_get(json, policy_rate_keys[i]);

		if (!value)
			continue;
		if (!json_is_integer(value) || json_integer_value(value) < 0
		    || json_integer_value(value) > POLICY_RATE_MAX)
			return -1;
		*policy_rate_member(rate, i) = (uint32_t)json_integer_value(value);
	}
	return 0;
}

/* ---- the strictest of two rule sets (L: records; see policy.h) ---- */

/* How little a virus action delivers: reject and discard deliver nothing, tag everything. */
static int
policy_virus_rank(enum policy_virus virus)
{
	static const int rank[] = { [POLICY_VIRUS_TAG] = 0, [POLICY_VIRUS_QUARANTINE] = 1,
				    [POLICY_VIRUS_DISCARD] = 2, [POLICY_VIRUS_REJECT] = 3 };

	return rank[virus];
}

/* The lower of two optional scores. */
static void
policy_lower_score(bool *has, double *score, bool other_has, double other)
{
	if (other_has && (!*has || other < *score))
		*score = other;
	*has = *has || other_has;
}

static void
policy_spam_strictest(struct policy_spam *spam, const struct policy_spam *other)
{
	spam->scan = spam->scan || other->scan;
	if (other->tag_score < spam->tag_score) {
		spam->tag_score = other->tag_score;
		memcpy(spam->subject_tag, other->subject_tag, sizeof(spam->subject_tag));
	}
	policy_lower_score(&spam->has_reject, &spam->reject_score, other->has_reject, other->reject_score);
	policy_lower_score(&spam->has_discard, &spam->discard_score, other->has_discard, other->discard_score);
}

int
policy_rules_strictest(struct policy_rules *rules, const struct policy_rules *other)
{
	int rc = 0;

	if (other->max_size && (!rules->max_size || other->max_size < rules->max_size))
		rules->max_size = other->max_size;
	if (policy_virus_rank(other->virus) > policy_virus_rank(rules->virus))
		rules->virus = other->virus;
	/* The enums run from the most lenient to the strictest action but for reject, which comes first in one. */
	if (other->uninspectable == POLICY_UNINSPECTABLE_REJECT
	    || (rules->uninspectable != POLICY_UNINSPECTABLE_REJECT
		&& other->uninspectable == POLICY_UNINSPECTABLE_QUARANTINE))
		rules->uninspectable = other->uninspectable;
	if (other->encrypted > rules->encrypted)	/* accept, tag, quarantine, reject */
		rules->encrypted = other->encrypted;
	policy_spam_strictest(&rules->spam, &other->spam);
	for (unsigned i = 0; i < other->ntypes; i++) {
		unsigned j = 0;

		while (j < rules->ntypes && strcmp(rules->blocked_types[j], other->blocked_types[i]) != 0)
			j++;
		if (j < rules->ntypes)
			continue;
		if (rules->ntypes == POLICY_TYPES_MAX) {
			rc = -1;
			continue;
		}
		memcpy(rules->blocked_types[rules->ntypes++], other->blocked_types[i], POLICY_TYPE_LEN);
	}
	rules->set |= other->set;
	return rc;
}
