/* eval.c - evaluating expressions on numbers: a walk over the DAG that computes
 * each shared node once, orders product chains by flops, and solves instead of
 * inverting (CBLAS and LAPACKE from OpenBLAS). */
#include "eval.h"

#include <cblas.h>
#include <float.h>
#include <lapacke.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "print.h"

/* ---- a small open-addressing map keyed by (pointer, a, b) ---- */

struct map_ent {
	const void *key;
	long a, b;
	long n;	 /* uses: how many parents reach the node */
	void *p; /* memo: struct value *; factorizations: struct fact * */
};

struct map {
	struct map_ent *e;
	size_t cap, len;
};

static size_t map_hash(const void *key, long a, long b)
{
	uint64_t h = (uint64_t)(uintptr_t)key * 0x9e3779b97f4a7c15ULL;
	h ^= (uint64_t)a * 0xbf58476d1ce4e5b9ULL + (uint64_t)b * 0x94d049bb133111ebULL;
	return (size_t)(h ^ (h >> 29));
}

static struct map_ent *map_get(struct map *m, const void *key, long a, long b, bool add)
{
	if (add && 2 * (m->len + 1) > m->cap) {
		struct map old = *m;
		m->cap = old.cap ? 2 * old.cap : 64;
		m->e = mc_xmalloc(m->cap * sizeof *m->e);
		memset(m->e, 0, m->cap * sizeof *m->e);
		m->len = 0;
		for (size_t i = 0; i < old.cap; i++)
			if (old.e[i].key) {
				struct map_ent *n =
				    map_get(m, old.e[i].key, old.e[i].a, old.e[i].b, true);
				n->n = old.e[i].n;
				n->p = old.e[i].p;
			}
		free(old.e);
	}
	if (!m->cap)
		return NULL;
	for (size_t i = map_hash(key, a, b) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		struct map_ent *e = &m->e[i];
		if (e->key == key && e->a == a && e->b == b)
			return e;
		if (!e->key) {
			if (!add)
				return NULL;
			e->key = key;
			e->a = a;
			e->b = b;
			m->len++;
			return e;
		}
	}
}

/* ---- the evaluation context ---- */

/* A factored square matrix: LU with pivots, or Cholesky (upper). */
struct fact {
	long n;
	double *a;
	lapack_int *ipiv;
	bool chol;
};

struct ev {
	struct session *s;
	struct mc *mc;
	const struct eval_opts *o;
	struct eval_stats *st;
	struct map uses;  /* node -> number of parents that evaluate it */
	struct map memo;  /* (node, rows, cols) -> value of a shared node */
	struct map facts; /* (node, n) -> its factorization */
};

/* A value being passed around: borrowed (a binding, a memo entry) or owned. */
struct ref {
	struct value *v;
	bool own;
};

static void drop(struct ref *r)
{
	if (r->own)
		value_free(r->v);
	r->v = NULL;
	r->own = false;
}

/* The value of r, made the caller's to change in place. */
static struct value *own(struct ref *r)
{
	if (!r->own) {
		r->v = value_copy(r->v);
		r->own = true;
	}
	return r->v;
}

static struct ref owned(struct value *v) { return (struct ref){v, true}; }

