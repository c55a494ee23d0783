/* eval.h - evaluating expressions on numbers with OpenBLAS and LAPACKE. */
#ifndef EVAL_H
#define EVAL_H

#include "value.h"

/* Evaluates e with the values bound in the session (each shared node once,
 * matrix chains in their cheapest order, inverses that only multiply as solves).
 * Returns a new value (caller frees), or NULL with the error in s->mc:
 * unbound symbol, dimension mismatch, singular matrix, log of a non-positive
 * value, ... */
struct value *eval_expr(struct session *s, const struct expr *e);

/* Whether every symbol in e has a value. */
bool eval_all_bound(struct session *s, const struct expr *e);

#endif
