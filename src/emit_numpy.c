/* emit_numpy.c - the NumPy generator (--emit=numpy): a Python function over
 * NumPy arrays, each shared node a temporary, chains ordered by flops and
 * inverses that multiply turned into solves. */
#include "emit.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "print.h"

/* NumPy's number of axes for an r x c value: 0 a float, 1 a vector (either
 * orientation: NumPy has no row vectors), 2 a matrix. */
static int ndim(struct em *em, int r, int c)
{
	return (emit_is_one(em, r) ? 0 : 1) + (emit_is_one(em, c) ? 0 : 1);
}

/* Python's precedence levels, loosest first. */
enum { PY_ADD = 1, PY_MUL, PY_UNARY, PY_POW, PY_ATOM };

/* Deeper expressions are split into temporaries: CPython's parser limits nesting. */
#define PY_MAX_DEPTH 40

/* A piece of Python: owned text, its precedence and its nesting depth. */
struct frag {
	char *s;
	int prec, depth;
};

static struct frag frag_printf(int prec, int depth, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static struct frag frag_printf(int prec, int depth, const char *fmt, ...)
{
	struct sbuf b = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&b, fmt, ap);
	va_end(ap);
	return (struct frag){b.s ? sbuf_take(&b) : mc_xstrdup(""), prec, depth};
}

/* The text of f where precedence minprec is needed (parenthesised if looser);
 * consumes f. */
static char *take(struct frag f, int minprec)
{
	if (f.prec >= minprec)
		return f.s;
	char *s = emit_xprintf("(%s)", f.s);
	free(f.s);
	return s;
}

static int dmax(int a, int b) { return a > b ? a : b; }

/* fn(a) or fn(a, extra). */
static struct frag py_call(const char *fn, struct frag a, const char *extra)
{
	int d = a.depth + 1;
	char *s = take(a, PY_ADD);
	struct frag r = frag_printf(PY_ATOM, d, "%s(%s%s)", fn, s, extra ? extra : "");
	free(s);
	return r;
}

/* a OP b with a at precedence pa and b at pb. */
static struct frag py_bin(struct frag a, int pa, const char *op, struct frag b, int pb, int prec)
{
	int d = dmax(a.depth, b.depth) + 1;
	char *x = take(a, pa), *y = take(b, pb);
	struct frag r = frag_printf(prec, d, "%s %s %s", x, op, y);
	free(x);
	free(y);
	return r;
}

static struct frag py_suffix(struct frag a, const char *suffix)
{
	int d = a.depth;
	char *s = take(a, PY_ATOM);
	struct frag r = frag_printf(PY_ATOM, d, "%s%s", s, suffix);
	free(s);
	return r;
}

static struct frag py_num(double v)
{
	char buf[64];
	emit_num_text(v, buf, sizeof buf, false);
	return frag_printf(buf[0] == '-' ? PY_UNARY : PY_ATOM, 0, "%s", buf);
}

static struct frag py_ref(struct em *em, const struct expr *e, int hr, int hc);

/* Whether a node that is referenced twice is worth a temporary: not a leaf,
 * not a transpose (X.T costs nothing), not a node whose size comes from where
 * it stands. */
static bool py_shareable(const struct expr *e)
{
	switch (e->op) {
	case OP_SYM:
	case OP_NUM:
	case OP_IDENT:
	case OP_ZERO:
	case OP_ONES:
	case OP_T:
		return false;
	default:
		return !emit_unknown_shape(e);
	}
}

static struct frag py_temp(struct em *em, struct frag f)
{
	int t = emit_line_reuse(em, f.s);
	if (t < 0) {
		t = em->ntemps++;
		sbuf_printf(&em->body, "    t%d = %s\n", t, f.s);
	}
	return frag_printf(PY_ATOM, 0, "t%d", t);
}

/* A deep fragment goes into a temporary of its own. */
static struct frag py_spill(struct em *em, struct frag f)
{
	return !em->counting && f.depth > PY_MAX_DEPTH ? py_temp(em, f) : f;
}

/* A size as a function argument: (a * b) needs no parentheses there. */
static char *bare(char *s)
{
	size_t n = strlen(s);
	if (n >= 2 && s[0] == '(' && s[n - 1] == ')') {
		memmove(s, s + 1, n - 2);
		s[n - 2] = '\0';
	}
	return s;
}

/* np.eye / np.zeros / np.ones of the size r x c. */
static struct frag py_filled(struct em *em, const char *fn, int r, int c, const struct expr *e)
{
	int nd = ndim(em, r, c);
	if (nd == 0)
		return frag_printf(PY_ATOM, 0, "%s", strcmp(fn, "zeros") == 0 ? "0.0" : "1.0");
	if (strcmp(fn, "eye") == 0) {
		char *n = bare(emit_dim_need(em, r >= 0 ? r : c, e));
		struct frag f = frag_printf(PY_ATOM, 1, "np.eye(%s)", n);
		free(n);
		return f;
	}
	if (nd == 1) {
		char *n = bare(emit_dim_need(em, emit_is_one(em, r) ? c : r, e));
		struct frag f = frag_printf(PY_ATOM, 1, "np.%s(%s)", fn, n);
		free(n);
		return f;
	}
	char *a = bare(emit_dim_need(em, r, e)), *b = bare(emit_dim_need(em, c, e));
	struct frag f = frag_printf(PY_ATOM, 1, "np.%s((%s, %s))", fn, a, b);
	free(a);
	free(b);
	return f;
}