static bool fail(struct ev *ev, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static bool fail(struct ev *ev, const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	mc_fail(ev->mc, MC_ERR_EVAL, "%s", b.s ? b.s : "");
	sbuf_free(&b);
	return false;
}

/* The plain form of e for a message, shortened when long (owned). */
static char *shown(struct ev *ev, const struct expr *e)
{
	char *s = print_str(ev->mc, e, PRINT_PLAIN);
	if (strlen(s) > 60) {
		/* cut on a UTF-8 character boundary */
		size_t n = 57;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
		strcpy(s + n, "...");
	}
	return s;
}

/* The size of dimension d here: an instance's size, a bound size, a product
 * of known sizes; -1 when unknown. */
static long ev_dim(struct ev *ev, int d)
{
	if (d < 0)
		return -1;
	struct mc *mc = ev->mc;
	int r = dim_find(mc, d);
	if (ev->o->dim_sizes && r < ev->o->ndim_sizes && ev->o->dim_sizes[r] >= 0)
		return ev->o->dim_sizes[r];
	long v = mc->dims[r].value;
	if (v >= 0)
		return v;
	for (int i = 0; i < mc->nprod; i++) {
		int *t = &mc->prod_dims[3 * i];
		if (dim_find(mc, t[2]) == r && dim_find(mc, t[0]) != r && dim_find(mc, t[1]) != r) {
			long a = ev_dim(ev, t[0]), b = ev_dim(ev, t[1]);
			if (a >= 0 && b >= 0)
				return a * b;
		}
	}
	return -1;
}

static bool unknown_shape(const struct expr *e) { return e->rows < 0 && e->cols < 0; }

static bool is_scalar_node(struct ev *ev, const struct expr *e)
{
	return dim_is_one(ev->mc, e->rows) && dim_is_one(ev->mc, e->cols);
}

/* ---- uses: which nodes are shared (computed once and kept) ---- */

/* A factor of a product chain: the transpose or inverse around it is folded
 * into the BLAS/LAPACK call, so the chain evaluates the operand inside. */
static const struct expr *chain_operand(const struct expr *k, bool *trans, bool *inv)
{
	*trans = *inv = false;
	if (k->op == OP_T && k->kids[0]->op == OP_INV) {
		*trans = *inv = true;
		k = k->kids[0]->kids[0];
	} else if (k->op == OP_INV) {
		*inv = true;
		k = k->kids[0];
		if (k->op == OP_T) {
			*trans = true;
			k = k->kids[0];
		}
	} else if (k->op == OP_T) {
		*trans = true;
		k = k->kids[0];
	}
	return k;
}

static void count_uses(struct ev *ev, const struct expr *e)
{
	/* an explicit stack: expressions may nest thousands deep */
	const struct expr **stack = mc_xmalloc(64 * sizeof *stack);
	size_t n = 0, cap = 64;
	stack[n++] = e;
	while (n) {
		const struct expr *x = stack[--n];
		struct map_ent *m = map_get(&ev->uses, x, 0, 0, true);
		if (m->n++ > 0)
			continue;
		for (int i = 0; i < x->nkids; i++) {
			const struct expr *k = x->kids[i];
			if (x->op == OP_MUL && !is_scalar_node(ev, k)) {
				bool t, inv;
				k = chain_operand(k, &t, &inv);
			}
			if (n == cap) {
				cap *= 2;
				stack = mc_xrealloc(stack, cap * sizeof *stack);
			}
			stack[n++] = k;
		}
	}
	free(stack);
}

static long uses(struct ev *ev, const struct expr *e)
{
	struct map_ent *m = map_get(&ev->uses, e, 0, 0, false);
	return m ? m->n : 0;
}

/* ---- basic matrices ---- */

static struct value *identity(long n)
{
	struct value *v = value_new(n, n);
	for (long i = 0; i < n; i++)
		v->data[i * n + i] = 1;
	return v;
}

static struct value *transposed(const struct value *a)
{
	struct value *t = value_uninit(a->cols, a->rows);
	if (a->rows == 1 || a->cols == 1) {
		memcpy(t->data, a->data, (size_t)(a->rows * a->cols) * sizeof(double));
		return t;
	}
	for (long j = 0; j < a->cols; j++)
		for (long i = 0; i < a->rows; i++)
			t->data[i * a->cols + j] = a->data[j * a->rows + i];
	return t;
}

static void scale(struct value *v, double c)
{
	if (c != 1)
		cblas_dscal((int)(v->rows * v->cols), c, v->data, 1);
}

static void shape_of(const struct value *v, char *buf, size_t n)
{
	snprintf(buf, n, "%ld×%ld", v->rows, v->cols);
}

/* ---- factorizations and solves ---- */

static void fact_free(struct fact *f)
{
	if (!f)
		return;
	free(f->a);
	free(f->ipiv);
	free(f);
}

/* Factors a (square) once per evaluation: Cholesky when the node is spd, else
 * LU. A singular matrix is an error naming what (the node as written). */
static struct fact *factor(struct ev *ev, const struct expr *key, const struct value *a, bool spd,
			   const struct expr *what, const char *doing)
{
	long n = a->rows;
	struct map_ent *m = map_get(&ev->facts, key, n, spd, true);
	if (m->p)
		return m->p;
	struct fact *f = mc_xmalloc(sizeof *f);
	f->n = n;
	f->a = mc_xmalloc((size_t)(n * n) * sizeof(double));
	memcpy(f->a, a->data, (size_t)(n * n) * sizeof(double));
	f->ipiv = NULL;
	f->chol = false;
	double anorm = LAPACKE_dlange(LAPACK_COL_MAJOR, '1', (lapack_int)n, (lapack_int)n, a->data,
				      (lapack_int)n);
	double rcond = 0;
	lapack_int info;
	ev->st->factorizations++;
	if (spd) {
		info = LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)n, f->a, (lapack_int)n);
		if (info == 0) {
			f->chol = true;
			ev->st->cholesky++;
			ev->st->flops += (double)n * n * n / 3;
			LAPACKE_dpocon(LAPACK_COL_MAJOR, 'U', (lapack_int)n, f->a, (lapack_int)n,
				       anorm, &rcond);
		} else {
			/* declared spd but the value is not: factor it as a general matrix */
			memcpy(f->a, a->data, (size_t)(n * n) * sizeof(double));
		}
	}
	if (!f->chol) {
		f->ipiv = mc_xmalloc((size_t)n * sizeof *f->ipiv);
		info = LAPACKE_dgetrf(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)n, f->a,
				      (lapack_int)n, f->ipiv);
		ev->st->flops += 2.0 * n * n * n / 3;
		if (info == 0)
			LAPACKE_dgecon(LAPACK_COL_MAJOR, '1', (lapack_int)n, f->a, (lapack_int)n,
				       anorm, &rcond);
	}
	if (!(rcond >= DBL_EPSILON)) {
		char *w = shown(ev, what);
		fail(ev, "cannot %s %s: it is singular (reciprocal condition number %.2g)", doing,
		     w, rcond);
		free(w);
		fact_free(f);
		m->p = NULL;
		return NULL;
	}
	m->p = f;
	return f;
}

/* b := op(A)^-1 b in place, b n x k. */
static void fact_solve(struct ev *ev, struct fact *f, bool trans, struct value *b)
{
	lapack_int n = (lapack_int)f->n, k = (lapack_int)b->cols;
	if (f->chol)
		LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', n, k, f->a, n, b->data, n);
	else
		LAPACKE_dgetrs(LAPACK_COL_MAJOR, trans ? 'T' : 'N', n, k, f->a, n, f->ipiv, b->data,
			       n);
	ev->st->solves++;
	ev->st->flops += 2.0 * (double)n * n * k;
}

/* The explicit inverse of a factored matrix (owned). */
static struct value *fact_inverse(struct ev *ev, struct fact *f, bool trans)
{
	long n = f->n;
	struct value *v = value_uninit(n, n);
	memcpy(v->data, f->a, (size_t)(n * n) * sizeof(double));
	ev->st->inverses++;
	ev->st->flops += 4.0 * n * n * n / 3;
	if (f->chol) {
		LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', (lapack_int)n, v->data, (lapack_int)n);
		for (long j = 0; j < n; j++)
			for (long i = j + 1; i < n; i++)
				v->data[j * n + i] = v->data[i * n + j];
		return v;
	}
	LAPACKE_dgetri(LAPACK_COL_MAJOR, (lapack_int)n, v->data, (lapack_int)n, f->ipiv);
	if (trans) {
		struct value *t = transposed(v);
		value_free(v);
		return t;
	}
	return v;
}

/* ---- product chains ---- */

struct factor {
	struct ref r;		    /* the value (of the operand, for an inverse) */
	const struct expr *node;    /* the factor as written */
	const struct expr *operand; /* the node r is the value of */
	bool trans, inv, spd, deferred, identity;
	long rows, cols; /* as it multiplies */
};

/* An operand of one multiplication: a factor of the chain (leaf >= 0) or a
 * product computed on the way (own). */
struct opnd {
	const struct value *v;
	struct value *own;
	bool trans, inv;
	int leaf;
	long rows, cols;
};

static struct opnd leaf_opnd(struct factor *f, int i)
{
	return (struct opnd){f[i].r.v, NULL, f[i].trans, f[i].inv, i, f[i].rows, f[i].cols};
}

/* The dense value of an operand as it multiplies (transposed, inverted): owned. */
static struct value *dense(struct ev *ev, struct factor *fs, struct opnd *o)
{
	if (o->inv) {
		struct factor *f = &fs[o->leaf];
		struct fact *fa = factor(ev, f->operand, o->v, f->spd, f->operand, "invert");
		return fa ? fact_inverse(ev, fa, o->trans) : NULL;
	}
	if (o->trans)
		return transposed(o->v);
	return value_copy(o->v);
}

