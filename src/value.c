/* value.c - numeric values: literals, rand/randn/eye/zeros/ones, the session's bindings and
 * printing. */
#include "value.h"

#include <stdio.h>

#include <math.h>

#include <lapacke.h>
#include <stdlib.h>
#include <string.h>

#include "limit.h"
#include "print.h"

struct value *value_uninit(long rows, long cols)
{
	struct value *v = mc_xmalloc(sizeof *v);
	v->rows = rows;
	v->cols = cols;
	v->data = mc_xmalloc((size_t)(rows * cols) * sizeof(double));
	limit_value_bytes(rows * cols * (long)sizeof(double));
	return v;
}

struct value *value_new(long rows, long cols)
{
	struct value *v = value_uninit(rows, cols);
	memset(v->data, 0, (size_t)(rows * cols) * sizeof(double));
	return v;
}

struct value *value_copy(const struct value *v)
{
	struct value *c = value_uninit(v->rows, v->cols);
	memcpy(c->data, v->data, (size_t)(v->rows * v->cols) * sizeof(double));
	return c;
}

void value_free(struct value *v)
{
	if (!v)
		return;
	limit_value_bytes(-v->rows * v->cols * (long)sizeof(double));
	free(v->data);
	free(v);
}

/* Whether a call's arguments are all plain numbers (sizes written as digits). */
static bool numeric_args(const struct syn *call)
{
	for (int i = 0; i < call->n; i++)
		if (call->kids[i]->kind != SYN_NUM)
			return false;
	return true;
}

bool value_is_literal(const struct syn *rhs)
{
	if (rhs->kind == SYN_MATRIX || rhs->kind == SYN_NUM)
		return true;
	if (rhs->kind == SYN_OP && rhs->op == SOP_NEG && rhs->kids[0]->kind == SYN_NUM)
		return true;
	if (rhs->kind != SYN_CALL)
		return false;
	/* rand and randn only make values, so a symbolic size is an error later;
	 * eye(n), zeros(n, m) and ones(n, m) with names stay symbolic definitions */
	if (strcmp(rhs->name, "rand") == 0 || strcmp(rhs->name, "randn") == 0)
		return true;
	return (strcmp(rhs->name, "eye") == 0 || strcmp(rhs->name, "zeros") == 0 ||
		strcmp(rhs->name, "ones") == 0) &&
	       rhs->n > 0 && numeric_args(rhs);
}

/* A size argument of rand/randn/eye/zeros/ones: a positive whole number. */
static bool size_arg(struct session *s, const struct syn *call, int i, long *out)
{
	const struct syn *a = call->kids[i];
	if (a->kind != SYN_NUM)
		return mc_fail_at(s->mc, MC_ERR_SHAPE, a->loc,
				  "%s needs numeric sizes to make a value, e.g. %s(3, 2)",
				  call->name, call->name);
	if (a->num < 1 || a->num != floor(a->num) || a->num > (double)VALUE_MAX_ENTRIES)
		return mc_fail_at(s->mc, MC_ERR_SHAPE, a->loc,
				  "a size must be a positive whole number");
	*out = (long)a->num;
	return true;
}