/* A segment of a product chain while it is put together. */
struct pyseg {
	struct em *em;
	struct frag f;		 /* the value; for a lone factor the operand inside T / ^-1 */
	bool inv;		 /* a lone factor M^-1 (or M^-T), not yet applied */
	bool trans;		 /* a lone factor's transpose, not yet applied (2-D only) */
	bool sym;		 /* a lone factor known symmetric: its transpose is itself */
	bool diag;		 /* f is the diagonal v of diag(v): a scaling, not yet formed */
	const struct expr *comm; /* a lone K(m, n): a transpose, not yet formed (f empty) */
	int rows, cols;
};

/* The value of a segment that is no inverse; consumes s's text. */
static struct frag seg_value(struct pyseg *s)
{
	if (s->comm) {
		free(s->f.s);
		return py_ref(s->em, s->comm, DIM_ANY, DIM_ANY); /* K itself: formed */
	}
	if (s->diag)
		return py_call("np.diag", s->f, NULL); /* a diagonal result: formed */
	return s->trans ? py_suffix(s->f, ".T") : s->f;
}

/* Its transpose: X^T of a lone X^T is X again, not X.T.T. */
static struct frag seg_value_t(struct pyseg *s)
{
	if (s->comm)
		return py_suffix(seg_value(s), ".T");
	if (s->diag)
		return seg_value(s);
	return s->trans || s->sym ? s->f : py_suffix(s->f, ".T");
}

static uint32_t seg_hash(const struct expr *const *k, int n)
{
	uint32_t h = 2166136261u;
	for (int i = 0; i < n; i++)
		h = (h ^ k[i]->id) * 16777619u;
	return h;
}

/* The entry of the factors ch->f[i..j], made on first sight. */
static struct segent *seg_info(struct em *em, const struct chain *ch, int i, int j)
{
	int n = j - i + 1;
	const struct expr **key = mc_xmalloc((size_t)n * sizeof *key);
	for (int l = 0; l < n; l++)
		key[l] = ch->f[i + l].node;
	uint32_t h = seg_hash(key, n);
	if (2 * (em->nsegs + 1) > em->capsegs)
		em->segs = emit_table_grow(em->segs, &em->capsegs, 64, sizeof *em->segs,
					   offsetof(struct segent, hash));
	size_t q = h & (em->capsegs - 1);
	for (; em->segs[q].key; q = (q + 1) & (em->capsegs - 1)) {
		struct segent *se = &em->segs[q];
		if (se->hash == h && se->n == n &&
		    memcmp(se->key, key, (size_t)n * sizeof *key) == 0) {
			free(key);
			return se;
		}
	}
	em->segs[q] = (struct segent){key, n, h, 0, -1};
	em->nsegs++;
	return &em->segs[q];
}

