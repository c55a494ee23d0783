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

/* The factored form of e (2 X (X^T Θ - Y^T)). */
struct expr *diff_factor(struct session *s, struct expr *e);

#endif