/* The value of a literal right side; NULL with the error in s->mc. */
static struct value *literal_value(struct session *s, const struct syn *rhs, const struct decl *d)
{
	struct mc *mc = s->mc;
	if (rhs->kind == SYN_NUM || rhs->kind == SYN_OP) {
		struct value *v = value_new(1, 1);
		v->data[0] = rhs->kind == SYN_NUM ? rhs->num : -rhs->kids[0]->num;
		return v;
	}
	if (rhs->kind == SYN_MATRIX) {
		if ((double)rhs->vr * (double)rhs->vc > (double)VALUE_MAX_ENTRIES) {
			mc_fail_at(mc, MC_ERR_LIMIT, rhs->loc, "the matrix is too large");
			return NULL;
		}
		struct value *v = value_new(rhs->vr, rhs->vc);
		memcpy(v->data, rhs->vals, (size_t)(rhs->vr * rhs->vc) * sizeof(double));
		return v;
	}
	const char *f = rhs->name;
	bool eye = strcmp(f, "eye") == 0;
	bool random = strcmp(f, "rand") == 0 || strcmp(f, "randn") == 0;
	long r, c;
	if (eye) {
		if (rhs->n != 1) {
			mc_fail_at(mc, MC_ERR_SHAPE, rhs->loc, "eye takes one size: eye(n)");
			return NULL;
		}
		if (!size_arg(s, rhs, 0, &r))
			return NULL;
		c = r;
	} else if (random && rhs->n == 1) {
		/* randn(n): a vector for a vector's name, a square matrix for a matrix's */
		if (!size_arg(s, rhs, 0, &r))
			return NULL;
		c = d && d->kind == KIND_MATRIX ? r : 1;
	} else {
		if (rhs->n != 2) {
			mc_fail_at(mc, MC_ERR_SHAPE, rhs->loc, "%s takes two sizes: %s(rows, cols)",
				   f, f);
			return NULL;
		}
		if (!size_arg(s, rhs, 0, &r) || !size_arg(s, rhs, 1, &c))
			return NULL;
	}
	if ((double)r * (double)c > (double)VALUE_MAX_ENTRIES) {
		mc_fail_at(mc, MC_ERR_LIMIT, rhs->loc,
			   "%ld×%ld is too large: a value has at most %ld entries", r, c,
			   VALUE_MAX_ENTRIES);
		return NULL;
	}
	struct value *v = value_new(r, c);
	long n = r * c;
	if (eye)
		for (long i = 0; i < r; i++)
			v->data[i * r + i] = 1;
	else if (strcmp(f, "ones") == 0)
		for (long i = 0; i < n; i++)
			v->data[i] = 1;
	else if (strcmp(f, "rand") == 0)
		for (long i = 0; i < n; i++)
			v->data[i] = value_uniform(s);
	else if (strcmp(f, "randn") == 0)
		for (long i = 0; i < n; i++)
			v->data[i] = value_normal(s);
	return v;
}

/* Whether dimension d can take the size n. */
static bool dim_fits(struct mc *mc, int d, long n)
{
	int r = dim_find(mc, d);
	if (mc->dims[r].value >= 0)
		return mc->dims[r].value == n;
	return !(mc->dims[r].not_one && n == 1);
}

/* Whether d refuses n only because a matrix's size is never 1. */
static bool never_one(struct mc *mc, int d, long n)
{
	int r = dim_find(mc, d);
	return n == 1 && mc->dims[r].value < 0 && mc->dims[r].not_one;
}

/* "n" or "3": a declared size by the name the user gave it, else as it stands. */
static void dim_label(struct mc *mc, int d, char *buf, size_t n)
{
	const struct dim *raw = &mc->dims[d];
	if (raw->name && !raw->auto_named && raw->value < 0)
		snprintf(buf, n, "%s", raw->name);
	else
		dim_print(mc, d, buf, n);
}