static struct pyseg py_seg(struct em *em, struct chain *ch, int i, int j)
{
	struct pyseg s = {0};
	struct segent *se = NULL;
	if (i < j) {
		bool keyed = true;
		for (int l = i; l <= j; l++)
			keyed &= !emit_unknown_shape(ch->f[l].node);
		se = keyed ? seg_info(em, ch, i, j) : NULL;
	}
	if (se && (em->counting ? se->uses++ > 0 : se->temp >= 0)) {
		/* computed before (the first pass counts, as for nodes) */
		s.f = em->counting ? frag_printf(PY_ATOM, 0, "_")
				   : frag_printf(PY_ATOM, 0, "t%d", se->temp);
		s.rows = ch->f[i].rows;
		s.cols = ch->f[j].cols;
		s.diag = true;
		for (int l = i; l <= j; l++)
			s.diag &= ch->f[l].diag;
		return s;
	}
	s.em = em;
	if (i == j && ch->f[i].comm) {
		s.comm = ch->f[i].operand;
		s.f = frag_printf(PY_ATOM, 0, "%s", "");
		s.rows = ch->f[i].rows;
		s.cols = ch->f[i].cols;
		return s;
	}
	if (i == j) {
		struct leaf *l = &ch->f[i];
		int r = l->trans ? l->cols : l->rows, c = l->trans ? l->rows : l->cols;
		if (l->inv && !l->trans && l->node->op == OP_INV) {
			/* an inverse the statement forms anyway (Σ^-1 in the Gaussian
			 * gradient) multiplies: no solve, which would factor again */
			struct ninfo *n = emit_info(em, l->node);
			if (em->counting)
				n->uses++;
			else if (n->standalone) {
				s.f = py_ref(em, l->node, l->rows, l->cols);
				s.rows = l->rows;
				s.cols = l->cols;
				s.sym = (l->node->flags & EF_SYMMETRIC) != 0;
				return s;
			}
		}
		s.f = l->diag ? py_ref(em, l->operand, DIM_ANY, DIM_ANY)
			      : py_ref(em, l->operand, r, c);
		s.diag = l->diag;
		s.rows = l->rows;
		s.cols = l->cols;
		s.inv = l->inv;
		s.sym = (l->operand->flags & EF_SYMMETRIC) != 0;
		s.trans = l->trans && ndim(em, r, c) == 2 && !s.sym;
		return s;
	}
	int k = ch->split[i * ch->n + j];
	struct pyseg a = py_seg(em, ch, i, k), b = py_seg(em, ch, k + 1, j);
	s.rows = a.rows;
	s.cols = b.cols;
	if ((a.comm && !b.comm && !b.diag) || (b.comm && !a.comm && !a.diag)) {
		/* K(m, n) B permutes B's rows, A K(m, n) A's columns: reshapes */
		struct pyseg *kk = a.comm ? &a : &b, *o = a.comm ? &b : &a;
		char *m = bare(emit_dim_need(em, (int)kk->comm->vrows, kk->comm));
		char *n = bare(emit_dim_need(em, (int)kk->comm->vcols, kk->comm));
		struct frag x =
		    o->inv ? py_call("np.linalg.inv", seg_value(o), NULL) : seg_value(o);
		bool flat = ndim(em, o->rows, o->cols) < 2;
		int d = x.depth + 1;
		char *xs = take(x, PY_ATOM);
		free(kk->f.s);
		if (flat)
			s.f = frag_printf(
			    PY_ATOM, d, "%s.reshape((%s, %s), order='F').T.reshape(-1, order='F')",
			    xs, a.comm ? m : n, a.comm ? n : m);
		else if (a.comm)
			s.f = frag_printf(PY_ATOM, d,
					  "%s.reshape((%s, %s, -1), order='F').transpose(1, 0, 2)"
					  ".reshape((%s * %s, -1), order='F')",
					  xs, m, n, m, n);
		else
			s.f = frag_printf(PY_ATOM, d,
					  "%s.reshape((-1, %s, %s), order='F').transpose(0, 2, 1)"
					  ".reshape((-1, %s * %s), order='F')",
					  xs, n, m, m, n);
		free(xs);
		free(m);
		free(n);
	} else if (a.diag && b.diag) {
		/* diag(u) diag(v) = diag(u * v) */
		s.f = py_bin(a.f, PY_MUL, "*", b.f, PY_UNARY, PY_MUL);
		s.diag = true;
	} else if (a.diag) {
		/* diag(v) B scales B's rows: v[:, None] * B, never np.diag(v) @ B */
		struct frag y =
		    b.inv ? py_call("np.linalg.inv", seg_value(&b), NULL) : seg_value(&b);
		struct frag v = ndim(em, b.rows, b.cols) == 2 ? py_suffix(a.f, "[:, None]") : a.f;
		s.f = py_bin(v, PY_MUL, "*", y, PY_UNARY, PY_MUL);
	} else if (b.diag) {
		/* A diag(v) scales A's columns: A * v broadcasts along the last axis */
		struct frag x =
		    a.inv ? py_call("np.linalg.inv", seg_value(&a), NULL) : seg_value(&a);
		s.f = py_bin(x, PY_MUL, "*", b.f, PY_UNARY, PY_MUL);
	} else if (a.inv) {
		/* A^-1 B: a solve with A (A^-T B: with A.T) */
		struct frag y =
		    b.inv ? py_call("np.linalg.inv", seg_value(&b), NULL) : seg_value(&b);
		struct frag m = seg_value(&a);
		int d = dmax(m.depth, y.depth) + 1;
		char *xs = take(m, PY_ADD), *ys = take(y, PY_ADD);
		s.f = frag_printf(PY_ATOM, d, "np.linalg.solve(%s, %s)", xs, ys);
		free(xs);
		free(ys);
	} else if (b.inv) {
		/* B A^-1 = (A^-T B^T)^T: a solve with A.T */
		struct frag m = seg_value_t(&b);
		bool vec = emit_is_one(em, a.rows);
		struct frag y = vec ? seg_value(&a) : seg_value_t(&a);
		int d = dmax(m.depth, y.depth) + 1;
		char *xs = take(m, PY_ADD), *ys = take(y, PY_ADD);
		s.f = frag_printf(PY_ATOM, d, "np.linalg.solve(%s, %s)%s", xs, ys, vec ? "" : ".T");
		free(xs);
		free(ys);
	} else if (emit_is_one(em, a.cols)) {
		/* an inner size of 1: a scaling, or an outer product of two vectors */
		struct frag x = seg_value(&a), y = seg_value(&b);
		if (emit_is_one(em, a.rows) || emit_is_one(em, b.cols))
			s.f = py_bin(x, PY_MUL, "*", y, PY_UNARY, PY_MUL);
		else {
			int d = dmax(x.depth, y.depth) + 1;
			char *xs = take(x, PY_ADD), *ys = take(y, PY_ADD);
			s.f = frag_printf(PY_ATOM, d, "np.outer(%s, %s)", xs, ys);
			free(xs);
			free(ys);
		}
	} else {
		s.f = py_bin(seg_value(&a), PY_MUL, "@", seg_value(&b), PY_UNARY, PY_MUL);
	}
	if (se && !em->counting && se->uses >= 2) {
		s.f = py_temp(em, s.f);
		se->temp = atoi(s.f.s + 1);
		return s;
	}
	s.f = py_spill(em, s.f);
	return s;
}

