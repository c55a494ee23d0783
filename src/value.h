/* value.h - numeric values: dense column-major matrices, and the session's bindings. */
#ifndef VALUE_H
#define VALUE_H

#include "session.h"

/* A dense matrix of doubles, column-major: entry (i, j) is data[j * rows + i].
 * A scalar is 1x1, a vector n x 1. Owned by whoever made it; value_free frees. */
struct value {
	long rows, cols;
	double *data;
};

/* The largest value accepted (entries): bigger requests are an error, not an abort. */
#define VALUE_MAX_ENTRIES (1L << 26)

struct value *value_new(long rows, long cols);	  /* zero-filled */
struct value *value_uninit(long rows, long cols); /* entries left unset: the caller fills all */
struct value *value_copy(const struct value *v);
void value_free(struct value *v);

/* Whether the right side of `name = rhs` is a numeric value: a literal
 * ([1 2; 3 4], 2.5, -1) or rand/randn/eye/zeros/ones with numeric sizes. */
bool value_is_literal(const struct syn *rhs);
/* Binds name to the value of rhs; fixes the symbol's dimensions (an error
 * when they conflict with its declaration). False with the error in s->mc. */
bool value_bind(struct session *s, const struct syn *lhs, const struct syn *rhs);
/* Stores v as d's value without touching dimensions (check's temporary
 * instances); takes ownership of v and frees any earlier value of d. */
void value_set(struct session *s, const struct decl *d, struct value *v);
/* The value bound to a symbol, or NULL. */
const struct value *value_of(struct session *s, const struct decl *d);
void value_unbind(struct session *s, const struct decl *d);
void value_free_all(struct session *s);

/* The session's random numbers (rand, randn, check's instances): reseeded by --seed / :seed. */
void value_seed(struct session *s, unsigned long seed);
double value_uniform(struct session *s); /* in [0, 1) */
double value_normal(struct session *s);	 /* standard normal */

/* Prints v as the plain printer writes matrices: [1 2; 3 4], [1; 2; 3], or a number. */
void value_print(struct session *s, struct sbuf *b, const struct value *v);

#endif
