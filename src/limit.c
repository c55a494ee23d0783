/* limit.c - the per-statement bounds: a deadline polled by the long loops, memory
 * and size accounting, and the sticky "limit hit" state that stops the statement. */
#include "limit.h"

#include <stdarg.h>
#include <stdlib.h>
#include <time.h>

#include "mc.h"

void limit_default(struct mc_limits *l)
{
	l->timeout = LIMIT_DEFAULT_TIMEOUT;
	l->memory = LIMIT_DEFAULT_MEMORY;
	l->terms = LIMIT_DEFAULT_TERMS;
	l->input = LIMIT_DEFAULT_INPUT;
	l->steps = LIMIT_DEFAULT_STEPS;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void limit_start(struct mc *mc)
{
	free(mc->halt_msg);
	mc->halt_msg = NULL;
	mc->deadline = mc->limits.timeout > 0 ? now() + mc->limits.timeout : 0;
	mc->polls = 0;
}

bool limit_hit(struct mc *mc, const char *fmt, ...)
{
	if (mc->halt_msg)
		return false;
	struct sbuf b = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	mc->halt_msg = sbuf_take(&b);
	return false;
}

static _Atomic long value_bytes;

void limit_value_bytes(long delta) { value_bytes += delta; }

static bool memory_ok(struct mc *mc)
{
	size_t lim = mc->limits.memory;
	if (!lim || mc->node_bytes + (size_t)value_bytes <= lim)
		return true;
	return limit_hit(mc,
			  "this statement needs more than the memory limit of %zu MB "
			  "(expression nodes and numeric values): --max-memory MB raises it",
			  lim >> 20);
}

bool limit_poll(struct mc *mc)
{
	if (mc->halt_msg)
		return true;
	/* the clock every 64 polls: a poll is a node built or a rule applied */
	if (mc->deadline > 0 && (++mc->polls & 63) == 0 && now() > mc->deadline) {
		limit_hit(mc,
			   "this statement ran longer than the time limit of %g s: "
			   "--timeout SECONDS raises it (0: no limit)",
			   mc->limits.timeout);
		return true;
	}
	return false;
}

bool limit_add_node_bytes(struct mc *mc, size_t bytes)
{
	mc->node_bytes += bytes;
	return memory_ok(mc);
}

bool limit_check_memory(struct mc *mc) { return memory_ok(mc); }

bool limit_check_terms(struct mc *mc, long count)
{
	long lim = mc->limits.terms;
	if (!lim || count <= lim)
		return true;
	return limit_hit(mc,
			  "an expression with more than %ld operands in one sum or product "
			  "(the expression size limit): --max-terms N raises it",
			  lim);
}