/* The product of a list of fragments (consumed); "1" for none. */
static struct frag py_product(struct frag *parts, int n)
{
	if (n == 0)
		return frag_printf(PY_ATOM, 0, "1");
	if (n == 1)
		return parts[0];
	/* every factor that is itself a product in parentheses: 2 * (x @ x) */
	struct frag acc = parts[0];
	for (int i = 1; i < n; i++)
		acc = py_bin(acc, i == 1 ? PY_UNARY : PY_MUL, "*", parts[i], PY_UNARY, PY_MUL);
	return acc;
}

/* A product: the scalar factors times the chain. negate: the product with
 * its numeric coefficient negated (a sum prints it after " - "). */
static struct frag py_mul(struct em *em, const struct expr *e, int hr, int hc, bool negate)
{
	const struct expr **sc;
	int nsc;
	struct chain ch;
	emit_chain_plan(em, e, hr, hc, &ch, &sc, &nsc);
	struct frag *parts = mc_xmalloc((size_t)(nsc + 2) * sizeof *parts);
	int nparts = 0;
	double coef = negate ? -1 : 1;
	for (int i = 0; i < nsc; i++)
		if (sc[i]->op == OP_NUM)
			coef *= sc[i]->num;
	if (coef != 1 && coef != -1)
		parts[nparts++] = py_num(fabs(coef));
	for (int i = 0; i < nsc; i++)
		if (sc[i]->op != OP_NUM)
			parts[nparts++] = py_ref(em, sc[i], DIM_ANY, DIM_ANY);
	if (ch.n > 0) {
		struct pyseg s = py_seg(em, &ch, 0, ch.n - 1);
		parts[nparts++] =
		    s.inv ? py_call("np.linalg.inv", seg_value(&s), NULL) : seg_value(&s);
	} else if (ch.dropped_identity) {
		int r = emit_rows_of(e, hr);
		parts[nparts++] = py_filled(em, "eye", r, r, e);
	}
	if (nparts == 0)
		parts[nparts++] = py_num(fabs(coef));
	if (coef < 0) {
		/* the sign goes on the first factor: -2 * x, -lambda_ * x, -(X @ y) */
		int d = parts[0].depth + 1;
		char *x = take(parts[0], PY_UNARY);
		parts[0] = frag_printf(PY_UNARY, d, "-%s", x);
		free(x);
	}
	struct frag f = py_product(parts, nparts);
	free(parts);
	free(sc);
	emit_chain_free(&ch);
	return f;
}

/* A term c ones(r, c) or c s ones(r, c) (s scalar): a scalar added to every
 * entry of a sum, which NumPy broadcasts without the ones. */
static bool ones_term(struct em *em, const struct expr *t)
{
	if (t->op == OP_ONES)
		return true;
	if (t->op != OP_MUL || t->kids[t->nkids - 1]->op != OP_ONES)
		return false;
	for (int i = 0; i < t->nkids - 1; i++)
		if (!emit_is_scalar(em, t->kids[i]))
			return false;
	return true;
}

/* The product of t's scalar factors (t a product; 1 for none), its sign in
 * *neg: c in c ones(r, c), s in s Aᵀ A. */
static struct frag py_scalars(struct em *em, const struct expr *t, bool *neg)
{
	*neg = false;
	if (t->op != OP_MUL)
		return frag_printf(PY_ATOM, 0, "1");
	struct frag *parts = mc_xmalloc((size_t)t->nkids * sizeof *parts);
	int nparts = 0;
	double coef = 1;
	for (int i = 0; i < t->nkids; i++)
		if (t->kids[i]->op == OP_NUM)
			coef *= t->kids[i]->num;
	*neg = coef < 0;
	if (fabs(coef) != 1)
		parts[nparts++] = py_num(fabs(coef));
	for (int i = 0; i < t->nkids; i++)
		if (t->kids[i]->op != OP_NUM && emit_is_scalar(em, t->kids[i]))
			parts[nparts++] = py_ref(em, t->kids[i], DIM_ANY, DIM_ANY);
	struct frag f = py_product(parts, nparts);
	free(parts);
	return f;
}

/* The weight of a sandwich group, Σ s_i w_i (a plain Aᵀ A adds s_i), as the
 * text of a sum into b; returns its depth. */
static int py_weights(struct em *em, const struct expr *e, int i, const bool *group, struct sbuf *b)
{
	int depth = 0;
	bool first = true;
	for (int j = i; j < e->nkids; j++) {
		if (!group[j])
			continue;
		const struct expr *t = e->kids[j], *a, *w;
		bool tr, neg;
		emit_sandwich_term(em, t, &a, &tr, &w);
		struct frag s = py_scalars(em, t, &neg), f;
		if (!w) {
			f = s;
		} else if (strcmp(s.s, "1") == 0) {
			free(s.s);
			f = py_ref(em, w, DIM_ANY, DIM_ANY);
		} else {
			f = py_bin(s, PY_MUL, "*", py_ref(em, w, DIM_ANY, DIM_ANY), PY_UNARY,
				   PY_MUL);
		}
		depth = dmax(depth, f.depth);
		char *x = take(f, PY_MUL);
		sbuf_printf(b, "%s%s", first ? (neg ? "-" : "") : (neg ? " - " : " + "), x);
		free(x);
		first = false;
	}
	return depth + 1;
}

