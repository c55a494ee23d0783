/* verify.h - check(e1 = e2), check(grad(f, X) = G) and gradcheck(f, X): verdicts on numbers.
 * (Not check.h: that name is the Check unit-test library's header.) */
#ifndef VERIFY_H
#define VERIFY_H

#include "session.h"

/* Runs check(EQ): prints `equal` or `not equal` (with the instance, both values
 * and, for a claimed gradient, the correct one). Sets s->status to 1 when not
 * equal. False only on an error (then in s->mc). */
bool verify_check(struct session *s, const struct syn *call);

/* Runs gradcheck(f, X): the engine's gradient against central finite differences
 * at random instances; prints the largest relative error and ok/FAILED. */
bool verify_gradcheck(struct session *s, const struct syn *call);

#endif