/* c := alpha op(a) op(b) + beta c with the BLAS call that fits the shapes. */
static void multiply(struct ev *ev, const struct opnd *a, const struct opnd *b, double alpha,
		     double beta, struct value *c)
{
	long m = a->rows, k = a->cols, n = b->cols;
	const double *ad = a->v->data, *bd = b->v->data;
	ev->st->flops += 2.0 * m * k * n;
	if (m == 1 && n == 1) {
		/* a row by a column: both are contiguous whatever their transposes */
		double d = cblas_ddot((int)k, ad, 1, bd, 1);
		c->data[0] = alpha * d + (beta != 0 ? beta * c->data[0] : 0);
		ev->st->dot++;
	} else if (n == 1) {
		cblas_dgemv(CblasColMajor, a->trans ? CblasTrans : CblasNoTrans, (int)a->v->rows,
			    (int)a->v->cols, alpha, ad, (int)a->v->rows, bd, 1, beta, c->data, 1);
		ev->st->gemv++;
	} else if (m == 1) {
		/* (a b)^T = b^T a^T: a matrix-vector product with b */
		cblas_dgemv(CblasColMajor, b->trans ? CblasNoTrans : CblasTrans, (int)b->v->rows,
			    (int)b->v->cols, alpha, bd, (int)b->v->rows, ad, 1, beta, c->data, 1);
		ev->st->gemv++;
	} else {
		cblas_dgemm(CblasColMajor, a->trans ? CblasTrans : CblasNoTrans,
			    b->trans ? CblasTrans : CblasNoTrans, (int)m, (int)n, (int)k, alpha, ad,
			    (int)a->v->rows, bd, (int)b->v->rows, beta, c->data, (int)m);
		ev->st->gemm++;
	}
}

/* acc += alpha x, or x *= alpha when there is no acc; frees x into *out. */
static void finish(struct value *x, double alpha, struct value *acc, struct value **out)
{
	if (acc) {
		cblas_daxpy((int)(x->rows * x->cols), alpha, x->data, 1, acc->data, 1);
		value_free(x);
		*out = NULL;
	} else {
		scale(x, alpha);
		*out = x;
	}
}

/* Combines two operands: a product, or a solve when one side is an inverse.
 * With acc, adds alpha * result to acc; else returns it in *out (owned). */
static bool combine(struct ev *ev, struct factor *fs, struct opnd *a, struct opnd *b, double alpha,
		    struct value *acc, struct value **out)
{
	*out = NULL;
	if (a->inv && b->inv) {
		/* two inverses side by side: one must be formed */
		struct value *bi = dense(ev, fs, b);
		if (!bi)
			return false;
		b->own = bi;
		b->v = bi;
		b->inv = b->trans = false;
	}
	if (!a->inv && !b->inv) {
		if (acc) {
			multiply(ev, a, b, alpha, 1, acc);
			return true;
		}
		*out = value_uninit(a->rows, b->cols);
		multiply(ev, a, b, alpha, 0, *out);
		return true;
	}
	if (a->inv) {
		/* op(A)^-1 B: a solve with B as the right-hand side */
		struct factor *f = &fs[a->leaf];
		struct fact *fa = factor(ev, f->operand, a->v, f->spd, f->operand, "solve with");
		if (!fa)
			return false;
		struct value *x = b->trans ? transposed(b->v) : value_copy(b->v);
		fact_solve(ev, fa, a->trans, x);
		finish(x, alpha, acc, out);
		return true;
	}
	/* B op(A)^-1 = (op(A)^-T B^T)^T */
	struct factor *f = &fs[b->leaf];
	struct fact *fa = factor(ev, f->operand, b->v, f->spd, f->operand, "solve with");
	if (!fa)
		return false;
	struct value *x = a->trans ? value_copy(a->v) : transposed(a->v);
	fact_solve(ev, fa, !b->trans, x);
	struct value *xt = transposed(x);
	value_free(x);
	finish(xt, alpha, acc, out);
	return true;
}

/* The cost (flops) of multiplying [i..k] by [k+1..j]. */
static double join_cost(struct factor *f, int i, int k, int j)
{
	double m = (double)f[i].rows, p = (double)f[k].cols, n = (double)f[j].cols;
	bool li = i == k && f[i].inv, ri = k + 1 == j && f[j].inv;
	if (li && ri)
		return 2 * p * p * p + 2 * p * p * n; /* form one inverse, solve with the other */
	if (li)
		return 2 * p * p * n; /* a solve with a factored matrix, per column */
	if (ri)
		return 2 * m * p * p;
	return 2 * m * p * n;
}

static void order_str(struct ev *ev, struct factor *f, const int *split, int n, int i, int j,
		      bool top, struct sbuf *b)
{
	if (i == j) {
		char *s = print_str(ev->mc, f[i].node, PRINT_PLAIN);
		sbuf_add(b, s);
		free(s);
		return;
	}
	int k = split[i * n + j];
	if (!top)
		sbuf_add(b, "(");
	order_str(ev, f, split, n, i, k, false, b);
	sbuf_add(b, " ");
	order_str(ev, f, split, n, k + 1, j, false, b);
	if (!top)
		sbuf_add(b, ")");
}

/* Multiplies out [i..j] by the split table; an interval of one factor is the
 * factor itself. The top call applies alpha and accumulates into acc. */
static bool chain_exec(struct ev *ev, struct factor *f, const int *split, int n, int i, int j,
		       double alpha, struct value *acc, bool top, struct opnd *out)
{
	if (i == j) {
		*out = leaf_opnd(f, i);
		return true;
	}
	int k = split[i * n + j];
	struct opnd a, b;
	if (!chain_exec(ev, f, split, n, i, k, 1, NULL, false, &a))
		return false;
	if (!chain_exec(ev, f, split, n, k + 1, j, 1, NULL, false, &b)) {
		value_free(a.own);
		return false;
	}
	struct value *r = NULL;
	bool ok = combine(ev, f, &a, &b, top ? alpha : 1, top ? acc : NULL, &r);
	value_free(a.own);
	value_free(b.own);
	if (!ok)
		return false;
	*out = (struct opnd){r, r, false, false, -1, f[i].rows, f[j].cols};
	return true;
}

static bool ev_node(struct ev *ev, const struct expr *e, long hr, long hc, struct ref *out);

/* Evaluates a product: scalar factors into one coefficient, the matrix chain
 * in its cheapest order. With acc, adds the product to acc (a sum's term
 * lands in the sum without a temporary) and returns no value. */