static struct frag py_add(struct em *em, const struct expr *e, int hr, int hc)
{
	int r = emit_rows_of(e, hr), c = emit_cols_of(e, hc);
	bool shaped = false, *done = mc_xmalloc((size_t)e->nkids * sizeof *done),
	     *group = mc_xmalloc((size_t)e->nkids * sizeof *group);
	memset(done, 0, (size_t)e->nkids * sizeof *done);
	for (int i = 0; i < e->nkids; i++)
		if (!ones_term(em, e->kids[i]))
			shaped = true;
	struct sbuf b = {0}, diag = {0};
	int depth = 0, nterms = 0, lastprec = PY_ATOM;
	for (int i = 0; i < e->nkids; i++) {
		/* Σ s_i Aᵀ diag(w_i) A = Aᵀ diag(Σ s_i w_i) A: one product */
		const struct expr *a, *w;
		bool tr, weighted = false;
		int n = 0;
		if (done[i] || !emit_sandwich_term(em, e->kids[i], &a, &tr, &w))
			continue;
		memset(group, 0, (size_t)e->nkids * sizeof *group);
		for (int j = i; j < e->nkids; j++)
			if (!done[j] && (j == i || emit_same_sandwich(em, e, i, j))) {
				const struct expr *a2, *w2;
				bool t2;
				emit_sandwich_term(em, e->kids[j], &a2, &t2, &w2);
				group[j] = true;
				weighted |= w2 != NULL;
				n++;
			}
		if (n < 2 || !weighted)
			continue;
		struct sbuf wb = {0};
		int d = py_weights(em, e, i, group, &wb);
		for (int j = i; j < e->nkids; j++)
			done[j] |= group[j];
		struct frag av = py_ref(em, a, DIM_ANY, DIM_ANY);
		char *as = take(av, PY_ATOM);
		struct frag f = tr ? frag_printf(PY_MUL, dmax(d, av.depth) + 2,
						 "%s.T @ ((%s)[:, None] * %s)", as, wb.s, as)
				   : frag_printf(PY_MUL, dmax(d, av.depth) + 2,
						 "(%s * (%s)) @ %s.T", as, wb.s, as);
		free(as);
		sbuf_free(&wb);
		f = py_spill(em, f);
		depth = dmax(depth, f.depth);
		lastprec = f.prec;
		char *x = take(f, PY_MUL);
		sbuf_printf(&b, "%s%s", nterms++ ? " + " : "", x);
		free(x);
	}
	for (int i = 0; i < e->nkids; i++) {
		const struct expr *t = e->kids[i];
		bool neg = false;
		struct frag f;
		if (done[i])
			continue;
		if (ndim(em, r, c) == 2 && emit_identity_term(em, t) && e->nkids > 1) {
			/* s I: a diagonal update of the rest, no np.eye */
			f = py_scalars(em, t, &neg);
			char *x = take(f, PY_MUL);
			sbuf_printf(&diag, "%s%s",
				    diag.len ? (neg ? " - " : " + ") : (neg ? "-" : ""), x);
			free(x);
			continue;
		}
		if (shaped && ones_term(em, t)) {
			f = py_scalars(em, t, &neg);
		} else if (t->op == OP_NUM && t->num < 0) {
			f = py_num(-t->num);
			neg = true;
		} else if (t->op == OP_MUL && t->kids[0]->op == OP_NUM && t->kids[0]->num < 0 &&
			   !em->counting && emit_info(em, t)->temp < 0 &&
			   !(py_shareable(t) && emit_info(em, t)->uses >= 2)) {
			/* the term's only use: print it after " - " (the first pass
			 * counted it through py_ref, which reaches the same kids) */
			f = py_spill(em, py_mul(em, t, r, c, true));
			neg = true;
		} else {
			f = py_ref(em, t, r, c);
		}
		depth = dmax(depth, f.depth);
		lastprec = f.prec;
		char *x = take(f, PY_MUL);
		if (nterms++ == 0)
			sbuf_printf(&b, "%s%s", neg ? "-" : "", x);
		else
			sbuf_printf(&b, " %s %s", neg ? "-" : "+", x);
		free(x);
	}
	free(done);
	free(group);
	struct frag f = {b.s ? sbuf_take(&b) : mc_xstrdup("0"), nterms > 1 ? PY_ADD : lastprec,
			 depth + 1};
	if (nterms == 1 && f.s[0] == '-')
		f.prec = PY_UNARY;
	if (diag.len) {
		/* a lone name or temporary is someone else's array: a copy to update */
		em->need_plus_diag = true;
		char *x = take(f, PY_ADD);
		f = frag_printf(PY_ATOM, depth + 2, "_plus_diag(%s%s, %s)", x,
				nterms == 1 && lastprec == PY_ATOM ? ".copy()" : "", diag.s);
		free(x);
	}
	sbuf_free(&diag);
	return f;
}