/* The error for a value whose shape the symbol cannot take. */
static bool bind_conflict(struct session *s, const struct decl *d, const struct value *v,
			  struct loc loc)
{
	struct mc *mc = s->mc;
	struct sbuf b = {0};
	char name[256];
	struct sbuf nb = {0};
	print_name(mc, &nb, d->name);
	snprintf(name, sizeof name, "%s", nb.s ? nb.s : d->name);
	sbuf_free(&nb);
	sbuf_printf(&b, "cannot bind %s to a %ld×%ld value: ", name, v->rows, v->cols);
	if (d->kind == KIND_SCALAR) {
		sbuf_printf(
		    &b, "%s is a scalar; to make it a matrix declare it: let %s : matrix(%ld, %ld)",
		    name, name, v->rows, v->cols);
	} else if (d->kind == KIND_VECTOR && v->cols != 1) {
		char r[64];
		dim_label(mc, d->rows, r, sizeof r);
		sbuf_printf(&b, "%s is a column vector (%s×1)", name, r);
		if (v->rows == 1)
			sbuf_printf(&b, "; write it as a column: [a; b; c]");
		else
			sbuf_printf(&b,
				    "; to make it a matrix declare it: let %s : matrix(%ld, %ld)",
				    name, v->rows, v->cols);
	} else if (d->kind == KIND_MATRIX &&
		   (never_one(mc, d->rows, v->rows) || never_one(mc, d->cols, v->cols))) {
		sbuf_printf(&b,
			    "%s is a matrix (its name starts with a capital); name a vector in "
			    "lowercase, or declare it: let %s : matrix(%ld, %ld)",
			    name, name, v->rows, v->cols);
	} else {
		int ds[2] = {d->rows, d->cols};
		char lab[2][64];
		for (int i = 0; i < 2; i++)
			dim_label(mc, ds[i], lab[i], sizeof lab[i]);
		sbuf_printf(&b, "%s is %s×%s", name, lab[0], lab[1]);
		bool any = false;
		for (int i = 0; i < 2; i++) {
			const struct dim *raw = &mc->dims[ds[i]];
			long val = dim_value(mc, ds[i]);
			if (i == 1 && dim_find(mc, ds[0]) == dim_find(mc, ds[1]))
				break;
			if (raw->name && !raw->auto_named && raw->value < 0 && val >= 0) {
				sbuf_printf(&b, "%s %s = %ld", any ? " and" : " with", raw->name,
					    val);
				any = true;
			}
		}
		if (dim_find(mc, d->rows) == dim_find(mc, d->cols) && v->rows != v->cols &&
		    dim_value(mc, d->rows) < 0)
			sbuf_printf(&b, " (square)");
		if (d->implicit)
			sbuf_printf(&b, "; to change its size declare it again: let %s : %s", name,
				    d->kind == KIND_VECTOR ? "vector" : "matrix");
		if (d->implicit && d->kind == KIND_VECTOR)
			sbuf_printf(&b, "(%ld)", v->rows);
		else if (d->implicit)
			sbuf_printf(&b, "(%ld, %ld)", v->rows, v->cols);
	}
	mc_fail_at(mc, MC_ERR_SHAPE, loc, "%s", b.s);
	sbuf_free(&b);
	return false;
}

/* A value for a symbol declared symmetric (or spd) must be one: otherwise the
 * algebra, which uses A^T = A, and the numbers would disagree. */
static bool structure_fits(struct session *s, const struct decl *d, const struct value *v,
			   struct loc at)
{
	struct mc *mc = s->mc;
	struct sbuf n = {0};
	print_name(mc, &n, d->name);
	long r = v->rows;
	for (long i = 0; i < r; i++)
		for (long j = i + 1; j < r; j++) {
			double a = v->data[j * r + i], b = v->data[i * r + j];
			if (fabs(a - b) > 1e-12 * fmax(1, fmax(fabs(a), fabs(b)))) {
				char na[32], nb[32];
				print_number(mc, na, sizeof na, a);
				print_number(mc, nb, sizeof nb, b);
				mc_fail_at(mc, MC_ERR_SHAPE, at,
					   "%s is declared %s, but this value is not symmetric: "
					   "entry (%ld,%ld) is %s and entry (%ld,%ld) is %s",
					   n.s, d->spd ? "spd" : "symmetric", i + 1, j + 1, na, j + 1,
					   i + 1, nb);
				sbuf_free(&n);
				return false;
			}
		}
	if (d->spd && r > 0) {
		double *c = mc_xmalloc((size_t)(r * r) * sizeof *c);
		memcpy(c, v->data, (size_t)(r * r) * sizeof *c);
		lapack_int info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'L', (lapack_int)r, c,
						 (lapack_int)r);
		free(c);
		if (info != 0) {
			mc_fail_at(mc, MC_ERR_SHAPE, at,
				   "%s is declared spd, but this value is not positive definite", n.s);
			sbuf_free(&n);
			return false;
		}
	}
	sbuf_free(&n);
	return true;
}

