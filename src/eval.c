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

static bool too_large(struct ev *ev, const struct expr *e, long r, long c);

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
			if (LAPACKE_dpocon(LAPACK_COL_MAJOR, 'U', (lapack_int)n, f->a,
					   (lapack_int)n, anorm, &rcond) != 0)
				rcond = 0; /* no estimate: refused as singular */
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
		if (info == 0 && LAPACKE_dgecon(LAPACK_COL_MAJOR, '1', (lapack_int)n, f->a,
						(lapack_int)n, anorm, &rcond) != 0)
			rcond = 0;
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
	lapack_int n = (lapack_int)f->n, k = (lapack_int)b->cols, info;
	if (f->chol)
		info = LAPACKE_dpotrs(LAPACK_COL_MAJOR, 'U', n, k, f->a, n, b->data, n);
	else
		info = LAPACKE_dgetrs(LAPACK_COL_MAJOR, trans ? 'T' : 'N', n, k, f->a, n, f->ipiv,
				      b->data, n);
	/* the error is sticky: eval_expr_opts returns no value */
	if (info != 0)
		fail(ev, "LAPACK could not solve a %ld×%ld system (info %d)", (long)n, (long)n,
		     (int)info);
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
		if (LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', (lapack_int)n, v->data, (lapack_int)n) != 0)
			fail(ev, "LAPACK could not invert a %ld×%ld matrix", n, n);
		for (long j = 0; j < n; j++)
			for (long i = j + 1; i < n; i++)
				v->data[j * n + i] = v->data[i * n + j];
		return v;
	}
	if (LAPACKE_dgetri(LAPACK_COL_MAJOR, (lapack_int)n, v->data, (lapack_int)n, f->ipiv) != 0)
		fail(ev, "LAPACK could not invert a %ld×%ld matrix", n, n);
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
	bool diag; /* diag(v) of a vector v: r holds v, never the n x n matrix */
	bool kron; /* A ⊗ B: r holds A, r2 B, never the product */
	struct ref r2;
	long ida, idb; /* kron: the size of A (B) when it is an identity, else 0 */
	bool comm;     /* the commutation matrix K(cm, cn): a transpose, never formed */
	long cm, cn;
	long rows, cols; /* as it multiplies */
};

/* An operand of one multiplication: a factor of the chain (leaf >= 0) or a
 * product computed on the way (own). */
struct opnd {
	const struct value *v;
	struct value *own;
	bool trans, inv;
	bool diag; /* v is the diagonal of a diagonal matrix */
	bool kron; /* the Kronecker factor fs[leaf], not formed */
	bool comm; /* the commutation matrix fs[leaf], not formed */
	int leaf;
	long rows, cols;
};

static struct opnd leaf_opnd(struct factor *f, int i)
{
	return (struct opnd){f[i].r.v,	NULL,	   f[i].trans, f[i].inv,  f[i].diag,
			     f[i].kron, f[i].comm, i,	       f[i].rows, f[i].cols};
}

/* The sizes of a Kronecker factor's A and B. */
static void kron_sizes(const struct factor *f, long *ra, long *ca, long *rb, long *cb)
{
	*ra = f->r.v ? f->r.v->rows : f->ida;
	*ca = f->r.v ? f->r.v->cols : f->ida;
	*rb = f->r2.v ? f->r2.v->rows : f->idb;
	*cb = f->r2.v ? f->r2.v->cols : f->idb;
}

/* A ⊗ B formed (owned), transposed when trans: where it is the result, or
 * meets what it cannot act on without being formed. */
static struct value *kron_dense(const struct factor *f, bool trans)
{
	long ra, ca, rb, cb;
	kron_sizes(f, &ra, &ca, &rb, &cb);
	long R = ra * rb, C = ca * cb;
	struct value *v = value_new(R, C);
	for (long j1 = 0; j1 < ca; j1++)
		for (long i1 = 0; i1 < ra; i1++) {
			double s = f->r.v ? f->r.v->data[j1 * ra + i1] : (i1 == j1);
			if (s == 0)
				continue;
			for (long j2 = 0; j2 < cb; j2++)
				for (long i2 = 0; i2 < rb; i2++)
					v->data[(j1 * cb + j2) * R + i1 * rb + i2] =
					    s *
					    (f->r2.v ? f->r2.v->data[j2 * rb + i2] : (i2 == j2));
		}
	if (!trans)
		return v;
	struct value *t = value_uninit(C, R);
	for (long j = 0; j < C; j++)
		for (long i = 0; i < R; i++)
			t->data[i * C + j] = v->data[j * R + i];
	value_free(v);
	return t;
}