static struct frag py_kron(struct em *em, const struct expr *e)
{
	const struct expr *a = e->kids[0], *b = e->kids[1];
	struct frag x = py_ref(em, a, DIM_ANY, DIM_ANY), y = py_ref(em, b, DIM_ANY, DIM_ANY);
	if (emit_is_scalar(em, a) || emit_is_scalar(em, b))
		return py_bin(x, PY_MUL, "*", y, PY_UNARY, PY_MUL);
	int na = ndim(em, a->rows, a->cols), nb = ndim(em, b->rows, b->cols);
	bool acol = na == 1 && emit_is_one(em, a->cols), bcol = nb == 1 && emit_is_one(em, b->cols);
	/* NumPy reads a 1-D operand as a row: the orientation is made explicit,
	 * unless both are columns or both rows */
	if (!(na == 1 && nb == 1 && acol == bcol)) {
		if (na == 1)
			x = py_suffix(x, acol ? "[:, None]" : "[None, :]");
		if (nb == 1)
			y = py_suffix(y, bcol ? "[:, None]" : "[None, :]");
	}
	int d = dmax(x.depth, y.depth) + 1;
	char *xs = take(x, PY_ADD), *ys = take(y, PY_ADD);
	struct frag k = frag_printf(PY_ATOM, d, "np.kron(%s, %s)", xs, ys);
	free(xs);
	free(ys);
	if (ndim(em, e->rows, e->cols) == 1 && !(na == 1 && nb == 1 && acol == bcol))
		k = py_suffix(k, ".ravel()");
	return k;
}

static struct frag py_pow(struct em *em, const struct expr *e, int r, int c)
{
	const struct expr *base = e->kids[0], *p = e->kids[1];
	if (emit_is_scalar(em, base) || ndim(em, r, c) == 0) {
		struct frag x = py_ref(em, base, r, c), y = py_ref(em, p, DIM_ANY, DIM_ANY);
		return py_bin(x, PY_ATOM, "**", y, PY_UNARY, PY_POW);
	}
	if (p->op != OP_NUM || p->num != floor(p->num) || fabs(p->num) > 1e9) {
		char *w = print_str(em->mc, e, PRINT_PLAIN);
		mc_fail(em->mc, MC_ERR_NOTIMPL,
			"cannot emit %s: a matrix power needs a whole-number exponent", w);
		free(w);
		return frag_printf(PY_ATOM, 0, "None");
	}
	long k = (long)p->num;
	bool t, inv;
	const struct expr *m = emit_chain_operand(base, &t, &inv);
	if (!inv) {
		m = base;
		t = false;
	}
	struct frag x = py_ref(em, m, DIM_ANY, DIM_ANY);
	char ks[32];
	snprintf(ks, sizeof ks, ", %ld", inv ? -k : k);
	struct frag f = py_call("np.linalg.matrix_power", x, ks);
	return t ? py_suffix(f, ".T") : f;
}

static const char *py_function(enum expr_op op)
{
	switch (op) {
	case OP_EXP:
		return "np.exp";
	case OP_LOG:
		return "np.log";
	case OP_SIN:
		return "np.sin";
	case OP_COS:
		return "np.cos";
	case OP_TAN:
		return "np.tan";
	case OP_TANH:
		return "np.tanh";
	case OP_SQRT:
		return "np.sqrt";
	case OP_ABS:
		return "np.abs";
	case OP_SIGN:
		return "np.sign";
	default:
		return NULL;
	}
}

static struct frag py_unsupported(struct em *em, const struct expr *e)
{
	emit_unsupported(em, e);
	return frag_printf(PY_ATOM, 0, "None");
}

