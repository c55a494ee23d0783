/* limit.c - the per-statement bounds: a deadline polled by the long loops, memory
 * and size accounting, and the sticky "limit hit" state that stops the statement. */
#include "limit.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
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

const struct limit_option limit_options[LIMIT_NOPTS] = {
    [LIMIT_TIMEOUT] = {"--timeout", "a number of seconds (0: no limit)"},
    [LIMIT_MEMORY] = {"--max-memory", "a whole number of megabytes (0: no limit)"},
    [LIMIT_TERMS] = {"--max-terms", "a whole number (0: no limit)"},
    [LIMIT_INPUT] = {"--max-input", "a whole number of megabytes, at least 1"},
    [LIMIT_STEPS] = {"--max-steps", "a whole number (0: no limit)"},
};

bool limit_set(struct mc_limits *l, int opt, const char *value)
{
	char *end;
	errno = 0;
	double v = strtod(value, &end);
	if (errno || end == value || *end || !(v >= 0) || v > 1e9)
		return false;
	if (opt != LIMIT_TIMEOUT && v != floor(v))
		return false;
	switch (opt) {
	case LIMIT_TIMEOUT:
		l->timeout = v;
		return true;
	case LIMIT_MEMORY:
		if (v > 1 << 30) /* 1 PB: a size_t of bytes on 64 bits */
			return false;
		l->memory = (size_t)v << 20;
		return true;
	case LIMIT_TERMS:
		l->terms = (long)v;
		return true;
	case LIMIT_INPUT:
		if (v < 1 || v > 1 << 20)
			return false;
		l->input = (size_t)v << 20;
		return true;
	case LIMIT_STEPS:
		l->steps = (long)v;
		return true;
	}
	return false;
}

void limit_get(const struct mc_limits *l, int opt, struct sbuf *out)
{
	switch (opt) {
	case LIMIT_TIMEOUT:
		sbuf_printf(out, "%g", l->timeout);
		break;
	case LIMIT_MEMORY:
		sbuf_printf(out, "%zu", l->memory >> 20);
		break;
	case LIMIT_TERMS:
		sbuf_printf(out, "%ld", l->terms);
		break;
	case LIMIT_INPUT:
		sbuf_printf(out, "%zu", l->input >> 20);
		break;
	case LIMIT_STEPS:
		sbuf_printf(out, "%ld", l->steps);
		break;
	}
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
	/* the clock every 64 polls: a poll is a node built or a rule applied */
	return mc->halt_msg || ((++mc->polls & 63) == 0 && limit_poll_now(mc));
}

bool limit_poll_now(struct mc *mc)
{
	if (mc->halt_msg)
		return true;
	if (mc->deadline > 0 && now() > mc->deadline) {
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
