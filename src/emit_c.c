/* emit_c.c - the C generator (--emit=c): a C function over CBLAS/LAPACKE with
 * a small runtime of column-major helpers, each shared node computed once. */
#include "emit.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* A temporary t<K> = the printf'd right-hand side; returns K. A right-hand
 * side printed before is that temporary again: products inside different
 * chains (X θ in X^T X θ and in y - X θ) are computed once. */
static int c_line(struct em *em, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int c_line(struct em *em, const char *fmt, ...)
{
	struct sbuf rhs = {0};
	va_list ap;
	va_start(ap, fmt);
	sbuf_vprintf(&rhs, fmt, ap);
	va_end(ap);
	char *text = sbuf_take(&rhs);
	int t = emit_line_reuse(em, text); /* text stays valid when it is new: the table holds it */
	if (t >= 0)
		return t;
	sbuf_printf(&em->body, "\tstruct mcg_m t%d = %s;\n", em->ntemps, text);
	return em->ntemps++;
}

static int c_ref(struct em *em, const struct expr *e, int hr, int hc);

static const char *c_function(enum expr_op op)
{
	switch (op) {
	case OP_EXP:
		return "MCG_EXP";
	case OP_LOG:
		return "MCG_LOG";
	case OP_SIN:
		return "MCG_SIN";
	case OP_COS:
		return "MCG_COS";
	case OP_TAN:
		return "MCG_TAN";
	case OP_TANH:
		return "MCG_TANH";
	case OP_SQRT:
		return "MCG_SQRT";
	case OP_SIGMOID:
		return "MCG_SIGMOID";
	case OP_SOFTPLUS:
		return "MCG_SOFTPLUS";
	case OP_ABS:
		return "MCG_ABS";
	case OP_SIGN:
		return "MCG_SIGN";
	case OP_STEP:
		return "MCG_STEP";
	case OP_RELU:
		return "MCG_RELU";
	default:
		return NULL;
	}
}

/* A chain segment in C: a temporary, or a lone factor whose transpose or
 * inverse is still to be applied by the BLAS/LAPACK call that uses it. */
struct cseg {
	int t;
	bool trans, inv;
	bool diag; /* t holds v of diag(v): a scaling, not yet formed */
	const struct expr *comm; /* a lone K(m, n): a transpose, not yet formed */
	int rows, cols;
};

/* A segment as a plain matrix: its inverse or transpose applied. */
static void c_settle(struct em *em, struct cseg *s)
{
	if (s->comm)
		s->t = c_ref(em, s->comm, DIM_ANY, DIM_ANY); /* K itself: formed */
	else if (s->diag)
		s->t = c_line(em, "mcg_diag(&g, t%d)", s->t);
	else if (s->inv)
		s->t = s->trans ? c_line(em, "mcg_inv(&g, mcg_T(&g, t%d))", s->t)
				: c_line(em, "mcg_inv(&g, t%d)", s->t);
	else if (s->trans)
		s->t = c_line(em, "mcg_T(&g, t%d)", s->t);
	s->diag = s->inv = s->trans = false;
	s->comm = NULL;
}

static struct cseg c_seg(struct em *em, struct chain *ch, int i, int j)
{
	struct cseg s = {0};
	if (i == j && ch->f[i].comm) {
		s.comm = ch->f[i].operand;
		s.t = -1;
		s.rows = ch->f[i].rows;
		s.cols = ch->f[i].cols;
		return s;
	}
	if (i == j) {
		struct leaf *l = &ch->f[i];
		int r = l->trans ? l->cols : l->rows, c = l->trans ? l->rows : l->cols;
		s.t =
		    l->diag ? c_ref(em, l->operand, DIM_ANY, DIM_ANY) : c_ref(em, l->operand, r, c);
		s.diag = l->diag;
		s.trans = l->trans;
		s.inv = l->inv;
		s.rows = l->rows;
		s.cols = l->cols;
		return s;
	}
	int k = ch->split[i * ch->n + j];
	struct cseg a = c_seg(em, ch, i, k), b = c_seg(em, ch, k + 1, j);
	s.rows = a.rows;
	s.cols = b.cols;
	if ((a.comm && !b.comm && !b.diag) || (b.comm && !a.comm && !a.diag)) {
		/* K(m, n) B permutes B's rows, A K(m, n) A's columns */
		struct cseg *kk = a.comm ? &a : &b, *o = a.comm ? &b : &a;
		char *m = emit_dim_need(em, (int)kk->comm->vrows, kk->comm);
		char *n = emit_dim_need(em, (int)kk->comm->vcols, kk->comm);
		c_settle(em, o);
		s.t = c_line(em, "mcg_commute(&g, t%d, %s, %s, %d)", o->t, m, n, a.comm != NULL);
		free(m);
		free(n);
		return s;
	}
	if (a.comm)
		c_settle(em, &a);
	if (b.comm)
		c_settle(em, &b);
	if (a.diag || b.diag) {
		/* diag(u) diag(v) = diag(u ⊙ v); diag(v) B and A diag(v) scale */
		if (a.diag && b.diag) {
			s.t = c_line(em, "mcg_had(&g, t%d, t%d, 0)", a.t, b.t);
			s.diag = true;
			return s;
		}
		struct cseg *o = a.diag ? &b : &a, *d = a.diag ? &a : &b;
		c_settle(em, o);
		s.t = c_line(em, "mcg_dscale(&g, t%d, t%d, %d)", d->t, o->t, b.diag);
	} else if (a.inv) {
		if (b.inv)
			b.t = c_line(em, "mcg_inv(&g, %s%d%s)", b.trans ? "mcg_T(&g, t" : "t", b.t,
				     b.trans ? ")" : "");
		else if (b.trans)
			b.t = c_line(em, "mcg_T(&g, t%d)", b.t);
		s.t = c_line(em, "mcg_solve(&g, t%d, %d, t%d)", a.t, a.trans, b.t);
	} else if (b.inv) {
		if (a.trans)
			a.t = c_line(em, "mcg_T(&g, t%d)", a.t);
		s.t = c_line(em, "mcg_rsolve(&g, t%d, t%d, %d)", a.t, b.t, b.trans);
	} else {
		s.t = c_line(em, "mcg_mul(&g, t%d, %d, t%d, %d)", a.t, a.trans, b.t, b.trans);
	}
	return s;
}

/* The product of the scalar factors sc[0..nsc) as C text into coef ("1"
 * for none). */
static void c_coef(struct em *em, const struct expr *const *sc, int nsc, struct sbuf *coef)
{
	double num = 1;
	for (int i = 0; i < nsc; i++)
		if (sc[i]->op == OP_NUM)
			num *= sc[i]->num;
	char buf[64];
	emit_num_text(num, buf, sizeof buf, true);
	if (num != 1)
		sbuf_add(coef, buf);
	for (int i = 0; i < nsc; i++)
		if (sc[i]->op != OP_NUM)
			sbuf_printf(coef, "%smcg_s(t%d)", coef->len ? " * " : "",
				    c_ref(em, sc[i], DIM_ANY, DIM_ANY));
	if (!coef->len)
		sbuf_add(coef, "1");
}

/* The scalar factors of the product t as C text into coef. */
static void c_term_coef(struct em *em, const struct expr *t, struct sbuf *coef)
{
	const struct expr **sc = mc_xmalloc((size_t)(t->op == OP_MUL ? t->nkids : 1) * sizeof *sc);
	int nsc = 0;
	for (int i = 0; t->op == OP_MUL && i < t->nkids; i++)
		if (emit_is_scalar(em, t->kids[i]))
			sc[nsc++] = t->kids[i];
	c_coef(em, sc, nsc, coef);
	free(sc);
}

static int c_mul(struct em *em, const struct expr *e, int hr, int hc)
{
	const struct expr **sc;
	int nsc;
	struct chain ch;
	emit_chain_plan(em, e, hr, hc, &ch, &sc, &nsc);
	struct sbuf coef = {0};
	c_coef(em, sc, nsc, &coef);
	int t;
	const struct expr *sa, *sw;
	bool strans;
	if (emit_sandwich_term(em, e, &sa, &strans, &sw)) {
		/* Aᵀ diag(w) A and the like: symmetric, one dsyrk */
		int ta = c_ref(em, sa, DIM_ANY, DIM_ANY);
		int tw = sw ? c_ref(em, sw, DIM_ANY, DIM_ANY) : -1;
		char ws[32];
		snprintf(ws, sizeof ws, tw >= 0 ? "t%d" : "mcg_none()", tw);
		t = c_line(em, "mcg_sandwich(&g, t%d, %d, %s, %s)", ta, strans, ws, coef.s);
	} else if (ch.n > 0) {
		struct cseg s = c_seg(em, &ch, 0, ch.n - 1);
		c_settle(em, &s);
		t = s.t;
		if (strcmp(coef.s, "1") != 0)
			t = c_line(em, "mcg_scale(&g, %s, t%d)", coef.s, t);
	} else if (ch.dropped_identity) {
		char *n = emit_dim_need(em, emit_rows_of(e, hr), e);
		t = c_line(em, "mcg_scale(&g, %s, mcg_eye(&g, %s))", coef.s, n);
		free(n);
	} else {
		t = c_line(em, "mcg_num(&g, %s)", coef.s);
	}
	sbuf_free(&coef);
	free(sc);
	emit_chain_free(&ch);
	return t;
}

static int c_fill(struct em *em, const struct expr *e, int r, int c, double v)
{
	char *a = emit_dim_need(em, r, e), *b = emit_dim_need(em, c, e);
	int t = c_line(em, "mcg_fill(&g, %s, %s, %g)", a, b, v);
	free(a);
	free(b);
	return t;
}

/* A sum: sandwiches of the same A as one (Σ s_i Aᵀ diag(w_i) A = Aᵀ diag(Σ s_i
 * w_i) A), s I terms as a diagonal update, the rest added in turn. */
static int c_add(struct em *em, const struct expr *e, int r, int c)
{
	bool *done = mc_xmalloc((size_t)e->nkids * sizeof *done);
	memset(done, 0, (size_t)e->nkids * sizeof *done);
	int t = -1;
	for (int i = 0; i < e->nkids; i++) {
		const struct expr *a, *w;
		bool tr, weighted = false;
		int n = 0;
		if (!emit_sandwich_term(em, e->kids[i], &a, &tr, &w))
			continue;
		for (int j = i; j < e->nkids; j++)
			if (!done[j] && (j == i || emit_same_sandwich(em, e, i, j))) {
				const struct expr *a2, *w2;
				bool t2;
				emit_sandwich_term(em, e->kids[j], &a2, &t2, &w2);
				weighted |= w2 != NULL;
				n++;
			}
		if (n < 2 || !weighted || done[i])
			continue;
		int tw = -1;
		for (int j = i; j < e->nkids; j++) {
			if (done[j] || !(j == i || emit_same_sandwich(em, e, i, j)))
				continue;
			const struct expr *a2, *w2;
			bool t2;
			emit_sandwich_term(em, e->kids[j], &a2, &t2, &w2);
			done[j] = true;
			struct sbuf coef = {0};
			c_term_coef(em, e->kids[j], &coef);
			int x = !w2 ? c_line(em, "mcg_num(&g, %s)", coef.s)
				: strcmp(coef.s, "1") == 0
				    ? c_ref(em, w2, DIM_ANY, DIM_ANY)
				    : c_line(em, "mcg_scale(&g, %s, t%d)", coef.s,
					     c_ref(em, w2, DIM_ANY, DIM_ANY));
			sbuf_free(&coef);
			tw = tw < 0 ? x : c_line(em, "mcg_add(&g, t%d, t%d, 1)", tw, x);
		}
		int ta = c_ref(em, a, DIM_ANY, DIM_ANY);
		int s = c_line(em, "mcg_sandwich(&g, t%d, %d, t%d, 1)", ta, tr, tw);
		t = t < 0 ? s : c_line(em, "mcg_add(&g, t%d, t%d, 1)", t, s);
	}
	bool square = !emit_is_one(em, r) && !emit_is_one(em, c);
	struct sbuf diag = {0};
	for (int i = 0; i < e->nkids; i++) {
		if (done[i])
			continue;
		if (square && e->nkids > 1 && emit_identity_term(em, e->kids[i])) {
			struct sbuf coef = {0};
			c_term_coef(em, e->kids[i], &coef);
			sbuf_printf(&diag, "%s%s", diag.len ? " + " : "", coef.s);
			sbuf_free(&coef);
			continue;
		}
		int k = c_ref(em, e->kids[i], r, c);
		t = t < 0 ? k : c_line(em, "mcg_add(&g, t%d, t%d, 1)", t, k);
	}
	if (diag.len)
		t = c_line(em, "mcg_plus_diag(&g, t%d, %s)", t, diag.s);
	sbuf_free(&diag);
	free(done);
	return t;
}

static int c_compute(struct em *em, const struct expr *e, int hr, int hc)
{
	int r = emit_rows_of(e, hr), c = emit_cols_of(e, hc);
	const struct expr *a = e->nkids ? e->kids[0] : NULL;
	switch (e->op) {
	case OP_SYM: {
		struct earg *g = emit_arg_of(em, e);
		g->used = true;
		if (e->decl->kind == KIND_SCALAR)
			return c_line(em, "mcg_num(&g, %s)", g->name);
		if (e->decl->kind == KIND_VECTOR)
			return c_line(em, "mcg_arg(%s, %s_len, 1)", g->name, g->name);
		return c_line(em, "mcg_arg(%s, %s_rows, %s_cols)", g->name, g->name, g->name);
	}
	case OP_NUM: {
		char buf[64];
		emit_num_text(e->num, buf, sizeof buf, true);
		return c_line(em, "mcg_num(&g, %s)", buf);
	}
	case OP_SIZE: {
		char *k = emit_dim_need(em, (int)e->vrows, e);
		int t = c_line(em, "mcg_num(&g, (double)(%s))", k);
		free(k);
		return t;
	}
	case OP_MATRIX: {
		struct sbuf b = {0};
		for (long i = 0; i < e->vrows * e->vcols; i++) {
			char buf[64];
			emit_num_text(e->vals[i], buf, sizeof buf, true);
			sbuf_printf(&b, "%s%s", i ? ", " : "", buf);
		}
		int t = c_line(em, "mcg_lit(&g, %ld, %ld, (const double[]){%s})", e->vrows,
			       e->vcols, b.s);
		sbuf_free(&b);
		return t;
	}
	case OP_IDENT: {
		char *n = emit_dim_need(em, r >= 0 ? r : c, e);
		int t = c_line(em, "mcg_eye(&g, %s)", n);
		free(n);
		return t;
	}
	case OP_ZERO:
		return c_fill(em, e, r, c, 0);
	case OP_ONES:
		return c_fill(em, e, r, c, 1);
	case OP_ADD:
		return c_add(em, e, r, c);
	case OP_MUL:
		return c_mul(em, e, hr, hc);
	case OP_HAD:
	case OP_EDIV: {
		int t = c_ref(em, a, r, c);
		for (int i = 1; i < e->nkids; i++) {
			int k = c_ref(em, e->kids[i], r, c);
			t = c_line(em, "mcg_had(&g, t%d, t%d, %d)", t, k, e->op == OP_EDIV);
		}
		return t;
	}
	case OP_KRON: {
		int x = c_ref(em, a, DIM_ANY, DIM_ANY), y = c_ref(em, e->kids[1], DIM_ANY, DIM_ANY);
		return c_line(em, "mcg_kron(&g, t%d, t%d)", x, y);
	}
	case OP_T:
		return c_line(em, "mcg_T(&g, t%d)", c_ref(em, a, c, r));
	case OP_INV:
		return c_line(em, "mcg_inv(&g, t%d)", c_ref(em, a, r, c));
	case OP_POW: {
		int x = c_ref(em, a, r, c), p = c_ref(em, e->kids[1], DIM_ANY, DIM_ANY);
		return c_line(em, "mcg_pow(&g, t%d, mcg_s(t%d))", x, p);
	}
	case OP_NORM2:
	case OP_NORMF:
		return c_line(em, "mcg_norm(&g, t%d)", c_ref(em, a, DIM_ANY, DIM_ANY));
	case OP_TR:
		return c_line(em, "mcg_tr(&g, t%d)", c_ref(em, a, DIM_ANY, DIM_ANY));
	case OP_DET:
	case OP_LOGDET:
		em->used_logdet |= e->op == OP_LOGDET;
		return c_line(em, "mcg_det(&g, t%d, %d)", c_ref(em, a, DIM_ANY, DIM_ANY),
			      e->op == OP_LOGDET);
	case OP_DIAG:
		return c_line(em, "mcg_diag(&g, t%d)", c_ref(em, a, DIM_ANY, DIM_ANY));
	case OP_SUM:
		return c_line(em, "mcg_sum(&g, t%d)", c_ref(em, a, DIM_ANY, DIM_ANY));
	case OP_SOFTMAX:
	case OP_LOGSUMEXP:
		return c_line(em, "mcg_softmax(&g, t%d, %d)", c_ref(em, a, DIM_ANY, DIM_ANY),
			      e->op == OP_LOGSUMEXP);
	case OP_COMM: {
		char *m = emit_dim_need(em, (int)e->vrows, e), *n = emit_dim_need(em, (int)e->vcols, e);
		int t = c_line(em, "mcg_comm(&g, %s, %s)", m, n);
		free(m);
		free(n);
		return t;
	}
	case OP_VEC:
		return c_line(em, "mcg_vec(t%d)", c_ref(em, a, DIM_ANY, DIM_ANY));
	default: {
		const char *fn = c_function(e->op);
		if (fn)
			return c_line(em, "mcg_map(&g, t%d, %s)", c_ref(em, a, r, c), fn);
		emit_unsupported(em, e);
		return 0;
	}
	}
}

/* Each node once: a node of unknown size is made afresh where it stands. */
static int c_ref(struct em *em, const struct expr *e, int hr, int hc)
{
	if (mc_failed(em->mc))
		return 0;
	struct ninfo *n = emit_unknown_shape(e) ? NULL : emit_info(em, e);
	if (n && n->temp >= 0)
		return n->temp;
	int t = c_compute(em, e, hr, hc);
	if (n)
		n->temp = t;
	return t;
}

/* The runtime of the generated C: a handful of helpers over column-major
 * buffers, each returning a new matrix; after the first failure they do
 * nothing, and the function returns that failure. */
static const char c_runtime[] =
    "#include <cblas.h>\n"
    "#include <lapacke.h>\n"
    "#include <math.h>\n"
    "#include <stdlib.h>\n"
    "#include <string.h>\n"
    "\n"
    "/* An r x c matrix of doubles, column-major; a scalar is 1 x 1. */\n"
    "struct mcg_m {\n"
    "\tint r, c;\n"
    "\tdouble *d;\n"
    "};\n"
    "\n"
    "/* The buffers of one call (freed by mcg_end) and its first failure. */\n"
    "struct mcg {\n"
    "\tdouble **pool;\n"
    "\tint n, cap;\n"
    "\tint err;\n"
    "\t/* LU factors by the matrix they factor (temporaries and arguments are\n"
    "\t * never changed, so the data pointer names the matrix): each factored once */\n"
    "\tconst double **fkey;\n"
    "\tdouble **flu;\n"
    "\tlapack_int **fpiv;\n"
    "\tint nf, capf;\n"
    "};\n"
    "\n"
    "enum { MCG_SINGULAR = 1, MCG_SIZE = 2, MCG_NOMEM = 3, MCG_DOMAIN = 4 };\n"
    "enum { MCG_EXP, MCG_LOG, MCG_SIN, MCG_COS, MCG_TAN, MCG_TANH, MCG_SQRT, MCG_SIGMOID,\n"
    "       MCG_SOFTPLUS, MCG_ABS, MCG_SIGN, MCG_RELU,\n"
    "       MCG_STEP };\n"
    "\n"
    "static inline struct mcg_m mcg_fail(struct mcg *g, int err)\n"
    "{\n"
    "\tstruct mcg_m m = {0, 0, NULL};\n"
    "\tif (!g->err)\n"
    "\t\tg->err = err;\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_new(struct mcg *g, int r, int c)\n"
    "{\n"
    "\tstruct mcg_m m = {0, 0, NULL};\n"
    "\tif (g->err)\n"
    "\t\treturn m;\n"
    "\tif (r < 1 || c < 1)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tif (g->n == g->cap) {\n"
    "\t\tint cap = g->cap ? 2 * g->cap : 16;\n"
    "\t\tdouble **p = realloc(g->pool, (size_t)cap * sizeof *p);\n"
    "\t\tif (!p)\n"
    "\t\t\treturn mcg_fail(g, MCG_NOMEM);\n"
    "\t\tg->pool = p;\n"
    "\t\tg->cap = cap;\n"
    "\t}\n"
    "\tm.d = calloc((size_t)r * (size_t)c, sizeof(double));\n"
    "\tif (!m.d)\n"
    "\t\treturn mcg_fail(g, MCG_NOMEM);\n"
    "\tg->pool[g->n++] = m.d;\n"
    "\tm.r = r;\n"
    "\tm.c = c;\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline int mcg_end(struct mcg *g)\n"
    "{\n"
    "\tfor (int i = 0; i < g->n; i++)\n"
    "\t\tfree(g->pool[i]);\n"
    "\tfree(g->pool);\n"
    "\tfor (int i = 0; i < g->nf; i++)\n"
    "\t\tfree(g->fpiv[i]);\n"
    "\tfree(g->fkey);\n"
    "\tfree(g->flu);\n"
    "\tfree(g->fpiv);\n"
    "\treturn g->err;\n"
    "}\n"
    "\n"
    "static inline double mcg_s(struct mcg_m a)\n"
    "{\n"
    "\treturn a.d ? a.d[0] : 0;\n"
    "}\n"
    "\n"
    "/* An argument: read, never written. */\n"
    "static inline struct mcg_m mcg_arg(const double *p, int r, int c)\n"
    "{\n"
    "\tstruct mcg_m m = {r, c, (double *)p};\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline void mcg_out(double *dst, struct mcg_m a)\n"
    "{\n"
    "\tif (a.d)\n"
    "\t\tmemcpy(dst, a.d, (size_t)a.r * (size_t)a.c * sizeof(double));\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_lit(struct mcg *g, int r, int c, const double *v)\n"
    "{\n"
    "\tstruct mcg_m m = mcg_new(g, r, c);\n"
    "\tif (m.d)\n"
    "\t\tmemcpy(m.d, v, (size_t)r * (size_t)c * sizeof(double));\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_num(struct mcg *g, double v)\n"
    "{\n"
    "\treturn mcg_lit(g, 1, 1, &v);\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_fill(struct mcg *g, int r, int c, double v)\n"
    "{\n"
    "\tstruct mcg_m m = mcg_new(g, r, c);\n"
    "\tfor (long i = 0; m.d && i < (long)r * c; i++)\n"
    "\t\tm.d[i] = v;\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_eye(struct mcg *g, int n)\n"
    "{\n"
    "\tstruct mcg_m m = mcg_new(g, n, n);\n"
    "\tfor (int i = 0; m.d && i < n; i++)\n"
    "\t\tm.d[(long)i * n + i] = 1;\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_T(struct mcg *g, struct mcg_m a)\n"
    "{\n"
    "\tstruct mcg_m m = mcg_new(g, a.c, a.r);\n"
    "\tfor (int j = 0; m.d && j < a.c; j++)\n"
    "\t\tfor (int i = 0; i < a.r; i++)\n"
    "\t\t\tm.d[(long)i * a.c + j] = a.d[(long)j * a.r + i];\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* a + beta b; a 1 x 1 side is added to every entry of the other. */\n"
    "static inline struct mcg_m mcg_add(struct mcg *g, struct mcg_m a, struct mcg_m b, double "
    "beta)\n"
    "{\n"
    "\tint sa = a.r == 1 && a.c == 1, sb = b.r == 1 && b.c == 1;\n"
    "\tint r = sa ? b.r : a.r, c = sa ? b.c : a.c;\n"
    "\tif (!sa && !sb && (a.r != b.r || a.c != b.c))\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tstruct mcg_m m = mcg_new(g, r, c);\n"
    "\tfor (long i = 0; m.d && i < (long)r * c; i++)\n"
    "\t\tm.d[i] = a.d[sa ? 0 : i] + beta * b.d[sb ? 0 : i];\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* a .* b, or a ./ b; a 1 x 1 side applies to every entry of the other. */\n"
    "static inline struct mcg_m mcg_had(struct mcg *g, struct mcg_m a, struct mcg_m b, int "
    "divide)\n"
    "{\n"
    "\tint sa = a.r == 1 && a.c == 1, sb = b.r == 1 && b.c == 1;\n"
    "\tint r = sa ? b.r : a.r, c = sa ? b.c : a.c;\n"
    "\tif (!sa && !sb && (a.r != b.r || a.c != b.c))\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tstruct mcg_m m = mcg_new(g, r, c);\n"
    "\tfor (long i = 0; m.d && i < (long)r * c; i++) {\n"
    "\t\tdouble x = a.d[sa ? 0 : i], y = b.d[sb ? 0 : i];\n"
    "\t\tm.d[i] = divide ? x / y : x * y;\n"
    "\t}\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_scale(struct mcg *g, double s, struct mcg_m a)\n"
    "{\n"
    "\tstruct mcg_m m = mcg_new(g, a.r, a.c);\n"
    "\tfor (long i = 0; m.d && i < (long)a.r * a.c; i++)\n"
    "\t\tm.d[i] = s * a.d[i];\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* op(a) op(b), op transposing when ta / tb is set (dgemm). */\n"
    "static inline struct mcg_m mcg_mul(struct mcg *g, struct mcg_m a, int ta, struct mcg_m b, int "
    "tb)\n"
    "{\n"
    "\tint ar = ta ? a.c : a.r, ak = ta ? a.r : a.c;\n"
    "\tint bk = tb ? b.c : b.r, bc = tb ? b.r : b.c;\n"
    "\tif (ak != bk)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tstruct mcg_m m = mcg_new(g, ar, bc);\n"
    "\tif (m.d)\n"
    "\t\tcblas_dgemm(CblasColMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : "
    "CblasNoTrans,\n"
    "\t\t\t    ar, bc, ak, 1.0, a.d, a.r, b.d, b.r, 0.0, m.d, ar);\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* op(a)^-1 b: an LU solve (dgesv), never an inverse. */\n"
    "/* The LU factors of square a (dgetrf), made once per call of fun: the\n"
    " * index into g's table, or -1 after a failure. */\n"
    "static inline int mcg_lu(struct mcg *g, struct mcg_m a)\n"
    "{\n"
    "\tfor (int i = 0; i < g->nf; i++)\n"
    "\t\tif (g->fkey[i] == a.d)\n"
    "\t\t\treturn i;\n"
    "\tif (g->err)\n"
    "\t\treturn -1;\n"
    "\tif (g->nf == g->capf) {\n"
    "\t\tint cap = g->capf ? 2 * g->capf : 4;\n"
    "\t\tconst double **k = realloc(g->fkey, (size_t)cap * sizeof *k);\n"
    "\t\tif (k)\n"
    "\t\t\tg->fkey = k;\n"
    "\t\tdouble **l = realloc(g->flu, (size_t)cap * sizeof *l);\n"
    "\t\tif (l)\n"
    "\t\t\tg->flu = l;\n"
    "\t\tlapack_int **p = realloc(g->fpiv, (size_t)cap * sizeof *p);\n"
    "\t\tif (p)\n"
    "\t\t\tg->fpiv = p;\n"
    "\t\tif (!k || !l || !p) {\n"
    "\t\t\tmcg_fail(g, MCG_NOMEM);\n"
    "\t\t\treturn -1;\n"
    "\t\t}\n"
    "\t\tg->capf = cap;\n"
    "\t}\n"
    "\tstruct mcg_m lu = mcg_lit(g, a.r, a.c, a.d);\n"
    "\tlapack_int *ipiv = malloc((size_t)a.r * sizeof *ipiv);\n"
    "\tif (!lu.d || !ipiv) {\n"
    "\t\tfree(ipiv);\n"
    "\t\tmcg_fail(g, MCG_NOMEM);\n"
    "\t\treturn -1;\n"
    "\t}\n"
    "\tlapack_int info = LAPACKE_dgetrf(LAPACK_COL_MAJOR, a.r, a.r, lu.d, a.r, ipiv);\n"
    "\tif (info != 0) {\n"
    "\t\tfree(ipiv);\n"
    "\t\tmcg_fail(g, info > 0 ? MCG_SINGULAR : MCG_SIZE);\n"
    "\t\treturn -1;\n"
    "\t}\n"
    "\tg->fkey[g->nf] = a.d;\n"
    "\tg->flu[g->nf] = lu.d;\n"
    "\tg->fpiv[g->nf] = ipiv;\n"
    "\treturn g->nf++;\n"
    "}\n"
    "\n"
    "/* op(a)^-1 b: a solve with a's LU factors (made once), never an inverse. */\n"
    "static inline struct mcg_m mcg_solve(struct mcg *g, struct mcg_m a, int ta, struct mcg_m b)\n"
    "{\n"
    "\tint n = a.r;\n"
    "\tif (!g->err && (a.c != n || b.r != n))\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tint f = mcg_lu(g, a);\n"
    "\tstruct mcg_m x = mcg_lit(g, b.r, b.c, b.d);\n"
    "\tif (f < 0 || !x.d)\n"
    "\t\treturn mcg_fail(g, MCG_NOMEM);\n"
    "\tLAPACKE_dgetrs(LAPACK_COL_MAJOR, ta ? 'T' : 'N', n, b.c, g->flu[f], n, g->fpiv[f], x.d, "
    "n);\n"
    "\treturn x;\n"
    "}\n"
    "\n"
    "/* b op(a)^-1 = (op(a)^-T b^T)^T */\n"
    "static inline struct mcg_m mcg_rsolve(struct mcg *g, struct mcg_m b, struct mcg_m a, int ta)\n"
    "{\n"
    "\treturn mcg_T(g, mcg_solve(g, a, !ta, mcg_T(g, b)));\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_inv(struct mcg *g, struct mcg_m a)\n"
    "{\n"
    "\treturn mcg_solve(g, a, 0, mcg_eye(g, a.r));\n"
    "}\n"
    "\n"
    "static inline double mcg_f(int f, double x)\n"
    "{\n"
    "\tswitch (f) {\n"
    "\tcase MCG_EXP: return exp(x);\n"
    "\tcase MCG_LOG: return log(x);\n"
    "\tcase MCG_SIN: return sin(x);\n"
    "\tcase MCG_COS: return cos(x);\n"
    "\tcase MCG_TAN: return tan(x);\n"
    "\tcase MCG_TANH: return tanh(x);\n"
    "\tcase MCG_SQRT: return sqrt(x);\n"
    "\tcase MCG_SIGMOID: return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x));\n"
    "\tcase MCG_SOFTPLUS: return log1p(exp(-fabs(x))) + (x > 0 ? x : 0);\n"
    "\tcase MCG_ABS: return fabs(x);\n"
    "\tcase MCG_SIGN: return x > 0 ? 1 : x < 0 ? -1 : 0;\n"
    "\tcase MCG_STEP: return x > 0 ? 1 : 0;\n"
    "\tdefault: return x > 0 ? x : 0;\n"
    "\t}\n"
    "}\n"
    "\n"
    "/* A function applied to every entry. */\n"
    "static inline struct mcg_m mcg_map(struct mcg *g, struct mcg_m a, int f)\n"
    "{\n"
    "\tstruct mcg_m m = mcg_new(g, a.r, a.c);\n"
    "\tfor (long i = 0; m.d && i < (long)a.r * a.c; i++)\n"
    "\t\tm.d[i] = mcg_f(f, a.d[i]);\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* a^p: a scalar power, or a whole-number power of a square matrix. */\n"
    "static inline struct mcg_m mcg_pow(struct mcg *g, struct mcg_m a, double p)\n"
    "{\n"
    "\tif (a.r == 1 && a.c == 1)\n"
    "\t\treturn mcg_num(g, pow(a.d[0], p));\n"
    "\tif (a.r != a.c)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tif (p != floor(p) || fabs(p) > 1e9)\n"
    "\t\treturn mcg_fail(g, MCG_DOMAIN);\n"
    "\tlong k = (long)fabs(p);\n"
    "\tstruct mcg_m base = p < 0 ? mcg_inv(g, a) : a, r = mcg_eye(g, a.r);\n"
    "\tfor (; k > 0; k >>= 1) {\n"
    "\t\tif (k & 1)\n"
    "\t\t\tr = mcg_mul(g, r, 0, base, 0);\n"
    "\t\tif (k > 1)\n"
    "\t\t\tbase = mcg_mul(g, base, 0, base, 0);\n"
    "\t}\n"
    "\treturn r;\n"
    "}\n"
    "\n"
    "/* The 2-norm of a vector, the Frobenius norm of a matrix. */\n"
    "static inline struct mcg_m mcg_norm(struct mcg *g, struct mcg_m a)\n"
    "{\n"
    "\treturn mcg_num(g, a.d ? cblas_dnrm2(a.r * a.c, a.d, 1) : 0);\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_tr(struct mcg *g, struct mcg_m a)\n"
    "{\n"
    "\tif (a.r != a.c)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tdouble s = 0;\n"
    "\tfor (int i = 0; a.d && i < a.r; i++)\n"
    "\t\ts += a.d[(long)i * a.r + i];\n"
    "\treturn mcg_num(g, s);\n"
    "}\n"
    "\n"
    "/* det a, or log|det a| (logdet), from an LU factorization (dgetrf). */\n"
    "static inline struct mcg_m mcg_det(struct mcg *g, struct mcg_m a, int logabs)\n"
    "{\n"
    "\tint n = a.r;\n"
    "\tif (a.c != n)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tstruct mcg_m lu = mcg_lit(g, n, n, a.d);\n"
    "\tlapack_int *ipiv = malloc((size_t)n * sizeof *ipiv);\n"
    "\tif (!lu.d || !ipiv) {\n"
    "\t\tfree(ipiv);\n"
    "\t\treturn mcg_fail(g, MCG_NOMEM);\n"
    "\t}\n"
    "\tLAPACKE_dgetrf(LAPACK_COL_MAJOR, n, n, lu.d, n, ipiv);\n"
    "\tdouble det = 1, la = 0;\n"
    "\tfor (int i = 0; i < n; i++) {\n"
    "\t\tdouble u = lu.d[(long)i * n + i];\n"
    "\t\tdet *= ipiv[i] != i + 1 ? -u : u;\n"
    "\t\tla += log(fabs(u));\n"
    "\t}\n"
    "\tfree(ipiv);\n"
    "\treturn mcg_num(g, logabs ? la : det);\n"
    "}\n"
    "\n"
    "/* A vector's diagonal matrix, or a square matrix's diagonal. */\n"
    "static inline struct mcg_m mcg_diag(struct mcg *g, struct mcg_m a)\n"
    "{\n"
    "\tstruct mcg_m m;\n"
    "\tif (a.r == 1 || a.c == 1) {\n"
    "\t\tint n = a.r * a.c;\n"
    "\t\tm = mcg_new(g, n, n);\n"
    "\t\tfor (int i = 0; m.d && i < n; i++)\n"
    "\t\t\tm.d[(long)i * n + i] = a.d[i];\n"
    "\t\treturn m;\n"
    "\t}\n"
    "\tif (a.r != a.c)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tm = mcg_new(g, a.r, 1);\n"
    "\tfor (int i = 0; m.d && i < a.r; i++)\n"
    "\t\tm.d[i] = a.d[(long)i * a.r + i];\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* softmax (lse 0) or log-sum-exp (lse 1) of a vector, shifted by its largest entry */\n"
    "static inline struct mcg_m mcg_softmax(struct mcg *g, struct mcg_m a, int lse)\n"
    "{\n"
    "\tlong n = (long)a.r * a.c;\n"
    "\tdouble mx = -HUGE_VAL, z = 0;\n"
    "\tfor (long i = 0; a.d && i < n; i++)\n"
    "\t\tmx = a.d[i] > mx ? a.d[i] : mx;\n"
    "\tfor (long i = 0; a.d && i < n; i++)\n"
    "\t\tz += exp(a.d[i] - mx);\n"
    "\tif (lse)\n"
    "\t\treturn mcg_num(g, mx + log(z));\n"
    "\tstruct mcg_m m = mcg_new(g, a.r, a.c);\n"
    "\tfor (long i = 0; m.d && a.d && i < n; i++)\n"
    "\t\tm.d[i] = exp(a.d[i] - mx) / z;\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* K(m, n): vec(A^T) = K vec(A) for A m x n */\n"
    "static inline struct mcg_m mcg_comm(struct mcg *g, int m, int n)\n"
    "{\n"
    "\tstruct mcg_m k = mcg_fill(g, m * n, m * n, 0);\n"
    "\tfor (int i = 0; k.d && i < m; i++)\n"
    "\t\tfor (int j = 0; j < n; j++)\n"
    "\t\t\tk.d[(j + (long)i * n) + (i + (long)j * m) * (long)m * n] = 1;\n"
    "\treturn k;\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_sum(struct mcg *g, struct mcg_m a)\n"
    "{\n"
    "\tdouble s = 0;\n"
    "\tfor (long i = 0; a.d && i < (long)a.r * a.c; i++)\n"
    "\t\ts += a.d[i];\n"
    "\treturn mcg_num(g, s);\n"
    "}\n"
    "\n"
    "/* The columns stacked: column-major storage already is. */\n"
    "static inline struct mcg_m mcg_vec(struct mcg_m a)\n"
    "{\n"
    "\tstruct mcg_m m = {a.r * a.c, 1, a.d};\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "static inline struct mcg_m mcg_kron(struct mcg *g, struct mcg_m a, struct mcg_m b)\n"
    "{\n"
    "\tint R = a.r * b.r, C = a.c * b.c;\n"
    "\tstruct mcg_m m = mcg_new(g, R, C);\n"
    "\tfor (int j1 = 0; m.d && j1 < a.c; j1++)\n"
    "\t\tfor (int i1 = 0; i1 < a.r; i1++)\n"
    "\t\t\tfor (int j2 = 0; j2 < b.c; j2++)\n"
    "\t\t\t\tfor (int i2 = 0; i2 < b.r; i2++)\n"
    "\t\t\t\t\tm.d[((long)j1 * b.c + j2) * R + (long)i1 * b.r + i2] =\n"
    "\t\t\t\t\t    a.d[(long)j1 * a.r + i1] * b.d[(long)j2 * b.r + i2];\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* K(m, n) a (left 1: a's rows permuted) or a K(m, n) (its columns): K vec(A)\n"
    " * = vec(A^T) for an m x n A; the commutation matrix is never formed. */\n"
    "static inline struct mcg_m mcg_commute(struct mcg *g, struct mcg_m a, int m, int n, int left)\n"
    "{\n"
    "\tif (!g->err && (left ? a.r : a.c) != m * n)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tstruct mcg_m r = mcg_new(g, a.r, a.c);\n"
    "\tfor (long c = 0; r.d && left && c < a.c; c++)\n"
    "\t\tfor (long i = 0; i < m; i++)\n"
    "\t\t\tfor (long j = 0; j < n; j++)\n"
    "\t\t\t\tr.d[c * a.r + j + i * n] = a.d[c * a.r + i + j * m];\n"
    "\tfor (long i = 0; r.d && !left && i < m; i++)\n"
    "\t\tfor (long j = 0; j < n; j++)\n"
    "\t\t\tmemcpy(r.d + (i + j * m) * a.r, a.d + (j + i * n) * a.r,\n"
    "\t\t\t       (size_t)a.r * sizeof(double));\n"
    "\treturn r;\n"
    "}\n"
    "\n"
    "/* No matrix (mcg_sandwich without a diagonal). */\n"
    "static inline struct mcg_m mcg_none(void)\n"
    "{\n"
    "\tstruct mcg_m m = {0, 0, NULL};\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* diag(v) a (cols 0: a's rows scaled) or a diag(v) (cols 1: its columns);\n"
    " * the diagonal matrix is never formed. */\n"
    "static inline struct mcg_m mcg_dscale(struct mcg *g, struct mcg_m v, struct mcg_m a, int "
    "cols)\n"
    "{\n"
    "\tif (!g->err && v.r * v.c != (cols ? a.c : a.r))\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tstruct mcg_m m = mcg_new(g, a.r, a.c);\n"
    "\tfor (long j = 0; m.d && j < a.c; j++)\n"
    "\t\tfor (long i = 0; i < a.r; i++)\n"
    "\t\t\tm.d[j * a.r + i] = v.d[cols ? j : i] * a.d[j * a.r + i];\n"
    "\treturn m;\n"
    "}\n"
    "\n"
    "/* alpha a^T diag(w) a (t = 1) or alpha a diag(w) a^T (t = 0), w.d NULL for\n"
    " * a^T a / a a^T: symmetric, one dsyrk per sign of w on the rows (columns)\n"
    " * scaled by sqrt|w_i|; a weight that is not finite goes through dgemm. */\n"
    "static inline struct mcg_m mcg_sandwich(struct mcg *g, struct mcg_m a, int t, struct mcg_m "
    "w,\n"
    "\t\t\t\t\tdouble alpha)\n"
    "{\n"
    "\tint m = t ? a.r : a.c, k = t ? a.c : a.r, finite = 1;\n"
    "\tif (!g->err && w.d && w.r * w.c != m)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tstruct mcg_m c = mcg_new(g, k, k);\n"
    "\tif (!c.d)\n"
    "\t\treturn c;\n"
    "\tfor (int i = 0; w.d && i < m; i++)\n"
    "\t\tfinite &= isfinite(w.d[i]) != 0;\n"
    "\tif (!w.d) {\n"
    "\t\tcblas_dsyrk(CblasColMajor, CblasUpper, t ? CblasTrans : CblasNoTrans, k, m, alpha,\n"
    "\t\t\t    a.d, a.r, 0.0, c.d, k);\n"
    "\t} else if (finite) {\n"
    "\t\tfor (int sign = 1; sign >= -1; sign -= 2) {\n"
    "\t\t\tint p = 0, q = 0;\n"
    "\t\t\tfor (int i = 0; i < m; i++)\n"
    "\t\t\t\tp += sign * w.d[i] > 0;\n"
    "\t\t\tif (p == 0)\n"
    "\t\t\t\tcontinue;\n"
    "\t\t\tstruct mcg_m b = mcg_new(g, t ? p : k, t ? k : p);\n"
    "\t\t\tif (!b.d)\n"
    "\t\t\t\treturn b;\n"
    "\t\t\tfor (int i = 0; i < m; i++) {\n"
    "\t\t\t\tdouble wi = sign * w.d[i];\n"
    "\t\t\t\tif (!(wi > 0))\n"
    "\t\t\t\t\tcontinue;\n"
    "\t\t\t\tdouble s = sqrt(wi);\n"
    "\t\t\t\tfor (long j = 0; j < k; j++) {\n"
    "\t\t\t\t\tif (t)\n"
    "\t\t\t\t\t\tb.d[j * p + q] = s * a.d[j * m + i];\n"
    "\t\t\t\t\telse\n"
    "\t\t\t\t\t\tb.d[(long)q * k + j] = s * a.d[(long)i * k + j];\n"
    "\t\t\t\t}\n"
    "\t\t\t\tq++;\n"
    "\t\t\t}\n"
    "\t\t\tcblas_dsyrk(CblasColMajor, CblasUpper, t ? CblasTrans : CblasNoTrans, k, p,\n"
    "\t\t\t\t    sign * alpha, b.d, b.r, 1.0, c.d, k);\n"
    "\t\t}\n"
    "\t} else {\n"
    "\t\tstruct mcg_m b = mcg_dscale(g, w, a, !t);\n"
    "\t\tif (!b.d)\n"
    "\t\t\treturn b;\n"
    "\t\tcblas_dgemm(CblasColMajor, t ? CblasTrans : CblasNoTrans, t ? CblasNoTrans : CblasTrans,\n"
    "\t\t\t    k, k, m, alpha, t ? a.d : b.d, a.r, t ? b.d : a.d, a.r, 0.0, c.d, k);\n"
    "\t}\n"
    "\tfor (long j = 0; j < k; j++)\n"
    "\t\tfor (long i = j + 1; i < k; i++)\n"
    "\t\t\tc.d[j * k + i] = c.d[i * k + j];\n"
    "\treturn c;\n"
    "}\n"
    "\n"
    "/* a + c I, a copy of square a: the identity is never formed. */\n"
    "static inline struct mcg_m mcg_plus_diag(struct mcg *g, struct mcg_m a, double c)\n"
    "{\n"
    "\tif (!g->err && a.r != a.c)\n"
    "\t\treturn mcg_fail(g, MCG_SIZE);\n"
    "\tstruct mcg_m m = mcg_lit(g, a.r, a.c, a.d);\n"
    "\tfor (long i = 0; m.d && i < a.r; i++)\n"
    "\t\tm.d[i * a.r + i] += c;\n"
    "\treturn m;\n"
    "}\n";

/* The number of entries an output holds, for the signature's comment. */
static char *out_size(struct em *em, const struct eout *o)
{
	int r = emit_rows_of(o->e, o->rows), c = emit_cols_of(o->e, o->cols);
	char *a = emit_dim_code(em, r, 0), *bb = emit_dim_code(em, c, 0);
	char *s;
	if (!a || !bb)
		s = mc_xstrdup("?");
	else if (strcmp(a, "1") == 0)
		s = mc_xstrdup(bb);
	else if (strcmp(bb, "1") == 0)
		s = mc_xstrdup(a);
	else
		s = emit_xprintf("%s x %s", a, bb);
	free(a);
	free(bb);
	return s;
}

bool emit_c_code(struct em *em, struct expr *call, const struct eout *out, int nout, struct sbuf *b)
{
	int t[3];
	for (int i = 0; i < nout; i++)
		t[i] = c_ref(em, out[i].e, out[i].rows, out[i].cols);
	if (mc_failed(em->mc))
		return false;
	struct sbuf sig = {0};
	sbuf_add(&sig, "int fun(");
	for (int i = 0; i < em->nargs; i++) {
		const struct earg *a = &em->args[i];
		const char *n = a->name;
		if (a->sym->decl->kind == KIND_SCALAR)
			sbuf_printf(&sig, "double %s, ", n);
		else if (a->sym->decl->kind == KIND_VECTOR)
			sbuf_printf(&sig, "const double *%s, int %s_len, ", n, n);
		else
			sbuf_printf(&sig, "const double *%s, int %s_rows, int %s_cols, ", n, n, n);
	}
	for (int i = 0; i < nout; i++)
		sbuf_printf(&sig, "double *%s%s", out[i].label, i + 1 < nout ? ", " : ")");
	sbuf_add(b, "/* Generated by matcalc --emit=c: fun computes, for\n");
	emit_describe(em, call, out, nout, " * ", b);
	sbuf_add(b, " *\n * ");
	sbuf_add(b, sig.s);
	sbuf_add(b, ";\n *\n"
		    " * Arrays are column-major doubles (entry (i, j) of X is X[j * X_rows + i]);\n"
		    " * a vector x has x_len entries, a scalar is a double. The arguments:\n");
	int w = emit_name_width(em);
	for (int i = 0; i < em->nargs; i++) {
		struct sbuf d = {0};
		emit_decl_str(em, em->args[i].sym, &d);
		sbuf_printf(b, " *   %-*s  %s\n", w, em->args[i].name, d.s);
		sbuf_free(&d);
	}
	sbuf_add(b, " * The results, written only when fun returns 0:\n");
	for (int i = 0; i < nout; i++) {
		char *sz = out_size(em, &out[i]);
		sbuf_printf(b, " *   %-9s %s double%s\n", out[i].label, sz,
			    strcmp(sz, "1") == 0 ? "" : "s");
		free(sz);
	}
	if (nout == 3 && !emit_is_one(em, out[1].cols))
		sbuf_add(
		    b,
		    " * The Hessian is with respect to vec of the matrix (its columns stacked).\n");
	if (em->used_logdet)
		sbuf_add(b, " * logdet(A) is computed as log|det A|, which is log det A wherever "
			    "det A > 0.\n");
	sbuf_add(b, " * fun returns 0, or 1 for a singular matrix, 2 for sizes that do not fit,\n"
		    " * 3 when out of memory, 4 for a fractional power of a matrix.\n"
		    " * Build: cc -c FILE.c $(pkg-config --cflags openblas lapacke)\n"
		    " * Link:  -lopenblas -llapacke -lm\n"
		    " */\n");
	sbuf_add(b, c_runtime);
	sbuf_printf(b, "\n%s\n{\n", sig.s);
	sbuf_add(b, "\tstruct mcg g = {NULL, 0, 0, 0, NULL, NULL, NULL, 0, 0};\n");
	for (int i = 0; i < em->nargs; i++) {
		/* an argument only the sizes need (the variable of a zero gradient) */
		const struct earg *a = &em->args[i];
		if (a->used)
			continue;
		sbuf_printf(b, "\t(void)%s;\n", a->name);
		if (a->sym->decl->kind == KIND_VECTOR && !a->used_rows)
			sbuf_printf(b, "\t(void)%s_len;\n", a->name);
		if (a->sym->decl->kind == KIND_MATRIX && !a->used_rows)
			sbuf_printf(b, "\t(void)%s_rows;\n", a->name);
		if (a->sym->decl->kind == KIND_MATRIX && !a->used_cols)
			sbuf_printf(b, "\t(void)%s_cols;\n", a->name);
	}
	sbuf_add(b, em->body.s ? em->body.s : "");
	sbuf_add(b, "\tif (!g.err) {\n");
	for (int i = 0; i < nout; i++)
		sbuf_printf(b, "\t\tmcg_out(%s, t%d);\n", out[i].label, t[i]);
	sbuf_add(b, "\t}\n\treturn mcg_end(&g);\n}\n");
	sbuf_free(&sig);
	return true;
}