static bool ev_mul(struct ev *ev, const struct expr *e, long hr, long hc, struct value *acc,
		   struct ref *out)
{
	double coef = 1;
	int n = 0;
	bool ok = false, dropped_identity = false;
	struct factor *f = mc_xmalloc((size_t)e->nkids * sizeof *f);
	int *split = NULL;
	double *cost = NULL;
	*out = (struct ref){0};
	for (int i = 0; i < e->nkids; i++) {
		const struct expr *k = e->kids[i];
		if (is_scalar_node(ev, k)) {
			struct ref r;
			if (!ev_node(ev, k, 1, 1, &r))
				goto out;
			if (r.v->rows != 1 || r.v->cols != 1) {
				char *w = shown(ev, k);
				char sh[64];
				shape_of(r.v, sh, sizeof sh);
				fail(ev, "%s should be a scalar, but its value is %s", w, sh);
				free(w);
				drop(&r);
				goto out;
			}
			coef *= r.v->data[0];
			drop(&r);
			continue;
		}
		struct factor *x = &f[n++];
		memset(x, 0, sizeof *x);
		x->node = k;
		x->operand = chain_operand(k, &x->trans, &x->inv);
		x->spd = (x->operand->flags & EF_SPD) && !ev->o->general;
		x->deferred = unknown_shape(x->operand);
		if (x->deferred)
			continue;
		if (!ev_node(ev, x->operand, -1, -1, &x->r))
			goto out;
	}
	/* factors of unknown size (I and the like) take the size of their neighbours */
	for (int i = 0; i < n; i++) {
		if (!f[i].deferred)
			continue;
		long sz = -1;
		for (int j = i - 1; j >= 0 && sz < 0; j--)
			if (!f[j].deferred || f[j].r.v)
				sz = f[j].trans ? f[j].r.v->rows : f[j].r.v->cols;
		for (int j = i + 1; j < n && sz < 0; j++)
			if (!f[j].deferred)
				sz = f[j].trans ? f[j].r.v->cols : f[j].r.v->rows;
		if (sz < 0)
			sz = hr > 0 ? hr : hc;
		if (sz <= 0) {
			char *w = shown(ev, f[i].node);
			fail(ev, "the size of %s is not known here", w);
			free(w);
			goto out;
		}
		if (f[i].operand->op == OP_IDENT) {
			f[i].identity = true;
			f[i].r = owned(NULL);
			continue;
		}
		if (!ev_node(ev, f[i].operand, sz, sz, &f[i].r))
			goto out;
	}
	/* an identity factor multiplies by nothing */
	int m = 0;
	long idsize = -1;
	for (int i = 0; i < n; i++) {
		if (f[i].identity) {
			dropped_identity = true;
			continue;
		}
		f[m++] = f[i];
	}
	if (dropped_identity && m == 0)
		idsize = hr > 0 ? hr : (ev_dim(ev, e->rows) > 0 ? ev_dim(ev, e->rows) : -1);
	n = m;
	for (int i = 0; i < n; i++) {
		const struct value *v = f[i].r.v;
		f[i].rows = f[i].trans ? v->cols : v->rows;
		f[i].cols = f[i].trans ? v->rows : v->cols;
		if (f[i].inv && v->rows != v->cols) {
			char *w = shown(ev, f[i].operand);
			char sh[64];
			shape_of(v, sh, sizeof sh);
			fail(ev, "cannot invert %s: its value is %s, not square", w, sh);
			free(w);
			goto out;
		}
		if (i > 0 && f[i - 1].cols != f[i].rows) {
			char *a = shown(ev, f[i - 1].node), *b = shown(ev, f[i].node);
			fail(ev,
			     "cannot multiply %s (%ld×%ld) by %s (%ld×%ld): the values' sizes do "
			     "not fit",
			     a, f[i - 1].rows, f[i - 1].cols, b, f[i].rows, f[i].cols);
			free(a);
			free(b);
			goto out;
		}
	}
	struct value *res = NULL;
	if (n == 0) {
		if (dropped_identity) {
			if (idsize <= 0) {
				fail(ev, "the size of I is not known here");
				goto out;
			}
			res = identity(idsize);
		} else {
			res = value_new(1, 1);
			res->data[0] = 1;
		}
		scale(res, coef);
	} else if (n == 1) {
		struct opnd o = leaf_opnd(f, 0);
		res = dense(ev, f, &o);
		if (!res)
			goto out;
		scale(res, coef);
	}
	if (res) {
		if (acc) {
			if (acc->rows != res->rows || acc->cols != res->cols) {
				char *w = shown(ev, e);
				char sa[64], sb[64];
				shape_of(acc, sa, sizeof sa);
				shape_of(res, sb, sizeof sb);
				fail(ev, "cannot add %s (%s) to a %s sum: the values' sizes differ",
				     w, sb, sa);
				free(w);
				value_free(res);
				goto out;
			}
			cblas_daxpy((int)(res->rows * res->cols), 1, res->data, 1, acc->data, 1);
			value_free(res);
		} else {
			*out = owned(res);
		}
		ok = true;
		goto out;
	}
	if (acc && (acc->rows != f[0].rows || acc->cols != f[n - 1].cols)) {
		char *w = shown(ev, e);
		fail(ev, "cannot add %s (%ld×%ld) to a %ld×%ld sum: the values' sizes differ", w,
		     f[0].rows, f[n - 1].cols, acc->rows, acc->cols);
		free(w);
		goto out;
	}
	/* the cheapest parenthesisation: the textbook dynamic programme (a long
	 * chain, or a benchmark's request, goes left to right) */
	split = mc_xmalloc((size_t)(n * n) * sizeof *split);
	cost = mc_xmalloc((size_t)(n * n) * sizeof *cost);
	bool ltr = ev->o->left_to_right || n > 64;
	for (int i = 0; i < n; i++)
		cost[i * n + i] = 0;
	for (int len = 2; len <= n; len++)
		for (int i = 0; i + len - 1 < n; i++) {
			int j = i + len - 1;
			double best = -1;
			for (int k = ltr ? j - 1 : i; k < j; k++) {
				double c =
				    cost[i * n + k] + cost[(k + 1) * n + j] + join_cost(f, i, k, j);
				if (best < 0 || c < best) {
					best = c;
					split[i * n + j] = k;
				}
			}
			cost[i * n + j] = best;
		}
	if (ev->o->stats) {
		/* printing costs more than a small product: only when asked */
		struct sbuf ob = {0};
		order_str(ev, f, split, n, 0, n - 1, true, &ob);
		snprintf(ev->st->order, sizeof ev->st->order, "%s", ob.s ? ob.s : "");
		sbuf_free(&ob);
	}
	struct opnd r;
	if (!chain_exec(ev, f, split, n, 0, n - 1, coef, acc, true, &r))
		goto out;
	if (!acc)
		*out = owned(r.own);
	ok = true;
out:
	for (int i = 0; i < n; i++)
		drop(&f[i].r);
	free(f);
	free(split);
	free(cost);
	return ok;
}

