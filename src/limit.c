/* limit.c - the per-statement bounds: a deadline polled by the long loops, memory
 * and size accounting, and the sticky "limit hit" state that stops the statement. */
#include "limit.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const struct limit_option limit_options[LIMIT_NOPTS] = {
    [LIMIT_TIMEOUT] = {"--timeout", "a number of seconds (0: no limit)"},
    [LIMIT_MEMORY] = {"--max-memory", "a whole number of megabytes (0: no limit)"},
    [LIMIT_TERMS] = {"--max-terms", "a whole number (0: no limit)"},
    [LIMIT_INPUT] = {"--max-input", "a whole number of megabytes, at least 1"},
    [LIMIT_STEPS] = {"--max-steps", "a whole number (0: no limit)"},
};

void limit_init(struct limit_state *l)
{
	memset(l, 0, sizeof *l);
	l->bounds.timeout = LIMIT_DEFAULT_TIMEOUT;
	l->bounds.memory = LIMIT_DEFAULT_MEMORY;
	l->bounds.terms = LIMIT_DEFAULT_TERMS;
	l->bounds.input = LIMIT_DEFAULT_INPUT;
	l->bounds.steps = LIMIT_DEFAULT_STEPS;
}

void limit_fini(struct limit_state *l)
{
	free(l->halt_msg);
	l->halt_msg = NULL;
}

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
		if (v > (double)(1 << 30)) /* a petabyte: still a size_t of bytes */
			return false;
		l->memory = (size_t)v << 20;
		return true;
	case LIMIT_TERMS:
		l->terms = (long)v;
		return true;
	case LIMIT_INPUT:
		if (v < 1 || v > (double)(1 << 20))
			return false;
		l->input = (size_t)v << 20;
		return true;
	case LIMIT_STEPS:
		l->steps = (long)v;
		return true;
	}
	return false;
}

void limit_get(const struct mc_limits *l, int opt, char *buf, size_t n)
{
	switch (opt) {
	case LIMIT_TIMEOUT:
		snprintf(buf, n, "%g", l->timeout);
		break;
	case LIMIT_MEMORY:
		snprintf(buf, n, "%zu", l->memory >> 20);
		break;
	case LIMIT_TERMS:
		snprintf(buf, n, "%ld", l->terms);
		break;
	case LIMIT_INPUT:
		snprintf(buf, n, "%zu", l->input >> 20);
		break;
	case LIMIT_STEPS:
		snprintf(buf, n, "%ld", l->steps);
		break;
	default:
		snprintf(buf, n, "?");
	}
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* set from a signal handler (matcalc_interrupt): the running statement stops */
static volatile sig_atomic_t interrupt_flag;

void limit_interrupt(void) { interrupt_flag = 1; }

void limit_start(struct limit_state *l)
{
	interrupt_flag = 0;
	free(l->halt_msg);
	l->halt_msg = NULL;
	l->deadline = l->bounds.timeout > 0 ? now() + l->bounds.timeout : 0;
	l->polls = 0;
}

bool limit_hit(struct limit_state *l, const char *fmt, ...)
{
	if (l->halt_msg)
		return false;
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	/* no memory for the message: a fixed one still stops the statement */
	l->halt_msg = strdup(buf);
	if (!l->halt_msg)
		l->halt_msg = strdup("out of memory");
	return false;
}

static _Atomic long value_bytes;

void limit_value_bytes(long delta) { value_bytes += delta; }

/* What counts toward --max-memory: nodes and numeric values. */
static size_t memory_in_use(const struct limit_state *l)
{
	long v = value_bytes;
	return l->node_bytes + (size_t)(v > 0 ? v : 0);
}

bool limit_check_memory(struct limit_state *l)
{
	size_t lim = l->bounds.memory;
	if (!lim || memory_in_use(l) <= lim)
		return true;
	return limit_hit(l,
			 "this statement needs more than the memory limit of %zu MB "
			 "(expression nodes and numeric values): --max-memory MB raises it",
			 lim >> 20);
}

bool limit_poll(struct limit_state *l)
{
	if (l->halt_msg || interrupt_flag)
		return limit_poll_now(l);
	return (++l->polls & 63) == 0 && limit_poll_now(l);
}

bool limit_poll_now(struct limit_state *l)
{
	if (l->halt_msg)
		return true;
	if (interrupt_flag) {
		limit_hit(l, "interrupted: the statement was stopped (Ctrl-C); the session is kept");
		return true;
	}
	if (l->deadline > 0 && now() > l->deadline) {
		limit_hit(l,
			  "this statement ran longer than the time limit of %g s: "
			  "--timeout SECONDS raises it (0: no limit)",
			  l->bounds.timeout);
		return true;
	}
	return !limit_check_memory(l);
}

bool limit_node_bytes_fit(const struct limit_state *l, size_t bytes)
{
	size_t lim = l->bounds.memory;
	return !lim || memory_in_use(l) + bytes <= lim / 8;
}

bool limit_add_node_bytes(struct limit_state *l, size_t bytes)
{
	l->node_bytes += bytes;
	return limit_check_memory(l);
}

bool limit_check_terms(struct limit_state *l, long count)
{
	long lim = l->bounds.terms;
	if (!lim || count <= lim)
		return true;
	return limit_hit(l,
			 "an expression with more than %ld operands in one sum or product "
			 "(the expression size limit): --max-terms N raises it",
			 lim);
}
