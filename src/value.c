/* value.c - numeric values and the session's bindings. (Stub: the numbers issue fills it in.) */
#include "value.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct value *value_new(long rows, long cols)
{
	struct value *v = mc_xmalloc(sizeof *v);
	v->rows = rows;
	v->cols = cols;
	v->data = mc_xmalloc((size_t)(rows * cols) * sizeof(double));
	memset(v->data, 0, (size_t)(rows * cols) * sizeof(double));
	return v;
}

struct value *value_copy(const struct value *v)
{
	struct value *c = value_new(v->rows, v->cols);
	memcpy(c->data, v->data, (size_t)(v->rows * v->cols) * sizeof(double));
	return c;
}

void value_free(struct value *v)
{
	if (!v)
		return;
	free(v->data);
	free(v);
}

bool value_is_literal(const struct syn *rhs)
{
	if (rhs->kind == SYN_MATRIX || rhs->kind == SYN_NUM)
		return true;
	if (rhs->kind == SYN_OP && rhs->op == SOP_NEG && rhs->kids[0]->kind == SYN_NUM)
		return true;
	return rhs->kind == SYN_CALL &&
	       (strcmp(rhs->name, "rand") == 0 || strcmp(rhs->name, "randn") == 0);
}

bool value_bind(struct session *s, const struct syn *lhs, const struct syn *rhs)
{
	(void)rhs;
	return mc_fail_at(s->mc, MC_ERR_NOTIMPL, lhs->loc,
			  "binding a numeric value is not implemented yet");
}

const struct value *value_of(struct session *s, const struct decl *d)
{
	for (int i = 0; i < s->nbinds; i++)
		if (s->binds[i].decl == d)
			return s->binds[i].v;
	return NULL;
}

void value_unbind(struct session *s, const struct decl *d)
{
	for (int i = 0; i < s->nbinds; i++)
		if (s->binds[i].decl == d) {
			value_free(s->binds[i].v);
			s->binds[i] = s->binds[--s->nbinds];
			return;
		}
}

void value_free_all(struct session *s)
{
	for (int i = 0; i < s->nbinds; i++)
		value_free(s->binds[i].v);
	s->nbinds = 0;
}

/* xoshiro128+-style generator on two 64-bit words (splitmix64 seeding). */
static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void value_seed(struct session *s, unsigned long seed)
{
	uint64_t x = seed;
	s->seed = seed;
	s->rng[0] = splitmix(&x);
	s->rng[1] = splitmix(&x);
}

static uint64_t next64(struct session *s)
{
	uint64_t s0 = s->rng[0], s1 = s->rng[1];
	uint64_t r = s0 + s1;
	s1 ^= s0;
	s->rng[0] = ((s0 << 24) | (s0 >> 40)) ^ s1 ^ (s1 << 16);
	s->rng[1] = (s1 << 37) | (s1 >> 27);
	return r;
}

double value_uniform(struct session *s)
{
	return (double)(next64(s) >> 11) * (1.0 / 9007199254740992.0);
}

double value_normal(struct session *s)
{
	double u1 = value_uniform(s), u2 = value_uniform(s);
	if (u1 < 1e-300)
		u1 = 1e-300;
	return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

void value_print(struct session *s, struct sbuf *b, const struct value *v)
{
	char buf[64];
	if (v->rows == 1 && v->cols == 1) {
		snprintf(buf, sizeof buf, "%.*g", s->mc->precision, v->data[0]);
		sbuf_add(b, buf);
		return;
	}
	sbuf_add(b, "[");
	for (long i = 0; i < v->rows; i++) {
		if (i)
			sbuf_add(b, "; ");
		for (long j = 0; j < v->cols; j++) {
			snprintf(buf, sizeof buf, "%s%.*g", j ? " " : "", s->mc->precision,
				 v->data[j * v->rows + i]);
			sbuf_add(b, buf);
		}
	}
	sbuf_add(b, "]");
}