/* ---- the other operators ---- */

/* a += b, broadcasting a 1x1 side; *a may be replaced. */
static bool add_into(struct ev *ev, struct ref *a, struct ref *b, const struct expr *bn)
{
	struct value *x = a->v, *y = b->v;
	if (x->rows == y->rows && x->cols == y->cols) {
		cblas_daxpy((int)(x->rows * x->cols), 1, y->data, 1, own(a)->data, 1);
		return true;
	}
	if (y->rows == 1 && y->cols == 1) {
		struct value *o = own(a);
		for (long i = 0; i < o->rows * o->cols; i++)
			o->data[i] += y->data[0];
		return true;
	}
	if (x->rows == 1 && x->cols == 1) {
		double c = x->data[0];
		struct value *o = own(b);
		for (long i = 0; i < o->rows * o->cols; i++)
			o->data[i] += c;
		drop(a);
		*a = *b;
		*b = (struct ref){0};
		return true;
	}
	char *w = shown(ev, bn);
	char sa[64], sb[64];
	shape_of(x, sa, sizeof sa);
	shape_of(y, sb, sizeof sb);
	fail(ev, "cannot add %s (%s) to a %s sum: the values' sizes differ", w, sb, sa);
	free(w);
	return false;
}

static bool ev_add(struct ev *ev, const struct expr *e, long r, long c, struct ref *out)
{
	struct ref acc = {0};
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < e->nkids; i++) {
			const struct expr *k = e->kids[i];
			if (unknown_shape(k) != (pass == 1))
				continue;
			long hr = acc.v ? acc.v->rows : r, hc = acc.v ? acc.v->cols : c;
			if (acc.v && k->op == OP_MUL && uses(ev, k) == 1 &&
			    !is_scalar_node(ev, k) && !(acc.v->rows == 1 && acc.v->cols == 1)) {
				/* a product term goes straight into the sum (beta = 1) */
				struct ref dummy;
				if (!ev_mul(ev, k, hr, hc, own(&acc), &dummy))
					goto fail;
				continue;
			}
			struct ref t;
			if (!ev_node(ev, k, hr, hc, &t))
				goto fail;
			if (!acc.v) {
				acc = t;
				continue;
			}
			bool ok = add_into(ev, &acc, &t, k);
			drop(&t);
			if (!ok)
				goto fail;
		}
	if (!acc.v)
		acc = owned(value_new(r > 0 ? r : 1, c > 0 ? c : 1));
	*out = acc;
	return true;
fail:
	drop(&acc);
	return false;
}

/* Elementwise a op b (Hadamard, ./) with 1x1 broadcasting. */
static bool ev_entrywise2(struct ev *ev, const struct expr *e, struct ref *a, struct ref *b,
			  bool divide, struct ref *out)
{
	struct value *x = a->v, *y = b->v;
	long n;
	if (x->rows == y->rows && x->cols == y->cols) {
		n = x->rows * x->cols;
	} else if ((y->rows == 1 && y->cols == 1) || (x->rows == 1 && x->cols == 1)) {
		n = -1;
	} else {
		char *w = shown(ev, e);
		char sa[64], sb[64];
		shape_of(x, sa, sizeof sa);
		shape_of(y, sb, sizeof sb);
		fail(ev, "cannot compute %s entrywise: the values are %s and %s", w, sa, sb);
		free(w);
		return false;
	}
	bool xs = x->rows == 1 && x->cols == 1 && n < 0;
	struct ref *dst = xs ? b : a;
	struct value *o = own(dst);
	long total = o->rows * o->cols;
	x = a->v;
	y = b->v;
	for (long i = 0; i < total; i++) {
		double p = xs ? x->data[0] : x->data[i];
		double q = (n < 0 && !xs) ? y->data[0] : y->data[i];
		if (divide && q == 0) {
			char *w = shown(ev, e);
			fail(ev, "division by zero in %s", w);
			free(w);
			return false;
		}
		o->data[i] = divide ? p / q : p * q;
	}
	*out = *dst;
	*dst = (struct ref){0};
	return true;
}

static bool ev_unary(struct ev *ev, const struct expr *e, struct ref *a, struct ref *out)
{
	struct value *v = own(a);
	long n = v->rows * v->cols;
	double *d = v->data;
	for (long i = 0; i < n; i++) {
		double x = d[i];
		switch (e->op) {
		case OP_EXP:
			d[i] = exp(x);
			break;
		case OP_LOG:
			if (!(x > 0)) {
				char *w = shown(ev, e->kids[0]);
				fail(ev, "log of a non-positive value: %s has the entry %g", w, x);
				free(w);
				return false;
			}
			d[i] = log(x);
			break;
		case OP_SIN:
			d[i] = sin(x);
			break;
		case OP_COS:
			d[i] = cos(x);
			break;
		case OP_TAN:
			d[i] = tan(x);
			break;
		case OP_TANH:
			d[i] = tanh(x);
			break;
		case OP_SQRT:
			if (x < 0) {
				char *w = shown(ev, e->kids[0]);
				fail(ev, "sqrt of a negative value: %s has the entry %g", w, x);
				free(w);
				return false;
			}
			d[i] = sqrt(x);
			break;
		case OP_SIGMOID:
			/* the two forms keep exp from overflowing */
			d[i] = x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));
			break;
		case OP_SOFTPLUS:
			d[i] = log1p(exp(-fabs(x))) + (x > 0 ? x : 0);
			break;
		case OP_ABS:
			d[i] = fabs(x);
			break;
		case OP_SIGN:
			d[i] = x > 0 ? 1 : x < 0 ? -1 : 0;
			break;
		case OP_STEP:
			d[i] = x > 0 ? 1 : 0;
			break;
		case OP_RELU:
			d[i] = x > 0 ? x : 0;
			break;
		default:
			break;
		}
	}
	*out = *a;
	*a = (struct ref){0};
	return true;
}