static struct frag py_compute(struct em *em, const struct expr *e, int hr, int hc)
{
	int r = emit_rows_of(e, hr), c = emit_cols_of(e, hc);
	const struct expr *a = e->nkids ? e->kids[0] : NULL;
	switch (e->op) {
	case OP_SYM: {
		struct earg *g = emit_arg_of(em, e);
		g->used = true;
		return frag_printf(PY_ATOM, 0, "%s", g->name);
	}
	case OP_NUM:
		return py_num(e->num);
	case OP_SIZE: {
		char *k = emit_dim_need(em, (int)e->vrows, e);
		struct frag f = frag_printf(PY_ATOM, 0, "%s", k);
		free(k);
		return f;
	}
	case OP_MATRIX: {
		struct sbuf b = {0};
		bool vec = e->vrows == 1 || e->vcols == 1;
		if (e->vrows == 1 && e->vcols == 1) {
			char buf[64];
			emit_num_text(e->vals[0], buf, sizeof buf, false);
			return frag_printf(buf[0] == '-' ? PY_UNARY : PY_ATOM, 0, "%s", buf);
		}
		sbuf_add(&b, "np.array([");
		for (long i = 0; i < (vec ? 1 : e->vrows); i++) {
			if (!vec)
				sbuf_add(&b, i ? ", [" : "[");
			long n = vec ? e->vrows * e->vcols : e->vcols;
			for (long j = 0; j < n; j++) {
				char buf[64];
				double v = vec ? e->vals[j] : e->vals[j * e->vrows + i];
				emit_num_text(v, buf, sizeof buf, false);
				sbuf_printf(&b, "%s%s", j ? ", " : "", buf);
			}
			if (!vec)
				sbuf_add(&b, "]");
		}
		sbuf_add(&b, "], dtype=float)");
		return (struct frag){sbuf_take(&b), PY_ATOM, 1};
	}
	case OP_IDENT:
		return py_filled(em, "eye", r >= 0 ? r : c, r >= 0 ? r : c, e);
	case OP_ZERO:
		return py_filled(em, "zeros", r, c, e);
	case OP_ONES:
		return py_filled(em, "ones", r, c, e);
	case OP_ADD:
		return py_add(em, e, hr, hc);
	case OP_MUL:
		return py_mul(em, e, hr, hc, false);
	case OP_HAD: {
		/* operands that are products go in parentheses: (W.T @ y) * t0 reads
		 * better than W.T @ y * t0, which Python groups the same way */
		struct frag acc = py_ref(em, a, r, c);
		if (acc.prec == PY_MUL) {
			int d = acc.depth;
			acc = (struct frag){take(acc, PY_UNARY), PY_ATOM, d};
		}
		for (int i = 1; i < e->nkids; i++)
			acc = py_bin(acc, PY_MUL, "*", py_ref(em, e->kids[i], r, c), PY_UNARY,
				     PY_MUL);
		return acc;
	}
	case OP_EDIV:
		return py_bin(py_ref(em, a, r, c), PY_UNARY, "/", py_ref(em, e->kids[1], r, c),
			      PY_UNARY, PY_MUL);
	case OP_KRON:
		return py_kron(em, e);
	case OP_T: {
		struct frag f = py_ref(em, a, c, r);
		bool sym = a->flags & EF_SYMMETRIC;
		return ndim(em, emit_rows_of(a, c), emit_cols_of(a, r)) == 2 && !sym
			   ? py_suffix(f, ".T")
			   : f;
	}
	case OP_INV:
		if (emit_is_scalar(em, e))
			return py_bin(frag_printf(PY_ATOM, 0, "1"), PY_MUL, "/",
				      py_ref(em, a, r, c), PY_UNARY, PY_MUL);
		return py_call("np.linalg.inv", py_ref(em, a, r, c), NULL);
	case OP_POW:
		return py_pow(em, e, r, c);
	case OP_NORM2:
	case OP_NORMF:
		if (emit_is_scalar(em, a))
			return py_call("np.abs", py_ref(em, a, DIM_ANY, DIM_ANY), NULL);
		return py_call("np.linalg.norm", py_ref(em, a, DIM_ANY, DIM_ANY),
			       ndim(em, a->rows, a->cols) == 2 ? ", 'fro'" : NULL);
	case OP_TR:
	case OP_DET:
	case OP_DIAG:
	case OP_SUM:
	case OP_VEC: {
		struct frag f = py_ref(em, a, DIM_ANY, DIM_ANY);
		int nd = ndim(em, a->rows, a->cols);
		if (nd == 0)
			return f; /* of a scalar: the scalar */
		if (e->op == OP_TR)
			return py_call("np.trace", f, NULL);
		if (e->op == OP_DET)
			return py_call("np.linalg.det", f, NULL);
		if (e->op == OP_DIAG)
			return py_call("np.diag", f, NULL);
		if (e->op == OP_SUM)
			return py_call("np.sum", f, NULL);
		return nd == 2 ? py_suffix(f, ".reshape(-1, order='F')") : f;
	}
	case OP_LOGDET:
		em->used_logdet = true;
		if (emit_is_scalar(em, a))
			return py_call("np.log", py_ref(em, a, DIM_ANY, DIM_ANY), NULL);
		return py_suffix(
		    py_call("np.linalg.slogdet", py_ref(em, a, DIM_ANY, DIM_ANY), NULL), "[1]");
	case OP_SIGMOID:
		em->need_sigmoid = true;
		return py_call("_sigmoid", py_ref(em, a, r, c), NULL);
	case OP_SOFTPLUS: {
		/* log(1 + exp(x)) without overflow */
		struct frag f = py_ref(em, a, r, c);
		int d = f.depth + 1;
		char *x = take(f, PY_ADD);
		struct frag g = frag_printf(PY_ATOM, d, "np.logaddexp(0, %s)", x);
		free(x);
		return g;
	}
	case OP_RELU:
		return py_call("np.maximum", py_ref(em, a, r, c), ", 0");
	case OP_STEP:
		return py_call("np.heaviside", py_ref(em, a, r, c), ", 0.0");
	case OP_LOGSUMEXP:
		return py_call("np.logaddexp.reduce", py_ref(em, a, DIM_ANY, DIM_ANY),
			       ", axis=None");
	case OP_SOFTMAX: {
		/* exp(x - lse(x)): no overflow */
		struct frag f = py_ref(em, a, r, c);
		int d = f.depth + 1;
		char *x = take(f, PY_UNARY);
		struct frag g = frag_printf(
		    PY_ATOM, d, "np.exp(%s - np.logaddexp.reduce(%s, axis=None))", x, x);
		free(x);
		return g;
	}
	case OP_COMM: {
		/* K(m, n) = I with rows permuted: row j + i n is e_(i + j m) */
		char *m = bare(emit_dim_need(em, (int)e->vrows, e));
		char *n = bare(emit_dim_need(em, (int)e->vcols, e));
		struct frag f = frag_printf(
		    PY_ATOM, 1,
		    "np.eye(%s * %s)[np.arange(%s * %s).reshape((%s, %s), order='F').ravel()]", m,
		    n, m, n, m, n);
		free(m);
		free(n);
		return f;
	}
	default: {
		const char *fn = py_function(e->op);
		if (fn)
			return py_call(fn, py_ref(em, a, r, c), NULL);
		return py_unsupported(em, e);
	}
	}
}

