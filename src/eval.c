/* eval.c - evaluating expressions on numbers. (Stub: the numbers issue fills it in.) */
#include "eval.h"

struct value *eval_expr(struct session *s, const struct expr *e)
{
	(void)e;
	mc_fail(s->mc, MC_ERR_NOTIMPL, "eval is not implemented yet");
	return NULL;
}

bool eval_all_bound(struct session *s, const struct expr *e)
{
	(void)s;
	(void)e;
	return false;
}