static bool need_square(struct ev *ev, const struct expr *e, const struct value *v,
			const char *what)
{
	if (v->rows == v->cols)
		return true;
	char *w = shown(ev, e->kids[0]);
	char sh[64];
	shape_of(v, sh, sizeof sh);
	fail(ev, "%s of a non-square matrix: %s is %s", what, w, sh);
	free(w);
	return false;
}

/* log|det A|, the sign of det A (0 when singular) and det A itself (the
 * product of the pivots, which keeps the last digits that exp(log) loses). */
static void log_det(struct ev *ev, const struct value *a, bool spd, double *logabs, int *sign,
		    double *det)
{
	long n = a->rows;
	double *lu = mc_xmalloc((size_t)(n * n) * sizeof(double));
	memcpy(lu, a->data, (size_t)(n * n) * sizeof(double));
	ev->st->factorizations++;
	*logabs = 0;
	*sign = 1;
	*det = 1;
	if (spd && LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', (lapack_int)n, lu, (lapack_int)n) == 0) {
		ev->st->cholesky++;
		for (long i = 0; i < n; i++) {
			*logabs += 2 * log(lu[i * n + i]);
			*det *= lu[i * n + i] * lu[i * n + i];
		}
		ev->st->flops += (double)n * n * n / 3;
		free(lu);
		return;
	}
	if (spd)
		memcpy(lu, a->data, (size_t)(n * n) * sizeof(double));
	lapack_int *ipiv = mc_xmalloc((size_t)n * sizeof *ipiv);
	LAPACKE_dgetrf(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)n, lu, (lapack_int)n, ipiv);
	ev->st->flops += 2.0 * n * n * n / 3;
	for (long i = 0; i < n; i++) {
		double u = lu[i * n + i];
		*det *= ipiv[i] != i + 1 ? -u : u;
		if (u == 0) {
			*sign = 0;
			*det = 0;
			break;
		}
		if (u < 0)
			*sign = -*sign;
		if (ipiv[i] != i + 1)
			*sign = -*sign;
		*logabs += log(fabs(u));
	}
	free(ipiv);
	free(lu);
}

static bool ev_pow(struct ev *ev, const struct expr *e, struct ref *a, struct ref *b,
		   struct ref *out)
{
	if (b->v->rows != 1 || b->v->cols != 1)
		return fail(ev, "an exponent must be a scalar");
	double p = b->v->data[0];
	struct value *v = a->v;
	if (v->rows == 1 && v->cols == 1) {
		double x = v->data[0];
		if (x < 0 && p != floor(p)) {
			char *w = shown(ev, e->kids[0]);
			fail(ev,
			     "a negative value to a non-integer power: %s is %g, the exponent %g",
			     w, x, p);
			free(w);
			return false;
		}
		if (x == 0 && p < 0) {
			char *w = shown(ev, e->kids[0]);
			fail(ev, "division by zero: %s is 0 and the exponent %g is negative", w, p);
			free(w);
			return false;
		}
		own(a)->data[0] = pow(x, p);
		*out = *a;
		*a = (struct ref){0};
		return true;
	}
	if (p != floor(p) || fabs(p) > 1e9)
		return fail(ev, "a matrix power needs an integer exponent, not %g", p);
	if (!need_square(ev, e, v, "a power"))
		return false;
	long n = v->rows, k = (long)fabs(p);
	struct value *base;
	if (p < 0) {
		struct fact *f =
		    factor(ev, e->kids[0], v, (e->kids[0]->flags & EF_SPD) && !ev->o->general,
			   e->kids[0], "invert");
		if (!f)
			return false;
		base = fact_inverse(ev, f, false);
	} else {
		base = value_copy(v);
	}
	/* repeated squaring */
	struct value *res = identity(n), *tmp = value_uninit(n, n);
	for (; k > 0; k >>= 1) {
		if (k & 1) {
			cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n,
				    (int)n, 1, res->data, (int)n, base->data, (int)n, 0, tmp->data,
				    (int)n);
			struct value *t = res;
			res = tmp;
			tmp = t;
			ev->st->gemm++;
			ev->st->flops += 2.0 * n * n * n;
		}
		if (k > 1) {
			cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)n,
				    (int)n, 1, base->data, (int)n, base->data, (int)n, 0, tmp->data,
				    (int)n);
			struct value *t = base;
			base = tmp;
			tmp = t;
			ev->st->gemm++;
			ev->st->flops += 2.0 * n * n * n;
		}
	}
	value_free(base);
	value_free(tmp);
	*out = owned(res);
	return true;
}

static bool ev_symbol(struct ev *ev, const struct expr *e, struct ref *out)
{
	const struct value *v = value_of(ev->s, e->decl);
	if (v) {
		*out = (struct ref){(struct value *)v, false};
		return true;
	}
	struct sbuf nb = {0};
	print_name(ev->mc, &nb, e->name);
	const char *name = nb.s ? nb.s : e->name;
	if (e->decl->kind == KIND_SCALAR) {
		fail(ev, "%s has no value: bind one, e.g. %s = 2", name, name);
	} else {
		long r = ev_dim(ev, e->rows), c = ev_dim(ev, e->cols);
		if (r < 0)
			r = 3;
		if (c < 0)
			c = e->decl->kind == KIND_VECTOR
				? 1
				: (dim_find(ev->mc, e->rows) == dim_find(ev->mc, e->cols) ? r : 2);
		fail(ev, "%s has no value: bind one, e.g. %s = randn(%ld, %ld)", name, name, r, c);
	}
	sbuf_free(&nb);
	return false;
}

