/* check.c - check and gradcheck. (Stub: the numbers issue fills it in.) */
#include "check.h"

bool check_run(struct session *s, const struct syn *call)
{
	return mc_fail_at(s->mc, MC_ERR_NOTIMPL, call->loc, "check is not implemented yet");
}

bool gradcheck_run(struct session *s, const struct syn *call)
{
	return mc_fail_at(s->mc, MC_ERR_NOTIMPL, call->loc, "gradcheck is not implemented yet");
}
