/* greek.c - the Greek letters: their ASCII names, variants, and which are scalars by default. */
#include "greek.h"

#include <stdio.h>
#include <string.h>

static const struct {
	const char *ascii, *utf8;
} greek[] = {
    {"alpha", "α"},  {"beta", "β"},  {"gamma", "γ"}, {"delta", "δ"},   {"epsilon", "ε"},
    {"zeta", "ζ"},   {"eta", "η"},   {"theta", "θ"}, {"iota", "ι"},    {"kappa", "κ"},
    {"lambda", "λ"}, {"mu", "μ"},    {"nu", "ν"},    {"xi", "ξ"},      {"omicron", "ο"},
    {"pi", "π"},     {"rho", "ρ"},   {"sigma", "σ"}, {"tau", "τ"},     {"upsilon", "υ"},
    {"phi", "φ"},    {"chi", "χ"},   {"psi", "ψ"},   {"omega", "ω"},   {"Alpha", "Α"},
    {"Beta", "Β"},   {"Gamma", "Γ"}, {"Delta", "Δ"}, {"Epsilon", "Ε"}, {"Zeta", "Ζ"},
    {"Eta", "Η"},    {"Theta", "Θ"}, {"Iota", "Ι"},  {"Kappa", "Κ"},   {"Lambda", "Λ"},
    {"Mu", "Μ"},     {"Nu", "Ν"},    {"Xi", "Ξ"},    {"Omicron", "Ο"}, {"Pi", "Π"},
    {"Rho", "Ρ"},    {"Sigma", "Σ"}, {"Tau", "Τ"},   {"Upsilon", "Υ"}, {"Phi", "Φ"},
    {"Chi", "Χ"},    {"Psi", "Ψ"},   {"Omega", "Ω"},
};
#define NGREEK (sizeof greek / sizeof *greek)

/* A few variant letters read as their plain forms. */
static const struct {
	const char *variant, *plain;
} greek_variants[] = {{"ϑ", "θ"}, {"ϕ", "φ"}, {"ϵ", "ε"}, {"ς", "σ"}};

const char *greek_canonical(const char *name)
{
	/* whole name, or a Greek name followed by digits or '_' (theta_1, theta1) */
	static _Thread_local char buf[512];
	/* each name is read once per identifier: compare only the entries that
	 * start with the name's first byte (the variants all start with 0xCF) */
	for (size_t i = 0;
	     (unsigned char)name[0] == 0xCF && i < sizeof greek_variants / sizeof *greek_variants;
	     i++) {
		size_t n = strlen(greek_variants[i].variant);
		if (strncmp(name, greek_variants[i].variant, n) == 0 &&
		    strlen(name) + 8 < sizeof buf) {
			snprintf(buf, sizeof buf, "%s%s", greek_variants[i].plain, name + n);
			return buf;
		}
	}
	/* every ASCII name has two letters or more, the second lowercase: x, W_1
	 * and most other names need no look at the table */
	if (!name[0] || !(name[1] >= 'a' && name[1] <= 'z'))
		return name;
	for (size_t i = 0; i < NGREEK; i++) {
		if (name[0] != greek[i].ascii[0])
			continue;
		size_t n = strlen(greek[i].ascii);
		if (strncmp(name, greek[i].ascii, n) != 0)
			continue;
		char c = name[n];
		if (c == '\0' || c == '_' || (c >= '0' && c <= '9')) {
			if (strlen(name) + 8 >= sizeof buf)
				return name;
			snprintf(buf, sizeof buf, "%s%s", greek[i].utf8, name + n);
			return buf;
		}
	}
	return name;
}

const char *greek_ascii(const char *utf8)
{
	/* every letter of the table is two bytes, 0xCE or 0xCF first */
	unsigned char c = (unsigned char)utf8[0];
	if (c != 0xCE && c != 0xCF)
		return NULL;
	for (size_t i = 0; i < NGREEK; i++)
		if (utf8[0] == greek[i].utf8[0] && utf8[1] == greek[i].utf8[1])
			return greek[i].ascii;
	return NULL;
}

bool greek_is_scalar(const char *name)
{
	static const char *const scalars[] = {"α", "β", "γ", "δ", "ε", "η",
					      "κ", "λ", "ρ", "σ", "τ", "ω"};
	/* each is two bytes, 0xCE or 0xCF first: every new symbol asks */
	if ((unsigned char)name[0] != 0xCE && (unsigned char)name[0] != 0xCF)
		return false;
	for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++) {
		size_t n = strlen(scalars[i]);
		if (strncmp(name, scalars[i], n) == 0) {
			char c = name[n];
			if (c == '\0' || c == '_' || (c >= '0' && c <= '9'))
				return true;
		}
	}
	return false;
}
