/* diff.c - differentiation and simplification. (Being written.) */
#include "diff.h"

struct expr *diff_simplify(struct session *s, struct expr *e)
{
	(void)s;
	return e;
}

struct expr *diff_gradient(struct session *s, struct expr *f, struct expr *x)
{
	(void)f;
	(void)x;
	mc_fail(s->mc, MC_ERR_NOTIMPL, "differentiation is not implemented yet");
	return NULL;
}

struct expr *diff_derive(struct session *s, struct expr *e)
{
	(void)e;
	mc_fail(s->mc, MC_ERR_NOTIMPL, "differentiation is not implemented yet");
	return NULL;
}

struct expr *diff_factor(struct session *s, struct expr *e)
{
	(void)s;
	return e;
}
