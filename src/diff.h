/* diff.h - differentiation: differentials from the rules, the read-off of gradients,
 * Hessians and Jacobians; and simplification to the canonical form. */
#ifndef DIFF_H
#define DIFF_H

#include "session.h"

/* Simplifies e to the canonical (textbook) form with the simplify rules. */
struct expr *diff_simplify(struct session *s, struct expr *e);

/* The gradient of scalar f with respect to symbol x (same shape as x), simplified.
 * NULL with the error in s->mc. */
struct expr *diff_gradient(struct session *s, struct expr *f, struct expr *x);

/* Works out every grad/hess/jacobian/d inside e and simplifies the result. */
struct expr *diff_derive(struct session *s, struct expr *e);
/* The same before the shorter of expanded and factored is chosen (tests). */
struct expr *diff_derive_expanded(struct session *s, struct expr *e);

/* The shorter of the sum e and its factored form (shared first, last or
 * entrywise factors taken out, x - μ kept whole): the factored one when it has
 * less than 3/4 of e's leaves (what grad, hess and jacobian print). The search
 * is skipped where a bound on the leaves it can save shows it cannot win;
 * exhaustive searches anyway (to test the bound). Returns e on no gain or on
 * failure (no error left set). */
struct expr *diff_prefer_shorter(struct session *s, struct expr *e, bool exhaustive);

/* The factored form of e (2 X (X^T Θ - Y^T)). */
struct expr *diff_factor(struct session *s, struct expr *e);

#endif