/* The n x n matrix diag(v) (owned): only where a diagonal matrix is the result. */
static struct value *diag_matrix(const struct value *v)
{
	long n = v->rows * v->cols;
	struct value *m = value_new(n, n);
	for (long i = 0; i < n; i++)
		m->data[i * n + i] = v->data[i];
	return m;
}

/* The dense value of an operand as it multiplies (transposed, inverted): owned. */
static struct value *dense(struct ev *ev, struct factor *fs, struct opnd *o)
{
	if (o->diag)
		return diag_matrix(o->v);
	if (o->kron)
		return kron_dense(&fs[o->leaf], o->trans);
	if (o->comm) {
		/* K vec(A) = vec(A^T): entry (j + i n, i + j m) is 1 */
		long m = fs[o->leaf].cm, n = fs[o->leaf].cn;
		struct value *v = value_new(m * n, m * n);
		for (long i = 0; i < m; i++)
			for (long j = 0; j < n; j++)
				v->data[(j + i * n) + (i + j * m) * m * n] = 1;
		return v;
	}
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

/* The operand as a plain matrix: an inverse or transpose applied (owned in o). */
static bool settle(struct ev *ev, struct factor *fs, struct opnd *o)
{
	if (!o->inv && !o->trans && !o->kron && !o->comm)
		return true;
	struct value *d = dense(ev, fs, o);
	if (!d)
		return false;
	value_free(o->own);
	o->own = d;
	o->v = d;
	o->inv = o->trans = o->kron = o->comm = false;
	return true;
}

/* K(m, n) M permutes M's rows, M K(m, n) its columns: K vec(A) = vec(Aᵀ) for
 * an m x n A, a transpose of each column (row); K is never formed. */
static bool combine(struct ev *ev, struct factor *fs, struct opnd *a, struct opnd *b, double alpha,
		    struct value *acc, struct value **out);

static bool combine_comm(struct ev *ev, struct factor *fs, struct opnd *a, struct opnd *b,
			 double alpha, struct value *acc, struct value **out)
{
	*out = NULL;
	struct opnd *k = a->comm ? a : b, *o = a->comm ? b : a;
	if (o->comm || o->kron || o->diag) {
		if (!settle(ev, fs, a) || !settle(ev, fs, b))
			return false;
		return combine(ev, fs, a, b, alpha, acc, out);
	}
	if (!settle(ev, fs, o))
		return false;
	long m = fs[k->leaf].cm, n = fs[k->leaf].cn;
	const struct value *x = o->v;
	struct value *r = value_uninit(x->rows, x->cols);
	if (k == a) {
		for (long c = 0; c < x->cols; c++)
			for (long i = 0; i < m; i++)
				for (long j = 0; j < n; j++)
					r->data[c * r->rows + j + i * n] =
					    x->data[c * x->rows + i + j * m];
	} else {
		for (long i = 0; i < m; i++)
			for (long j = 0; j < n; j++)
				memcpy(r->data + (i + j * m) * x->rows,
				       x->data + (j + i * n) * x->rows,
				       (size_t)x->rows * sizeof(double));
	}
	finish(r, alpha, acc, out);
	return true;
}

/* op(A ⊗ B) M, column by column: (A ⊗ B) vec(V) = vec(B V Aᵀ) (MC 520), V the
 * column of M as a cb x ca matrix; the product is never formed. With acc,
 * adds alpha * result to acc; else returns it in *out (owned). */
static void kron_apply(struct ev *ev, const struct factor *f, bool trans, const struct value *m,
		       double alpha, struct value *acc, struct value **out)
{
	long ra, ca, rb, cb;
	kron_sizes(f, &ra, &ca, &rb, &cb);
	const struct value *a = f->r.v, *b = f->r2.v;
	long ar = trans ? ca : ra, ac = trans ? ra : ca, br = trans ? cb : rb, bc = trans ? rb : cb;
	long k = m->cols;
	struct value *res = acc ? acc : value_new(ar * br, k);
	struct value *t = value_uninit(br, ac);
	for (long j = 0; j < k; j++) {
		const double *v = m->data + j * ac * bc;
		double *rc = res->data + j * ar * br;
		if (b) {
			cblas_dgemm(CblasColMajor, trans ? CblasTrans : CblasNoTrans, CblasNoTrans,
				    (int)br, (int)ac, (int)bc, 1, b->data, (int)rb, v, (int)bc, 0,
				    t->data, (int)br);
			ev->st->gemm++;
			ev->st->flops += 2.0 * br * bc * ac;
		} else {
			memcpy(t->data, v, (size_t)(br * ac) * sizeof(double));
		}
		if (a) {
			cblas_dgemm(CblasColMajor, CblasNoTrans, trans ? CblasNoTrans : CblasTrans,
				    (int)br, (int)ar, (int)ac, alpha, t->data, (int)br, a->data,
				    (int)ra, 1, rc, (int)br);
			ev->st->gemm++;
			ev->st->flops += 2.0 * br * ac * ar;
		} else {
			cblas_daxpy((int)(br * ar), alpha, t->data, 1, rc, 1);
		}
	}
	value_free(t);
	if (!acc)
		*out = res;
}

static bool combine(struct ev *ev, struct factor *fs, struct opnd *a, struct opnd *b, double alpha,
		    struct value *acc, struct value **out);

/* A product with a Kronecker side acting on a plain matrix: kron_apply, or
 * M op(A ⊗ B) = (op(A ⊗ B)ᵀ Mᵀ)ᵀ; anything else forms the Kronecker product. */
static bool combine_kron(struct ev *ev, struct factor *fs, struct opnd *a, struct opnd *b,
			 double alpha, struct value *acc, struct value **out)
{
	*out = NULL;
	struct opnd *k = a->kron ? a : b, *o = a->kron ? b : a;
	if (o->kron || o->diag) {
		if (!settle(ev, fs, a) || !settle(ev, fs, b))
			return false;
		return combine(ev, fs, a, b, alpha, acc, out);
	}
	if (!settle(ev, fs, o))
		return false;
	if (k == a) {
		kron_apply(ev, &fs[k->leaf], k->trans, o->v, alpha, acc, out);
		return true;
	}
	struct value *mt = transposed(o->v), *y = NULL;
	kron_apply(ev, &fs[k->leaf], !k->trans, mt, 1, NULL, &y);
	value_free(mt);
	struct value *r = transposed(y);
	value_free(y);
	finish(r, alpha, acc, out);
	return true;
}

/* A product with a diagonal side: diag(u) diag(v) is diag(u ⊙ v), diag(v) B
 * scales B's rows, A diag(v) A's columns; no n x n diagonal is formed. With
 * acc, adds alpha * result to acc; else returns it in *out (owned; the
 * diagonal of a diagonal result, flagged by the caller from the operands). */
static bool combine_diag(struct ev *ev, struct factor *fs, struct opnd *a, struct opnd *b,
			 double alpha, struct value *acc, struct value **out)
{
	long m = a->rows, n = b->cols;
	if (a->diag && b->diag) {
		struct value *x = value_uninit(m, 1);
		for (long i = 0; i < m; i++)
			x->data[i] = alpha * a->v->data[i] * b->v->data[i];
		ev->st->flops += (double)m;
		if (acc) {
			for (long i = 0; i < m; i++)
				acc->data[i * m + i] += x->data[i];
			value_free(x);
		} else {
			*out = x;
		}
		return true;
	}
	struct opnd *d = a->diag ? a : b, *o = a->diag ? b : a;
	if (!settle(ev, fs, o))
		return false;
	const double *v = d->v->data, *x = o->v->data;
	ev->st->flops += (double)m * n;
	/* a fresh result is written, never read: 0 * (uninitialised NaN) is NaN */
	struct value *r = acc ? acc : value_new(m, n);
	for (long j = 0; j < n; j++) {
		double *rc = r->data + j * m;
		const double *xc = x + j * m;
		if (a->diag) {
			for (long i = 0; i < m; i++)
				rc[i] += alpha * v[i] * xc[i];
		} else {
			double s = alpha * v[j];
			for (long i = 0; i < m; i++)
				rc[i] += s * xc[i];
		}
	}
	if (!acc)
		*out = r;
	return true;
}

/* alpha Aᵀ diag(w) A (trans) or alpha A diag(w) Aᵀ, w NULL for Aᵀ A / A Aᵀ:
 * symmetric, so computed once by dsyrk on A's rows (columns) scaled by
 * sqrt|w_i|: rows with w_i > 0 in one call, w_i < 0 in another with -alpha,
 * w_i = 0 left out; half the flops of a general product and no m x m
 * diagonal. A weight that is not finite goes the general way (a scaled copy
 * and dgemm), so NaN and Inf propagate as they would. Adds into acc, or
 * returns the result in *out (owned). */
static void sandwich(struct ev *ev, const struct value *a, bool trans, const struct value *w,
		     double alpha, struct value *acc, struct value **out)
{
	long m = trans ? a->rows : a->cols, k = trans ? a->cols : a->rows;
	struct value *c = value_new(k, k);
	bool finite = true;
	for (long i = 0; w && i < m; i++)
		finite &= isfinite(w->data[i]) != 0;
	if (!w) {
		cblas_dsyrk(CblasColMajor, CblasUpper, trans ? CblasTrans : CblasNoTrans, (int)k,
			    (int)m, alpha, a->data, (int)a->rows, 0, c->data, (int)k);
		ev->st->syrk++;
		ev->st->flops += (double)m * k * k;
	} else if (finite) {
		for (int sign = 1; sign >= -1; sign -= 2) {
			long p = 0;
			for (long i = 0; i < m; i++)
				p += sign * w->data[i] > 0;
			if (p == 0)
				continue;
			struct value *b = value_uninit(trans ? p : k, trans ? k : p);
			long q = 0;
			for (long i = 0; i < m; i++) {
				double wi = sign * w->data[i];
				if (!(wi > 0))
					continue;
				double s = sqrt(wi);
				if (trans)
					for (long j = 0; j < k; j++)
						b->data[j * p + q] = s * a->data[j * m + i];
				else
					for (long j = 0; j < k; j++)
						b->data[q * k + j] = s * a->data[i * k + j];
				q++;
			}
			cblas_dsyrk(CblasColMajor, CblasUpper, trans ? CblasTrans : CblasNoTrans,
				    (int)k, (int)p, sign * alpha, b->data, (int)b->rows, 1, c->data,
				    (int)k);
			ev->st->syrk++;
			ev->st->flops += (double)p * k * k + (double)p * k;
			value_free(b);
		}
	} else {
		/* B = diag(w) A (trans) or A diag(w); C = Aᵀ B or B Aᵀ, both triangles */
		struct value *b = value_uninit(a->rows, a->cols);
		for (long j = 0; j < a->cols; j++)
			for (long i = 0; i < a->rows; i++)
				b->data[j * a->rows + i] =
				    w->data[trans ? i : j] * a->data[j * a->rows + i];
		cblas_dgemm(CblasColMajor, trans ? CblasTrans : CblasNoTrans,
			    trans ? CblasNoTrans : CblasTrans, (int)k, (int)k, (int)m, alpha,
			    trans ? a->data : b->data, (int)a->rows, trans ? b->data : a->data,
			    (int)a->rows, 0, c->data, (int)k);
		ev->st->gemm++;
		ev->st->flops += 2.0 * m * k * k;
		value_free(b);
	}
	/* the lower triangle from the upper (dgemm filled both: the same) */
	for (long j = 0; j < k; j++)
		for (long i = j + 1; i < k; i++)
			c->data[j * k + i] = c->data[i * k + j];
	if (acc) {
		cblas_daxpy((int)(k * k), 1, c->data, 1, acc->data, 1);
		value_free(c);
	} else {
		*out = c;
	}
}

/* Combines two operands: a product, or a solve when one side is an inverse.
 * With acc, adds alpha * result to acc; else returns it in *out (owned). */
static bool combine(struct ev *ev, struct factor *fs, struct opnd *a, struct opnd *b, double alpha,
		    struct value *acc, struct value **out)
{
	*out = NULL;
	if (a->comm || b->comm)
		return combine_comm(ev, fs, a, b, alpha, acc, out);
	if (a->kron || b->kron)
		return combine_kron(ev, fs, a, b, alpha, acc, out);
	if (a->diag || b->diag)
		return combine_diag(ev, fs, a, b, alpha, acc, out);
	if (a->inv && b->inv) {
		/* two inverses side by side: one must be formed */
		struct value *bi = dense(ev, fs, b);
		if (!bi)
			return false;
		b->own = bi;
		b->v = bi;
		b->inv = b->trans = false;
	}
	if (!acc && too_large(ev, NULL, a->rows, b->cols))
		return false;
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
	bool ld = i == k && f[i].diag, rd = k + 1 == j && f[j].diag;
	if (ld || rd)
		return ld && rd ? m : m * n; /* a scaling */
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
	/* each product of a long chain can take long: the clock (and Ctrl-C)
	 * is read before each one */
	if (limit_poll_now(&ev->mc->lim) ||
	    !chain_exec(ev, f, split, n, k + 1, j, 1, NULL, false, &b)) {
		value_free(a.own);
		return false;
	}
	if (limit_poll_now(&ev->mc->lim)) {
		value_free(a.own);
		value_free(b.own);
		return false;
	}
	struct value *r = NULL;
	bool diag = a.diag && b.diag;
	bool ok = combine(ev, f, &a, &b, top ? alpha : 1, top ? acc : NULL, &r);
	value_free(a.own);
	value_free(b.own);
	if (!ok)
		return false;
	if (diag && top && r) {
		/* a diagonal result is the statement's value: now it is formed */
		struct value *d = diag_matrix(r);
		value_free(r);
		r = d;
		diag = false;
	}
	*out = (struct opnd){r, r, false, false, diag, false, false, -1, f[i].rows, f[j].cols};
	return true;
}

static bool ev_node(struct ev *ev, const struct expr *e, long hr, long hc, struct ref *out);

/* Whether e is diag(v) of a vector v: a factor that scales, never formed. */
static bool is_diag_of_vector(struct ev *ev, const struct expr *e)
{
	if (e->op != OP_DIAG)
		return false;
	const struct expr *v = e->kids[0];
	return dim_is_one(ev->mc, v->rows) != dim_is_one(ev->mc, v->cols);
}

/* A diag(v) factor: r holds v (a column); its inverse is diag(1 ./ v), its
 * transpose itself. */
static bool diag_factor(struct ev *ev, struct factor *x)
{
	const struct expr *vn = x->operand->kids[0];
	if (!ev_node(ev, vn, -1, -1, &x->r))
		return false;
	x->diag = true;
	x->trans = false;
	if (x->r.v->rows != 1 && x->r.v->cols != 1) {
		char *w = shown(ev, vn);
		char sh[64];
		shape_of(x->r.v, sh, sizeof sh);
		fail(ev, "%s should be a vector, but its value is %s", w, sh);
		free(w);
		return false;
	}
	if (x->inv) {
		struct value *v = own(&x->r);
		for (long i = 0; i < v->rows * v->cols; i++) {
			if (v->data[i] == 0) {
				char *w = shown(ev, x->operand);
				fail(ev,
				     "cannot invert %s: it is singular (a zero on the diagonal)",
				     w);
				free(w);
				return false;
			}
			v->data[i] = 1 / v->data[i];
		}
		x->inv = false;
	}
	return true;
}

/* An A ⊗ B factor: A and B evaluated, the product not (an identity kid takes
 * its size from the product's). 1 done, 0 not this way (the product is
 * evaluated as a whole), -1 an error. */
static int kron_factor(struct ev *ev, struct factor *x)
{
	const struct expr *ka = x->operand->kids[0], *kb = x->operand->kids[1];
	long R = ev_dim(ev, x->operand->rows), C = ev_dim(ev, x->operand->cols);
	bool ia = ka->op == OP_IDENT, ib = kb->op == OP_IDENT;
	if ((ia && ib) || (!ia && unknown_shape(ka)) || (!ib && unknown_shape(kb)))
		return 0;
	if (!ia && !ev_node(ev, ka, -1, -1, &x->r))
		return -1;
	if (!ib && !ev_node(ev, kb, -1, -1, &x->r2))
		return -1;
	long n = 1;
	if (ia || ib) {
		const struct value *known = ia ? x->r2.v : x->r.v;
		n = R > 0 && R % known->rows == 0 ? R / known->rows : -1;
		if (n <= 0 || (C > 0 && C != n * known->cols)) {
			drop(&x->r);
			drop(&x->r2);
			return 0;
		}
	}
	x->ida = ia ? n : 0;
	x->idb = ib ? n : 0;
	x->kron = true;
	return 1;
}

/* A factor's size as it multiplies: its rows (cols false) or columns. */
static long factor_size(const struct factor *f, bool cols)
{
	const struct value *v = f->r.v;
	if (f->comm)
		return f->cm * f->cn;
	bool flip = f->trans != cols; /* the operand's columns are wanted */
	if (f->kron) {
		long ra, ca, rb, cb;
		kron_sizes(f, &ra, &ca, &rb, &cb);
		return flip ? ca * cb : ra * rb;
	}
	return f->diag ? v->rows * v->cols : flip ? v->cols : v->rows;
}

static long factor_rows(const struct factor *f) { return factor_size(f, false); }

static long factor_cols(const struct factor *f) { return factor_size(f, true); }

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
		if (is_diag_of_vector(ev, x->operand)) {
			if (!diag_factor(ev, x))
				goto out;
			continue;
		}
		if (x->operand->op == OP_COMM && !x->inv && !x->trans) {
			x->cm = ev_dim(ev, (int)x->operand->vrows);
			x->cn = ev_dim(ev, (int)x->operand->vcols);
			if (x->cm > 0 && x->cn > 0) {
				x->comm = true;
				continue;
			}
		}
		if (x->operand->op == OP_KRON && !x->inv) {
			int kf = kron_factor(ev, x);
			if (kf < 0)
				goto out;
			if (kf > 0)
				continue;
		}
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
				sz = factor_cols(&f[j]);
		for (int j = i + 1; j < n && sz < 0; j++)
			if (!f[j].deferred)
				sz = factor_rows(&f[j]);
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
		f[i].rows = factor_rows(&f[i]);
		f[i].cols = factor_cols(&f[i]);
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
			if (too_large(ev, e, idsize, idsize))
				goto out;
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
	/* Aᵀ A, A Aᵀ, Aᵀ diag(w) A, A diag(w) Aᵀ: symmetric, computed once */
	int sw = n == 3 && f[1].diag ? 2 : n == 2 ? 1 : 0;
	if (sw && f[0].operand == f[sw].operand && f[0].trans != f[sw].trans && !f[0].inv &&
	    !f[sw].inv && !f[0].diag && !f[sw].diag && !f[0].kron && !f[0].comm &&
	    !ev->o->left_to_right) {
		struct value *r = NULL;
		sandwich(ev, f[0].r.v, f[0].trans, sw == 2 ? f[1].r.v : NULL, coef, acc, &r);
		if (!acc)
			*out = owned(r);
		ok = true;
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
	for (int i = 0; i < n; i++) {
		drop(&f[i].r);
		drop(&f[i].r2);
	}
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

/* A term s Aᵀ diag(w) A, s Aᵀ A (trans) or s A diag(w) Aᵀ, s A Aᵀ with s a
 * product of scalars: sets a, trans and w (NULL: no diagonal). */
static bool sandwich_term(struct ev *ev, const struct expr *t, const struct expr **a, bool *trans,
			  const struct expr **w)
{
	if (t->op != OP_MUL)
		return false;
	const struct expr *m[3];
	int n = 0;
	for (int i = 0; i < t->nkids; i++) {
		if (is_scalar_node(ev, t->kids[i]))
			continue;
		if (n == 3)
			return false;
		m[n++] = t->kids[i];
	}
	if (n == 3 && !is_diag_of_vector(ev, m[1]))
		return false;
	if (n < 2)
		return false;
	*w = n == 3 ? m[1]->kids[0] : NULL;
	return expr_sandwich_ends(m[0], m[n - 1], a, trans);
}

/* The product of a term's scalar factors. */
static bool scalar_coef(struct ev *ev, const struct expr *t, double *coef)
{
	*coef = 1;
	for (int i = 0; i < t->nkids; i++) {
		if (!is_scalar_node(ev, t->kids[i]))
			continue;
		struct ref r;
		if (!ev_node(ev, t->kids[i], 1, 1, &r))
			return false;
		if (r.v->rows * r.v->cols != 1) {
			char *w = shown(ev, t->kids[i]);
			fail(ev, "%s should be a scalar, but its value is %ld×%ld", w, r.v->rows,
			     r.v->cols);
			free(w);
			drop(&r);
			return false;
		}
		*coef *= r.v->data[0];
		drop(&r);
	}
	return true;
}

/* Terms of a sum that are sandwiches of the same A, Σ s_i Aᵀ diag(w_i) A, as
 * one Aᵀ diag(Σ s_i w_i) A (a plain Aᵀ A has w = 1): the logistic Hessian's
 * two terms are one product. Marks the terms it took in done; adds into acc
 * (or starts it). */
static bool add_sandwiches(struct ev *ev, const struct expr *e, bool *done, struct ref *acc)
{
	for (int i = 0; i < e->nkids; i++) {
		const struct expr *a, *w;
		bool tr;
		if (done[i] || !sandwich_term(ev, e->kids[i], &a, &tr, &w))
			continue;
		int group = 0;
		for (int j = i + 1; j < e->nkids; j++) {
			const struct expr *a2, *w2;
			bool tr2;
			if (!done[j] && sandwich_term(ev, e->kids[j], &a2, &tr2, &w2) && a2 == a &&
			    tr2 == tr)
				group++;
		}
		if (!group)
			continue;
		struct ref av;
		if (!ev_node(ev, a, -1, -1, &av))
			return false;
		long m = tr ? av.v->rows : av.v->cols, k = tr ? av.v->cols : av.v->rows;
		if (acc->v && (acc->v->rows != k || acc->v->cols != k)) {
			drop(&av);
			continue; /* the general way reports the sizes */
		}
		struct value *sum = value_new(m, 1);
		bool ok = true;
		for (int j = i; j < e->nkids && ok; j++) {
			const struct expr *a2, *w2;
			bool tr2;
			if (done[j] || !sandwich_term(ev, e->kids[j], &a2, &tr2, &w2) || a2 != a ||
			    tr2 != tr)
				continue;
			double s;
			ok = scalar_coef(ev, e->kids[j], &s);
			if (!ok)
				break;
			done[j] = true;
			if (!w2) {
				for (long q = 0; q < m; q++)
					sum->data[q] += s;
				continue;
			}
			struct ref wv;
			ok = ev_node(ev, w2, -1, -1, &wv);
			if (!ok)
				break;
			if (wv.v->rows * wv.v->cols != m) {
				char *x = shown(ev, e->kids[j]);
				fail(ev, "cannot multiply out %s: the values' sizes do not fit", x);
				free(x);
				ok = false;
			} else {
				cblas_daxpy((int)m, s, wv.v->data, 1, sum->data, 1);
			}
			drop(&wv);
		}
		if (ok) {
			struct value *r = NULL;
			sandwich(ev, av.v, tr, sum, 1, acc->v ? own(acc) : NULL, &r);
			if (!acc->v)
				*acc = owned(r);
		}
		value_free(sum);
		drop(&av);
		if (!ok)
			return false;
	}
	return true;
}

/* A term s I (s a product of scalars, or none): added to the diagonal. */
static bool identity_term(struct ev *ev, const struct expr *t)
{
	if (t->op == OP_IDENT)
		return true;
	if (t->op != OP_MUL)
		return false;
	int ids = 0;
	for (int i = 0; i < t->nkids; i++) {
		if (t->kids[i]->op == OP_IDENT)
			ids++;
		else if (!is_scalar_node(ev, t->kids[i]))
			return false;
	}
	return ids == 1;
}

static bool ev_add(struct ev *ev, const struct expr *e, long r, long c, struct ref *out)
{
	struct ref acc = {0};
	bool *done = mc_xmalloc((size_t)e->nkids * sizeof *done);
	memset(done, 0, (size_t)e->nkids * sizeof *done);
	if (!add_sandwiches(ev, e, done, &acc))
		goto fail;
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < e->nkids; i++) {
			const struct expr *k = e->kids[i];
			if (done[i] || unknown_shape(k) != (pass == 1))
				continue;
			if (pass == 1 && acc.v && acc.v->rows == acc.v->cols && acc.v->rows > 1 &&
			    identity_term(ev, k)) {
				/* s I: a diagonal update, no n x n identity */
				double s;
				if (!scalar_coef(ev, k, &s))
					goto fail;
				struct value *v = own(&acc);
				for (long q = 0; q < v->rows; q++)
					v->data[q * v->rows + q] += s;
				continue;
			}
			if (pass == 1 && acc.v && k->op == OP_ZERO)
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
	free(done);
	return true;
fail:
	free(done);
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
	/* info > 0 is a zero pivot (det 0, found below); < 0 a failure */
	if (LAPACKE_dgetrf(LAPACK_COL_MAJOR, (lapack_int)n, (lapack_int)n, lu, (lapack_int)n,
			   ipiv) < 0)
		fail(ev, "LAPACK could not factor a %ld×%ld matrix", n, n);
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
	for (; k > 0 && !limit_poll_now(&ev->mc->lim); k >>= 1) {
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
	if (k > 0) { /* stopped by a limit */
		value_free(res);
		return false;
	}
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
	case OP_SIZE: {
		long k = ev_dim(ev, (int)e->vrows);
		if (k <= 0) {
			char *w = shown(ev, e);
			fail(ev, "the size %s is not known: bind a value to a symbol of that size", w);
			free(w);
			break;
		}
		struct value *v = value_new(1, 1);
		v->data[0] = (double)k;
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

/* A value of r x c beyond VALUE_MAX_ENTRIES is an error, not an allocation
 * that fails: a Hessian with respect to a 100 x 100 matrix has 10^8 entries. */
static bool too_large(struct ev *ev, const struct expr *e, long r, long c)
{
	if (r <= 0 || c <= 0 || (double)r * (double)c <= (double)VALUE_MAX_ENTRIES)
		return false;
	char *w = e ? shown(ev, e) : NULL;
	fail(ev,
	     "%s%s would be %ld×%ld, more than the %ld entries a value may have (a Hessian "
	     "with respect to an n×m matrix is nm×nm: apply it to a direction with "
	     "hessvec(f, X, V) instead)",
	     w ? "the value of " : "a product", w ? w : "", r, c, VALUE_MAX_ENTRIES);
	free(w);
	return true;
}

static bool ev_node(struct ev *ev, const struct expr *e, long hr, long hc, struct ref *out)
{
	if (limit_poll_now(&ev->mc->lim) || !limit_check_memory(&ev->mc->lim))
		return false; /* the statement's time or memory is up */
	long r = ev_dim(ev, e->rows), c = ev_dim(ev, e->cols);
	bool hinted = r < 0 || c < 0;
	if (r < 0)
		r = hr;
	if (c < 0)
		c = hc;
	if (too_large(ev, e, r, c))
		return false;
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
	bool failed_before = mc_failed(s->mc);
	if (ev_node(&ev, e, hr, hc, &r)) {
		res = r.own ? r.v : value_copy(r.v);
		if (!failed_before && mc_failed(s->mc)) { /* a LAPACK failure or a limit */
			value_free(res);
			res = NULL;
		}
	}
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

/* Walks e: false when a symbol has no value, or (unless derivs) a derivative
 * or differential is left; *data when e mentions a value. */
static bool bound_walk(struct session *s, const struct expr *e, bool derivs, bool *data)
{
	struct map seen = {0};
	const struct expr **stack = mc_xmalloc(64 * sizeof *stack);
	size_t n = 0, cap = 64;
	bool ok = true;
	*data = false;
	stack[n++] = e;
	while (n && ok) {
		const struct expr *x = stack[--n];
		struct map_ent *m = map_get(&seen, x, 0, 0, true);
		if (m->n++)
			continue;
		switch (x->op) {
		case OP_SYM:
			*data = true;
			ok = value_of(s, x->decl) != NULL;
			break;
		case OP_MATRIX:
			*data = true;
			break;
		case OP_ZERO:
		case OP_ONES:
		case OP_IDENT:
			/* zeros(2, 2), or X - X once X has a value: sizes known, a value */
			if (dim_value(s->mc, x->rows) > 0 && dim_value(s->mc, x->cols) > 0)
				*data = true;
			break;
		case OP_SIZE:
			/* a size as a number: a value once a bound symbol has that size */
			ok = dim_value(s->mc, (int)x->vrows) > 0;
			break;
		case OP_PVAR:
		case OP_DIFF:
		case OP_D:
		case OP_EQ:
			ok = false;
			break;
		case OP_GRAD:
		case OP_HESS:
		case OP_JAC:
			ok = derivs;
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
	return ok;
}

bool eval_all_bound(struct session *s, const struct expr *e)
{
	bool data;
	return bound_walk(s, e, false, &data) && data;
}

bool eval_all_bound_by(struct session *s, const struct expr *call, const struct expr *e)
{
	bool data, call_data;
	if (!bound_walk(s, e, false, &data))
		return false;
	if (data)
		return true;
	/* hess(0.5 ||w||^2, w) = I with w bound: the statement's values fix the size */
	return call->rows >= 0 && call->cols >= 0 && bound_walk(s, call, true, &call_data) &&
	       call_data;
}