/* Evaluates a node that is not shared (or is being computed for the memo). */
static bool ev_compute(struct ev *ev, const struct expr *e, long r, long c, struct ref *out)
{
	struct ref a = {0}, b = {0};
	bool ok = false;
	*out = (struct ref){0};
	ev->st->nodes++;
	switch (e->op) {
	case OP_SYM:
		return ev_symbol(ev, e, out);
	case OP_NUM: {
		struct value *v = value_new(1, 1);
		v->data[0] = e->num;
		*out = owned(v);
		return true;
	}
	case OP_MATRIX: {
		struct value *v = value_uninit(e->vrows, e->vcols);
		memcpy(v->data, e->vals, (size_t)(e->vrows * e->vcols) * sizeof(double));
		*out = owned(v);
		return true;
	}
	case OP_IDENT:
		if (r <= 0)
			r = c;
		if (r <= 0)
			return fail(ev, "the size of I is not known here");
		*out = owned(identity(r));
		return true;
	case OP_ZERO:
		*out = owned(value_new(r > 0 ? r : 1, c > 0 ? c : 1));
		return true;
	case OP_ONES: {
		if (r <= 0 || c <= 0) {
			char *w = shown(ev, e);
			fail(ev,
			     "the size of %s is not known: bind a value to a symbol of that size",
			     w);
			free(w);
			return false;
		}
		struct value *v = value_uninit(r, c);
		for (long i = 0; i < r * c; i++)
			v->data[i] = 1;
		*out = owned(v);
		return true;
	}
	case OP_ADD:
		return ev_add(ev, e, r, c, out);
	case OP_MUL:
		return ev_mul(ev, e, r, c, NULL, out);
	case OP_HAD: {
		struct ref acc = {0};
		for (int pass = 0; pass < 2; pass++)
			for (int i = 0; i < e->nkids; i++) {
				const struct expr *k = e->kids[i];
				if (unknown_shape(k) != (pass == 1))
					continue;
				long hr = acc.v ? acc.v->rows : r, hc = acc.v ? acc.v->cols : c;
				struct ref t, res;
				if (!ev_node(ev, k, hr, hc, &t)) {
					drop(&acc);
					return false;
				}
				if (!acc.v) {
					acc = t;
					continue;
				}
				bool good = ev_entrywise2(ev, e, &acc, &t, false, &res);
				drop(&acc);
				drop(&t);
				if (!good)
					return false;
				acc = res;
			}
		*out = acc;
		return true;
	}
	case OP_EDIV:
		if (!ev_node(ev, e->kids[0], r, c, &a) || !ev_node(ev, e->kids[1], r, c, &b))
			break;
		ok = ev_entrywise2(ev, e, &a, &b, true, out);
		break;
	case OP_KRON: {
		if (!ev_node(ev, e->kids[0], -1, -1, &a) || !ev_node(ev, e->kids[1], -1, -1, &b))
			break;
		const struct value *x = a.v, *y = b.v;
		if ((double)x->rows * y->rows * x->cols * y->cols > (double)VALUE_MAX_ENTRIES) {
			fail(ev, "the Kronecker product is too large");
			break;
		}
		long R = x->rows * y->rows, C = x->cols * y->cols;
		struct value *v = value_uninit(R, C);
		for (long j1 = 0; j1 < x->cols; j1++)
			for (long i1 = 0; i1 < x->rows; i1++) {
				double s = x->data[j1 * x->rows + i1];
				for (long j2 = 0; j2 < y->cols; j2++)
					for (long i2 = 0; i2 < y->rows; i2++)
						v->data[(j1 * y->cols + j2) * R + i1 * y->rows +
							i2] = s * y->data[j2 * y->rows + i2];
			}
		*out = owned(v);
		ok = true;
		break;
	}
	case OP_T:
		if (!ev_node(ev, e->kids[0], c, r, &a))
			break;
		*out = owned(transposed(a.v));
		ok = true;
		break;
	case OP_INV: {
		if (!ev_node(ev, e->kids[0], r, c, &a))
			break;
		if (a.v->rows == 1 && a.v->cols == 1) {
			if (a.v->data[0] == 0) {
				char *w = shown(ev, e->kids[0]);
				fail(ev, "division by zero: %s is 0", w);
				free(w);
				break;
			}
			own(&a)->data[0] = 1 / a.v->data[0];
			*out = a;
			return true;
		}
		if (!need_square(ev, e, a.v, "the inverse"))
			break;
		bool spd = (e->kids[0]->flags & EF_SPD) && !ev->o->general;
		struct fact *f = factor(ev, e->kids[0], a.v, spd, e->kids[0], "invert");
		if (!f)
			break;
		*out = owned(fact_inverse(ev, f, false));
		ok = true;
		break;
	}
	case OP_POW:
		if (!ev_node(ev, e->kids[0], r, c, &a) || !ev_node(ev, e->kids[1], 1, 1, &b))
			break;
		ok = ev_pow(ev, e, &a, &b, out);
		break;
	case OP_NORM2:
	case OP_NORMF: {
		if (!ev_node(ev, e->kids[0], -1, -1, &a))
			break;
		struct value *v = value_new(1, 1);
		v->data[0] = cblas_dnrm2((int)(a.v->rows * a.v->cols), a.v->data, 1);
		*out = owned(v);
		ok = true;
		break;
	}
	case OP_TR: {
		if (!ev_node(ev, e->kids[0], -1, -1, &a) || !need_square(ev, e, a.v, "tr"))
			break;
		struct value *v = value_new(1, 1);
		for (long i = 0; i < a.v->rows; i++)
			v->data[0] += a.v->data[i * a.v->rows + i];
		*out = owned(v);
		ok = true;
		break;
	}
	case OP_DET:
	case OP_LOGDET: {
		const char *what = e->op == OP_DET ? "det" : "logdet";
		if (!ev_node(ev, e->kids[0], -1, -1, &a) || !need_square(ev, e, a.v, what))
			break;
		double la, det;
		int sign;
		log_det(ev, a.v, (e->kids[0]->flags & EF_SPD) && !ev->o->general, &la, &sign, &det);
		struct value *v = value_new(1, 1);
		if (e->op == OP_DET) {
			v->data[0] = det;
		} else if (sign <= 0) {
			char *w = shown(ev, e->kids[0]);
			fail(ev, "log of a non-positive value: det(%s) is %s", w,
			     sign == 0 ? "0" : "negative");
			free(w);
			value_free(v);
			break;
		} else {
			v->data[0] = la;
		}
		*out = owned(v);
		ok = true;
		break;
	}
	case OP_DIAG: {
		if (!ev_node(ev, e->kids[0], -1, -1, &a))
			break;
		const struct value *x = a.v;
		struct value *v;
		if (x->rows == 1 || x->cols == 1) {
			long n = x->rows * x->cols;
			v = value_new(n, n);
			for (long i = 0; i < n; i++)
				v->data[i * n + i] = x->data[i];
		} else if (x->rows == x->cols) {
			v = value_new(x->rows, 1);
			for (long i = 0; i < x->rows; i++)
				v->data[i] = x->data[i * x->rows + i];
		} else {
			char *w = shown(ev, e->kids[0]);
			char sh[64];
			shape_of(x, sh, sizeof sh);
			fail(ev, "diag needs a vector or a square matrix, but %s is %s", w, sh);
			free(w);
			break;
		}
		*out = owned(v);
		ok = true;
		break;
	}
	case OP_COMM: {
		long m = ev_dim(ev, (int)e->vrows), n = ev_dim(ev, (int)e->vcols);
		if (m <= 0 || n <= 0) {
			char *w = shown(ev, e);
			fail(ev,
			     "the size of %s is not known: bind a value to a symbol of that size",
			     w);
			free(w);
			break;
		}
		/* K vec(A) = vec(A^T): entry (j + i n, i + j m) is 1 */
		struct value *v = value_new(m * n, m * n);
		for (long i = 0; i < m; i++)
			for (long j = 0; j < n; j++)
				v->data[(j + i * n) + (i + j * m) * m * n] = 1;
		*out = owned(v);
		ok = true;
		break;
	}
	case OP_SOFTMAX:
	case OP_LOGSUMEXP: {
		if (!ev_node(ev, e->kids[0], -1, -1, &a))
			break;
		/* shifted by the largest entry, so that exp never overflows */
		long n = a.v->rows * a.v->cols;
		double mx = -INFINITY, z = 0;
		for (long i = 0; i < n; i++)
			mx = fmax(mx, a.v->data[i]);
		for (long i = 0; i < n; i++)
			z += exp(a.v->data[i] - mx);
		struct value *v;
		if (e->op == OP_LOGSUMEXP) {
			v = value_new(1, 1);
			v->data[0] = mx + log(z);
		} else {
			v = value_new(a.v->rows, a.v->cols);
			for (long i = 0; i < n; i++)
				v->data[i] = exp(a.v->data[i] - mx) / z;
		}
		*out = owned(v);
		ok = true;
		break;
	}
	case OP_SUM: {
		if (!ev_node(ev, e->kids[0], -1, -1, &a))
			break;
		struct value *v = value_new(1, 1);
		for (long i = 0; i < a.v->rows * a.v->cols; i++)
			v->data[0] += a.v->data[i];
		*out = owned(v);
		ok = true;
		break;
	}
	case OP_VEC: {
		if (!ev_node(ev, e->kids[0], -1, -1, &a))
			break;
		/* column-major storage is already vec(A) */
		struct value *v = own(&a);
		v->rows *= v->cols;
		v->cols = 1;
		*out = a;
		return true;
	}
	default:
		if (e->op >= OP_EXP && e->op <= OP_RELU) {
			if (!ev_node(ev, e->kids[0], r, c, &a))
				break;
			ok = ev_unary(ev, e, &a, out);
			break;
		}
		if (e->op == OP_DIFF) {
			char *w = shown(ev, e);
			fail(ev, "%s has no value: a differential is not a number", w);
			free(w);
			break;
		}
		fail(ev, "cannot evaluate %s here: work it out first",
		     expr_op_info(e->op)->name ? expr_op_info(e->op)->name : "this");
		break;
	}
	drop(&a);
	drop(&b);
	return ok;
}