bool value_bind(struct session *s, const struct syn *lhs, const struct syn *rhs)
{
	struct mc *mc = s->mc;
	if (lhs->kind != SYN_IDENT)
		return mc_fail_at(mc, MC_ERR_SYNTAX, lhs->loc,
				  "a value is bound to a name: write %s = ... without arguments",
				  lhs->name ? lhs->name : "X");
	const struct decl *d = session_decl(s, lhs->name);
	struct value *v = literal_value(s, rhs, d);
	if (!v)
		return false;
	if (!d) {
		/* a name defined as an expression becomes a symbol with a value */
		const char *in = mc_intern(mc, lhs->name);
		for (int i = 0; i < s->ndefs; i++)
			if (s->defs[i].name == in) {
				s->defs[i] = s->defs[--s->ndefs];
				break;
			}
		struct expr *e = session_resolve(s, lhs);
		if (e && e->op != OP_SYM) {
			mc_fail_at(mc, MC_ERR_NAME, lhs->loc, "cannot give %s a value: %s",
				   lhs->name,
				   e->op == OP_IDENT  ? "it is the identity"
				   : e->op == OP_DIFF ? "it is a differential"
						      : "it is not a symbol");
			e = NULL;
		}
		if (!e) {
			value_free(v);
			return false;
		}
		d = e->decl;
	}
	/* a number given to a name that is a vector only by its initial makes it a scalar */
	if (d->implicit && d->kind == KIND_VECTOR && v->rows == 1 && v->cols == 1)
		d = session_declare_scalar(s, d->name);
	bool same = dim_find(mc, d->rows) == dim_find(mc, d->cols);
	if (!dim_fits(mc, d->rows, v->rows) || !dim_fits(mc, d->cols, v->cols) ||
	    (same && v->rows != v->cols)) {
		bind_conflict(s, d, v, lhs->loc);
		value_free(v);
		return false;
	}
	if ((d->symmetric || d->spd) && !structure_fits(s, d, v, rhs->loc)) {
		value_free(v);
		return false;
	}
	dim_assign(mc, d->rows, v->rows);
	dim_assign(mc, d->cols, v->cols);
	value_set(s, d, v);
	return true;
}

void value_set(struct session *s, const struct decl *d, struct value *v)
{
	for (int i = 0; i < s->nbinds; i++)
		if (s->binds[i].decl == d) {
			value_free(s->binds[i].v);
			s->binds[i].v = v;
			return;
		}
	if (s->nbinds == s->capbinds) {
		s->capbinds = s->capbinds ? 2 * s->capbinds : 16;
		s->binds = mc_xrealloc(s->binds, (size_t)s->capbinds * sizeof *s->binds);
	}
	s->binds[s->nbinds++] = (struct binding){d, v};
}

const struct value *value_of(struct session *s, const struct decl *d)
{
	const struct binding *b = session_binding(s, d);
	return b ? b->v : NULL;
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

/* One entry: %.Ng, with -0 written 0 (it parses back the same). */
static void number(struct session *s, char *buf, size_t n, double x)
{
	snprintf(buf, n, "%.*g", s->mc->precision, x == 0 ? 0.0 : x);
}

void value_print(struct session *s, struct sbuf *b, const struct value *v)
{
	char buf[64];
	if (v->rows == 1 && v->cols == 1) {
		number(s, buf, sizeof buf, v->data[0]);
		sbuf_add(b, buf);
		return;
	}
	sbuf_add(b, "[");
	for (long i = 0; i < v->rows; i++) {
		if (i)
			sbuf_add(b, "; ");
		for (long j = 0; j < v->cols; j++) {
			if (j)
				sbuf_add(b, " ");
			number(s, buf, sizeof buf, v->data[j * v->rows + i]);
			sbuf_add(b, buf);
		}
	}
	sbuf_add(b, "]");
}
