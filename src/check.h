/* check.h - check(e1 = e2), check(grad(f, X) = G) and gradcheck(f, X): verdicts on numbers. */
#ifndef CHECK_H
#define CHECK_H

#include "session.h"

/* Runs check(EQ): prints `equal` or `not equal` (with the instance, both values
 * and, for a claimed gradient, the correct one). Sets s->status to 1 when not
 * equal. False only on an error (then in s->mc). */
bool check_run(struct session *s, const struct syn *call);

/* Runs gradcheck(f, X): the engine's gradient against central finite differences
 * at random instances; prints the largest relative error and ok/FAILED. */
bool gradcheck_run(struct session *s, const struct syn *call);

#endif