static bool ev_node(struct ev *ev, const struct expr *e, long hr, long hc, struct ref *out)
{
	long r = ev_dim(ev, e->rows), c = ev_dim(ev, e->cols);
	bool hinted = r < 0 || c < 0;
	if (r < 0)
		r = hr;
	if (c < 0)
		c = hc;
	for (int i = 0; i < ev->o->nleaves; i++)
		if (ev->o->leaves[i] == e) {
			*out = (struct ref){ev->o->leaf_values[i], false};
			return true;
		}
	if (uses(ev, e) <= 1 || e->op == OP_SYM)
		return ev_compute(ev, e, r, c, out);
	long ka = hinted ? r : -1, kb = hinted ? c : -1;
	struct map_ent *m = map_get(&ev->memo, e, ka, kb, false);
	if (m && m->p) {
		*out = (struct ref){m->p, false};
		return true;
	}
	struct ref v;
	if (!ev_compute(ev, e, r, c, &v))
		return false;
	if (!v.own) {
		*out = v;
		return true;
	}
	m = map_get(&ev->memo, e, ka, kb, true);
	m->p = v.v;
	*out = (struct ref){v.v, false};
	return true;
}

struct value *eval_expr_opts(struct session *s, const struct expr *e, const struct eval_opts *o)
{
	struct eval_opts none = {0};
	struct eval_stats st;
	memset(&st, 0, sizeof st);
	struct ev ev = {.s = s, .mc = s->mc, .o = o ? o : &none, .st = &st};
	if (o && o->stats)
		ev.st = o->stats;
	memset(ev.st, 0, sizeof *ev.st);
	count_uses(&ev, e);
	struct ref r;
	long hr = ev.o->hint_rows > 0 ? ev.o->hint_rows : -1;
	long hc = ev.o->hint_cols > 0 ? ev.o->hint_cols : -1;
	struct value *res = NULL;
	if (ev_node(&ev, e, hr, hc, &r))
		res = r.own ? r.v : value_copy(r.v);
	for (size_t i = 0; i < ev.memo.cap; i++)
		if (ev.memo.e[i].key)
			value_free(ev.memo.e[i].p);
	for (size_t i = 0; i < ev.facts.cap; i++)
		if (ev.facts.e[i].key)
			fact_free(ev.facts.e[i].p);
	free(ev.memo.e);
	free(ev.facts.e);
	free(ev.uses.e);
	return res;
}

struct value *eval_expr(struct session *s, const struct expr *e)
{
	return eval_expr_opts(s, e, NULL);
}

bool eval_all_bound(struct session *s, const struct expr *e)
{
	struct map seen = {0};
	const struct expr **stack = mc_xmalloc(64 * sizeof *stack);
	size_t n = 0, cap = 64;
	bool ok = true, data = false;
	stack[n++] = e;
	while (n && ok) {
		const struct expr *x = stack[--n];
		struct map_ent *m = map_get(&seen, x, 0, 0, true);
		if (m->n++)
			continue;
		switch (x->op) {
		case OP_SYM:
			data = true;
			ok = value_of(s, x->decl) != NULL;
			break;
		case OP_MATRIX:
			data = true;
			break;
		case OP_ZERO:
		case OP_ONES:
		case OP_IDENT:
			/* zeros(2, 2), or X - X once X has a value: sizes known, a value */
			if (dim_value(s->mc, x->rows) > 0 && dim_value(s->mc, x->cols) > 0)
				data = true;
			break;
		case OP_PVAR:
		case OP_DIFF:
		case OP_GRAD:
		case OP_HESS:
		case OP_JAC:
		case OP_D:
		case OP_EQ:
			ok = false;
			break;
		default:
			break;
		}
		for (int i = 0; i < x->nkids; i++) {
			if (n == cap) {
				cap *= 2;
				stack = mc_xrealloc(stack, cap * sizeof *stack);
			}
			stack[n++] = x->kids[i];
		}
	}
	free(stack);
	free(seen.e);
	return ok && data;
}