/* The code of node e: a temporary when e is shared (the first pass counts
 * the references, the second prints each shared node once as tK = ...). */
static struct frag py_ref(struct em *em, const struct expr *e, int hr, int hc)
{
	if (mc_failed(em->mc))
		return frag_printf(PY_ATOM, 0, "None");
	struct ninfo *n = emit_info(em, e);
	bool share = py_shareable(e);
	if (em->counting && e->op == OP_INV)
		n->standalone = true;
	if (em->counting) {
		if (n->uses++ > 0 && share)
			return frag_printf(PY_ATOM, 0, "_");
		return py_compute(em, e, hr, hc);
	}
	if (n->temp >= 0)
		return frag_printf(PY_ATOM, 0, "t%d", n->temp);
	struct frag f = py_compute(em, e, hr, hc);
	if (share && n->uses >= 2) {
		f = py_temp(em, f);
		n->temp = atoi(f.s + 1);
		return f;
	}
	return py_spill(em, f);
}

bool emit_numpy_code(struct em *em, struct expr *call, const struct eout *out, int nout,
		     struct sbuf *b)
{
	struct frag f[3];
	for (int pass = 0; pass < 2; pass++) {
		em->counting = pass == 0;
		em->ntemps = 0;
		sbuf_free(&em->body);
		for (int i = 0; i < nout; i++) {
			f[i] = py_ref(em, out[i].e, out[i].rows, out[i].cols);
			if (pass == 1)
				sbuf_printf(&em->body, "    %s = %s\n", out[i].label, f[i].s);
			free(f[i].s);
		}
	}
	if (mc_failed(em->mc))
		return false;
	sbuf_add(b, "# Generated by matcalc --emit=numpy.\n");
	sbuf_add(b, "# fun(");
	for (int i = 0; i < em->nargs; i++)
		sbuf_printf(b, "%s%s", i ? ", " : "", em->args[i].name);
	sbuf_add(b, nout > 1 ? ") returns (" : ") returns ");
	for (int i = 0; i < nout; i++)
		sbuf_printf(b, "%s%s", i ? ", " : "", out[i].label);
	sbuf_add(b, nout > 1 ? ") for\n" : " for\n");
	emit_describe(em, call, out, nout, "# ", b);
	sbuf_add(b, "# Arguments: floats for scalars, 1-D arrays for vectors, 2-D arrays for\n"
		    "# matrices; results have the same forms (an n x 1 or 1 x n result is 1-D).\n");
	int w = emit_name_width(em);
	for (int i = 0; i < em->nargs; i++) {
		struct sbuf d = {0};
		emit_decl_str(em, em->args[i].sym, &d);
		sbuf_printf(b, "#   %-*s  %s\n", w, em->args[i].name, d.s);
		sbuf_free(&d);
	}
	if (nout == 3 && !emit_is_one(em, out[1].cols))
		sbuf_add(
		    b,
		    "# The Hessian is with respect to vec of the matrix (its columns stacked).\n");
	if (em->used_logdet)
		sbuf_add(b,
			 "# logdet(A) is np.linalg.slogdet(A)[1] = log|det A|: log det A wherever\n"
			 "# det A > 0 (as for symmetric positive definite A).\n");
	sbuf_add(b, "import numpy as np\n\n\n");
	if (em->need_plus_diag)
		sbuf_add(b, "def _plus_diag(a, c):\n"
			    "    \"\"\"a + c I for a new array a, updated in place: no identity "
			    "formed.\"\"\"\n"
			    "    a[np.diag_indices_from(a)] += c\n"
			    "    return a\n\n\n");
	if (em->need_sigmoid)
		sbuf_add(b, "def _sigmoid(x):\n"
			    "    \"\"\"1 / (1 + exp(-x)), in a form that never overflows.\"\"\"\n"
			    "    e = np.exp(-np.abs(x))\n"
			    "    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))\n\n\n");
	sbuf_add(b, "def fun(");
	for (int i = 0; i < em->nargs; i++)
		sbuf_printf(b, "%s%s", i ? ", " : "", em->args[i].name);
	sbuf_add(b, "):\n");
	sbuf_add(b, em->body.s);
	sbuf_add(b, "    return ");
	for (int i = 0; i < nout; i++)
		sbuf_printf(b, "%s%s", i ? ", " : "", out[i].label);
	sbuf_add(b, "\n");
	return true;
}
