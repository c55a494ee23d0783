/* verify.c - check and gradcheck. (Stub: the numbers issue fills it in.) */
#include "verify.h"

bool verify_check(struct session *s, const struct syn *call)
{
	return mc_fail_at(s->mc, MC_ERR_NOTIMPL, call->loc, "check is not implemented yet");
}

bool verify_gradcheck(struct session *s, const struct syn *call)
{
	return mc_fail_at(s->mc, MC_ERR_NOTIMPL, call->loc, "gradcheck is not implemented yet");
}
