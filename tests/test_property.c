/* test_property.c - the property that grad is right: thousands of seeded random
 * well-typed scalar expressions over the whole language, each gradient compared
 * with central finite differences at random values.
 *
 * The generator covers sums, scaling, products through every inner dimension,
 * transposes, inverses of spd parts (S + c I, M M^T + I, diag(exp(v))), traces,
 * det and logdet of spd parts, Hadamard products and elementwise division,
 * exp log sqrt tanh sigmoid softplus sin cos, norms, integer and real powers,
 * diag, broadcasting a scalar over a matrix, Kronecker products and vec,
 * softmax and logsumexp. A second test draws matrix- and vector-valued F and
 * compares jacobian(F, X) = d vec(F) / d vec(X)^T (written with ⊗ and K(m, n))
 * with finite differences. Left
 * out: abs, sign and relu, whose kinks finite differences cannot see past, and
 * M - M, a 0 of no shape (a known limitation). An expression whose values
 * overflow or whose finite differences do not converge is drawn again (at most
 * MAX_SKIPPED of them); an engine error on a well-typed expression is a failure. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "eval.h"
#include "print.h"
#include "testlib.h"
#include "value.h"

#define COUNT 4000	 /* expressions checked (MATCALC_PROPERTY_COUNT overrides) */
#define PER_SESSION 100	 /* expressions per session: bounds the arena */
#define MAX_DEPTH 4	 /* of the generated expression tree */
#define MAX_TEXT 240	 /* longer expressions are drawn again: derivations stay quick */
#define TOL 1e-6	 /* relative, on the whole gradient */
#define FD_H 1e-4	 /* central differences with one Richardson step */
#define MAX_SKIPPED 0.10 /* share of drawn expressions whose values are out of range */

/* The declarations every expression is drawn over: n and m are symbolic, their
 * sizes (2-4) drawn per expression and given to the evaluator. */
static const char decls[] = "let A, B : matrix(n, n); let S : spd matrix(n, n); "
			    "let P : symmetric matrix(n, n); let X, Y : matrix(n, m); "
			    "let W : matrix(m, n); let C : matrix(m, m); let Q : spd matrix(m, m); "
			    "let x, y, z : vector(n); let u, v : vector(m); let α, β : scalar";

/* ---- the generator: text of a well-typed expression ---- */

enum dk { D1, DN, DM }; /* a dimension: 1, n or m */

struct gen {
	uint64_t st;
	struct sbuf b;
};

static uint64_t rnd(struct gen *g)
{
	/* splitmix64: the generator's own stream, independent of the values' */
	uint64_t z = (g->st += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static int pick(struct gen *g, int n) { return (int)(rnd(g) % (uint64_t)n); }

static bool chance(struct gen *g, double p)
{
	return (double)(rnd(g) >> 11) * (1.0 / 9007199254740992.0) < p;
}

static void put(struct gen *g, const char *s) { sbuf_add(&g->b, s); }

static enum dk any_dim(struct gen *g) { return (enum dk)pick(g, 3); }

static enum dk big_dim(struct gen *g) { return chance(g, 0.5) ? DN : DM; }

static void g_any(struct gen *g, enum dk r, enum dk c, int depth);
static void g_scalar(struct gen *g, int depth);

/* A symbol of shape r x c (a row is a transposed vector). */
static void g_leaf(struct gen *g, enum dk r, enum dk c)
{
	static const char *const nn[] = {"A", "B", "S", "P"}, *const nm[] = {"X", "Y"},
				 *const mn[] = {"W"}, *const mm[] = {"C", "Q"},
				 *const vn[] = {"x", "y", "z"}, *const vm[] = {"u", "v"},
				 *const sc[] = {"α", "β"};
	if (r == D1 && c == D1)
		put(g, sc[pick(g, 2)]);
	else if (r == DN && c == DN)
		put(g, nn[pick(g, 4)]);
	else if (r == DN && c == DM)
		put(g, nm[pick(g, 2)]);
	else if (r == DM && c == DN)
		put(g, mn[0]);
	else if (r == DM && c == DM)
		put(g, mm[pick(g, 2)]);
	else if (c == D1)
		put(g, r == DN ? vn[pick(g, 3)] : vm[pick(g, 2)]);
	else {
		put(g, c == DN ? vn[pick(g, 3)] : vm[pick(g, 2)]);
		put(g, "^T");
	}
}

/* The text of a sub-expression, to be written twice (M M^T). */
static char *sub_text(struct gen *g, enum dk r, enum dk c, int depth)
{
	struct sbuf saved = g->b;
	memset(&g->b, 0, sizeof g->b);
	g_any(g, r, c, depth);
	char *t = sbuf_take(&g->b);
	g->b = saved;
	return t;
}

/* A symmetric positive definite k x k matrix. */
static void g_spd(struct gen *g, enum dk k, int depth)
{
	const char *sym = k == DN ? "S" : "Q";
	char *m;
	switch (depth > 0 ? pick(g, 5) : 0) {
	case 0:
		put(g, sym);
		break;
	case 1:
		put(g, "(");
		put(g, sym);
		put(g, chance(g, 0.5) ? " + 2 I)" : " + I)");
		break;
	case 2: /* M M^T + I */
		m = sub_text(g, k, any_dim(g), depth - 1);
		sbuf_printf(&g->b, "((%s) (%s)^T + I)", m, m);
		free(m);
		break;
	case 3: /* M^T M + I */
		m = sub_text(g, any_dim(g), k, depth - 1);
		sbuf_printf(&g->b, "((%s)^T (%s) + I)", m, m);
		free(m);
		break;
	default: /* a positive diagonal */
		put(g, "diag(exp(");
		g_any(g, k, D1, depth - 1);
		put(g, "))");
		break;
	}
}

/* A scalar that is positive. */
static void g_pos_scalar(struct gen *g, int depth)
{
	enum dk k = big_dim(g);
	switch (depth > 0 ? pick(g, 7) : 6) {
	case 0:
		put(g, "exp(");
		g_scalar(g, depth - 1);
		put(g, ")");
		break;
	case 1:
		put(g, "((");
		g_scalar(g, depth - 1);
		put(g, ")^2 + 1)");
		break;
	case 2:
		put(g, "(||");
		g_any(g, k, D1, depth - 1);
		put(g, "||^2 + 1)");
		break;
	case 3:
		put(g, "tr(");
		g_spd(g, k, depth - 1);
		put(g, ")");
		break;
	case 4:
		put(g, "det(");
		g_spd(g, k, depth - 1);
		put(g, ")");
		break;
	case 5:
		put(g, chance(g, 0.5) ? "sigmoid(" : "softplus(");
		g_scalar(g, depth - 1);
		put(g, ")");
		break;
	default:
		put(g, "(α^2 + 1)");
		break;
	}
}

/* An r x c matrix with positive entries. */
static void g_pos(struct gen *g, enum dk r, enum dk c, int depth)
{
	if (r == D1 && c == D1) {
		g_pos_scalar(g, depth);
		return;
	}
	char *m;
	switch (pick(g, 4)) {
	case 0:
		put(g, "exp(");
		g_any(g, r, c, depth - 1);
		put(g, ")");
		break;
	case 1:
		m = sub_text(g, r, c, depth - 1);
		sbuf_printf(&g->b, "((%s) ⊙ (%s) + 1)", m, m);
		free(m);
		break;
	case 2:
		put(g, "softplus(");
		g_any(g, r, c, depth - 1);
		put(g, ")");
		break;
	default:
		put(g, "sigmoid(");
		g_any(g, r, c, depth - 1);
		put(g, ")");
		break;
	}
}

static const char *const smooth_fns[] = {"exp", "tanh", "sigmoid", "softplus", "sin", "cos"};

static void g_scalar(struct gen *g, int depth)
{
	if (depth <= 0 || chance(g, 0.15)) {
		g_leaf(g, D1, D1);
		return;
	}
	enum dk k = big_dim(g), j = any_dim(g);
	static const char *const nums[] = {"2", "3", "0.5", "-1"};
	switch (pick(g, 21)) {
	case 0:
		put(g, "tr(");
		g_any(g, k, k, depth - 1);
		put(g, ")");
		break;
	case 1:
		put(g, "sum(");
		g_any(g, k, j, depth - 1);
		put(g, ")");
		break;
	case 2: /* an inner product */
		put(g, "(");
		g_any(g, D1, k, depth - 1);
		put(g, " ");
		g_any(g, k, D1, depth - 1);
		put(g, ")");
		break;
	case 3: /* a bilinear form */
		put(g, "(");
		g_any(g, D1, k, depth - 1);
		put(g, " ");
		g_any(g, k, j == D1 ? DN : j, depth - 1);
		put(g, " ");
		g_any(g, j == D1 ? DN : j, D1, depth - 1);
		put(g, ")");
		break;
	case 4: {
		bool plain = chance(g, 0.5);
		put(g, plain ? "logdet(" : "log(det(");
		g_spd(g, k, depth - 1);
		put(g, plain ? ")" : "))");
		break;
	}
	case 5:
		put(g, "det(");
		g_spd(g, k, depth - 1);
		put(g, ")");
		break;
	case 6: /* in parentheses: a norm right after an operand would close an outer one */
		put(g, "(||");
		g_any(g, k, D1, depth - 1);
		put(g, chance(g, 0.5) ? "||^2)" : "||)");
		break;
	case 7:
		put(g, "(||");
		g_any(g, k, j == D1 ? DN : j, depth - 1);
		put(g, chance(g, 0.5) ? "||_F^2)" : "||_F)");
		break;
	case 8:
		put(g, smooth_fns[pick(g, 6)]);
		put(g, "(");
		g_scalar(g, depth - 1);
		put(g, ")");
		break;
	case 9:
		put(g, chance(g, 0.5) ? "log(" : "sqrt(");
		g_pos_scalar(g, depth - 1);
		put(g, ")");
		break;
	case 10:
		put(g, "(");
		g_scalar(g, depth - 1);
		put(g, chance(g, 0.5) ? ")^2" : ")^3");
		break;
	case 11:
		put(g, "(");
		g_pos_scalar(g, depth - 1);
		put(g, ")^(1.5)");
		break;
	case 12:
		put(g, "(");
		g_scalar(g, depth - 1);
		put(g, " ");
		g_scalar(g, depth - 1);
		put(g, ")");
		break;
	case 13: {
		char *t1 = sub_text(g, D1, D1, depth - 1), *t2 = sub_text(g, D1, D1, depth - 1);
		sbuf_printf(&g->b, "(%s %s %s)", t1, strcmp(t1, t2) && chance(g, 0.5) ? "-" : "+",
			    t2);
		free(t1);
		free(t2);
		break;
	}
	case 14:
		put(g, "(");
		put(g, nums[pick(g, 4)]);
		put(g, " ");
		g_scalar(g, depth - 1);
		put(g, ")");
		break;
	case 15:
		put(g, "(");
		g_scalar(g, depth - 1);
		put(g, " / ");
		g_pos_scalar(g, depth - 1);
		put(g, ")");
		break;
	case 16:
		put(g, "sum(");
		g_any(g, k, D1, depth - 1);
		put(g, " ⊙ ");
		g_any(g, k, D1, depth - 1);
		put(g, ")");
		break;
	case 17: /* Kronecker products and vec */
		put(g, "tr(");
		g_any(g, k, k, depth - 1);
		put(g, " ⊗ ");
		g_any(g, j == D1 ? DN : j, j == D1 ? DN : j, depth - 1);
		put(g, ")");
		break;
	case 18:
		put(g, "sum(");
		g_any(g, k, j, depth - 1);
		put(g, " ⊗ ");
		g_any(g, j, k, depth - 1);
		put(g, ")");
		break;
	case 19:
		put(g, "logsumexp(");
		g_any(g, k, D1, depth - 1);
		put(g, ")");
		break;
	default:
		put(g, "(vec(");
		g_any(g, k, j, depth - 1);
		put(g, ")^T vec(");
		g_any(g, k, j, depth - 1);
		put(g, "))");
		break;
	}
}

static void g_any(struct gen *g, enum dk r, enum dk c, int depth)
{
	if (r == D1 && c == D1) {
		g_scalar(g, depth);
		return;
	}
	if (depth <= 0 || chance(g, 0.25)) {
		g_leaf(g, r, c);
		return;
	}
	bool square = r == c;
	enum dk k = any_dim(g);
	char *t1, *t2;
	switch (pick(g, square ? 15 : (c == D1 ? 13 : 11))) {
	case 0:
		/* not M - M: a 0 of no shape is a known limitation (see the report) */
		t1 = sub_text(g, r, c, depth - 1);
		t2 = sub_text(g, r, c, depth - 1);
		sbuf_printf(&g->b, "(%s %s %s)", t1, strcmp(t1, t2) && chance(g, 0.5) ? "-" : "+",
			    t2);
		free(t1);
		free(t2);
		break;
	case 1:
		put(g, "(");
		if (chance(g, 0.5))
			put(g, chance(g, 0.5) ? "2" : "-0.5");
		else
			g_scalar(g, depth - 1);
		put(g, " ");
		g_any(g, r, c, depth - 1);
		put(g, ")");
		break;
	case 2:
	case 3: /* a product, through any inner dimension */
		put(g, "(");
		g_any(g, r, k, depth - 1);
		put(g, " ");
		g_any(g, k, c, depth - 1);
		put(g, ")");
		break;
	case 4:
		put(g, "(");
		g_any(g, c, r, depth - 1);
		put(g, ")^T");
		break;
	case 5:
		put(g, "(");
		g_any(g, r, c, depth - 1);
		put(g, " ⊙ ");
		g_any(g, r, c, depth - 1);
		put(g, ")");
		break;
	case 6:
		put(g, smooth_fns[pick(g, 6)]);
		put(g, "(");
		g_any(g, r, c, depth - 1);
		put(g, ")");
		break;
	case 7:
		put(g, chance(g, 0.5) ? "log(" : "sqrt(");
		g_pos(g, r, c, depth - 1);
		put(g, ")");
		break;
	case 8:
		put(g, "(");
		g_any(g, r, c, depth - 1);
		put(g, " ./ ");
		g_pos(g, r, c, depth - 1);
		put(g, ")");
		break;
	case 9: /* a scalar added to every entry */
		put(g, "(");
		if (chance(g, 0.5))
			put(g, "1");
		else
			g_scalar(g, depth - 1);
		put(g, " + ");
		g_any(g, r, c, depth - 1);
		put(g, ")");
		break;
	case 10:
		put(g, "(");
		g_any(g, r, c, depth - 1);
		put(g, " / ");
		g_pos_scalar(g, depth - 1);
		put(g, ")");
		break;
	case 11:
		if (c == D1) { /* the diagonal of a square matrix */
			put(g, "diag(");
			g_any(g, r, r, depth - 1);
			put(g, ")");
		} else { /* the inverse of an spd part */
			put(g, "inv(");
			g_spd(g, r, depth - 1);
			put(g, ")");
		}
		break;
	case 12:
		if (c == D1) {
			put(g, "softmax(");
			g_any(g, r, D1, depth - 1);
			put(g, ")");
			break;
		}
		put(g, "(");
		g_spd(g, r, depth - 1);
		put(g, ")^-1");
		break;
	case 13:
		put(g, "(");
		g_any(g, r, r, depth - 1);
		put(g, ")^2");
		break;
	default:
		put(g, "diag(");
		g_any(g, r, D1, depth - 1);
		put(g, ")");
		break;
	}
}

/* ---- checking one expression ---- */

static const char *const names[] = {"A", "B", "S", "P", "X", "Y", "W", "C",
				    "Q", "x", "y", "z", "u", "v", "α", "β"};
#define NNAMES ((int)(sizeof names / sizeof *names))

struct prop {
	struct tsession t;
	struct session *s;
	struct mc *mc;
	long size_n, size_m;
	long *sizes; /* by dimension root, for the evaluator */
	int nsizes;
	struct eval_opts opts;
	/* results */
	long checked, skipped, failed, refused;
	struct sbuf report;
	int shown;
};

static void prop_session(struct prop *p, unsigned long seed)
{
	if (p->s)
		ts_close(&p->t);
	ts_open(&p->t);
	p->s = p->t.s;
	p->mc = p->s->mc;
	const char *dir = getenv("MATCALC_RULES");
	p->s->rules_dir = dir && *dir ? dir : MATCALC_SOURCE_ROOT "/rules";
	value_seed(p->s, seed);
	ck_assert_msg(ts_run(&p->t, decls), "%s", p->t.err);
}

static long size_of(struct prop *p, int dim)
{
	if (dim_is_one(p->mc, dim))
		return 1;
	int r = dim_find(p->mc, dim);
	if (r == dim_find(p->mc, dim_named(p->mc, "n")))
		return p->size_n;
	if (r == dim_find(p->mc, dim_named(p->mc, "m")))
		return p->size_m;
	return -1;
}

/* The evaluator's options for the current sizes (the dimension table grows as
 * derivations make new dimensions). */
static const struct eval_opts *opts(struct prop *p, long hr, long hc)
{
	if (p->nsizes < p->mc->ndims) {
		p->nsizes = p->mc->ndims + 64;
		p->sizes = mc_xrealloc(p->sizes, (size_t)p->nsizes * sizeof *p->sizes);
	}
	for (int i = 0; i < p->nsizes; i++)
		p->sizes[i] = -1;
	p->sizes[dim_find(p->mc, dim_named(p->mc, "n"))] = p->size_n;
	p->sizes[dim_find(p->mc, dim_named(p->mc, "m"))] = p->size_m;
	memset(&p->opts, 0, sizeof p->opts);
	p->opts.dim_sizes = p->sizes;
	p->opts.ndim_sizes = p->nsizes;
	p->opts.general = true; /* finite differences step off symmetry */
	p->opts.hint_rows = hr;
	p->opts.hint_cols = hc;
	return &p->opts;
}

/* Random values for every declared symbol: spd ones B B^T / k + I, symmetric
 * ones (M + M^T) / 2, the rest normal with standard deviation 0.6. */
static void bind_values(struct prop *p)
{
	for (int i = 0; i < NNAMES; i++) {
		const struct decl *d = session_decl(p->s, names[i]);
		ck_assert_ptr_nonnull(d);
		long r = size_of(p, d->rows), c = size_of(p, d->cols);
		struct value *v = value_new(r, c);
		if (d->spd) {
			struct value *b = value_new(r, r);
			for (long j = 0; j < r * r; j++)
				b->data[j] = value_normal(p->s);
			for (long a = 0; a < r; a++)
				for (long e = 0; e < r; e++) {
					double acc = a == e ? 1 : 0;
					for (long l = 0; l < r; l++)
						acc += b->data[l * r + a] * b->data[l * r + e] /
						       (double)r;
					v->data[e * r + a] = acc;
				}
			value_free(b);
		} else {
			for (long j = 0; j < r * c; j++)
				v->data[j] = 0.6 * value_normal(p->s);
			if (d->symmetric)
				for (long a = 0; a < r; a++)
					for (long e = 0; e < a; e++)
						v->data[a * r + e] = v->data[e * r + a];
		}
		value_set(p->s, d, v);
	}
}

static struct value *evaluate(struct prop *p, const struct expr *e, long hr, long hc)
{
	struct value *v = eval_expr_opts(p->s, e, opts(p, hr, hc));
	if (!v) {
		mc_clear_error(p->mc);
		return NULL;
	}
	for (long i = 0; i < v->rows * v->cols; i++)
		if (!isfinite(v->data[i])) {
			value_free(v);
			return NULL;
		}
	return v;
}

static struct value *eval_shifted(struct prop *p, const struct expr *f, const struct decl *x,
				  const struct value *x0, long at, double t)
{
	struct value *xv = value_copy(x0);
	xv->data[at] += t;
	value_set(p->s, x, xv);
	return evaluate(p, f, 1, 1);
}

/* The gradient of f in x by central differences with one Richardson step; NULL
 * when f has no value nearby or the differences have not converged (f varies
 * too fast at this step: sin(exp(det(Q))^1.5), say), so a mismatch is the
 * engine's and never the finite differences'. */
static struct value *fd_gradient(struct prop *p, const struct expr *f, const struct decl *x)
{
	struct value *x0 = value_copy(value_of(p->s, x));
	struct value *g = value_new(x0->rows, x0->cols);
	double change = 0, norm = 0; /* Richardson's correction, and the result */
	bool ok = true;
	for (long i = 0; i < x0->rows * x0->cols && ok; i++) {
		struct value *v[4];
		static const double steps[4] = {FD_H, -FD_H, FD_H / 2, -FD_H / 2};
		for (int k = 0; k < 4; k++)
			v[k] = eval_shifted(p, f, x, x0, i, steps[k]);
		ok = v[0] && v[1] && v[2] && v[3];
		if (ok) {
			double d1 = (v[0]->data[0] - v[1]->data[0]) / (2 * FD_H);
			double d2 = (v[2]->data[0] - v[3]->data[0]) / FD_H;
			g->data[i] = (4 * d2 - d1) / 3;
			change += (g->data[i] - d2) * (g->data[i] - d2);
			norm += g->data[i] * g->data[i];
		}
		for (int k = 0; k < 4; k++)
			value_free(v[k]);
	}
	value_set(p->s, x, x0);
	if (!ok || sqrt(change) > 0.1 * TOL * sqrt(norm) + 1e-9) {
		value_free(g);
		return NULL;
	}
	return g;
}

/* The non-scalar symbols of e, each once. */
static void symbols_of(struct prop *p, const struct expr *e, const struct expr **v, int *n)
{
	if (e->op == OP_SYM) {
		if (expr_is_scalar(p->mc, e))
			return;
		for (int i = 0; i < *n; i++)
			if (v[i] == e)
				return;
		v[(*n)++] = e;
		return;
	}
	for (int i = 0; i < e->nkids; i++)
		symbols_of(p, e->kids[i], v, n);
}

static void show_value(struct prop *p, const char *label, const struct value *v)
{
	sbuf_printf(&p->report, "\n    %s ", label);
	if (v)
		value_print(p->s, &p->report, v);
	else
		sbuf_add(&p->report, "(none)");
}

/* Records a failure: the expression, how to reproduce it, and what differs. */
static void failure(struct prop *p, const char *text, const struct expr *f, const struct expr *x,
		    const char *what, const struct expr *g, const struct value *gv,
		    const struct value *fd)
{
	p->failed++;
	const char *show = getenv("MATCALC_PROPERTY_SHOW");
	if (p->shown++ >= (show ? atoi(show) : 20))
		return;
	char *pf = print_str(p->mc, f, PRINT_PLAIN), *px = print_str(p->mc, x, PRINT_PLAIN);
	sbuf_printf(&p->report, "\n  grad(%s, %s): %s\n    n = %ld, m = %ld; as generated: %s", pf,
		    px, what, p->size_n, p->size_m, text);
	sbuf_printf(&p->report, "\n    reproduce: matcalc -e '%s' -e 'gradcheck(%s, %s)'", decls,
		    pf, px);
	if (g) {
		char *pg = print_str(p->mc, g, PRINT_PLAIN);
		sbuf_printf(&p->report, "\n    engine: %s", pg);
		free(pg);
	}
	if (gv || fd) {
		show_value(p, "engine's gradient:  ", gv);
		show_value(p, "finite differences: ", fd);
	}
	free(pf);
	free(px);
}

/* Draws one expression and checks its gradient; false when it was skipped
 * (values out of range: a drawn expression may overflow). */
static bool check_one(struct prop *p, struct gen *g)
{
	char *text;
	for (;;) {
		memset(&g->b, 0, sizeof g->b);
		g_scalar(g, MAX_DEPTH);
		text = sbuf_take(&g->b);
		if (strlen(text) <= MAX_TEXT && strpbrk(text, "ABSPXYWCQxyzuv"))
			break;
		free(text);
	}
	p->size_n = 2 + pick(g, 3);
	p->size_m = 2 + pick(g, 3);
	struct parse ps;
	ck_assert_msg(parse_text(&ps, p->mc, text, strlen(text), false), "%s: %s", text, ps.err);
	ck_assert_int_eq(ps.nitems, 1);
	struct expr *f = session_resolve(p->s, ps.items[0]->kids[0]);
	parse_free(&ps);
	if (!f) {
		/* well-typed by construction: the engine refused it */
		sbuf_printf(&p->report, "\n  %s\n    n = %ld, m = %ld: refused: %s", text,
			    p->size_n, p->size_m, p->mc->err.msg);
		p->refused++;
		mc_clear_error(p->mc);
		free(text);
		return false;
	}
	/* a difference of equal terms is a 0 of no shape */
	ck_assert_msg(expr_is_scalar(p->mc, f) || (f->rows < 0 && f->cols < 0), "not a scalar: %s",
		      text);
	const struct expr *syms[NNAMES];
	int nsyms = 0;
	symbols_of(p, f, syms, &nsyms);
	if (nsyms == 0) { /* its matrices cancelled on construction: draw again */
		free(text);
		return false;
	}
	const struct expr *x = syms[pick(g, nsyms)];
	bind_values(p);
	struct value *f0 = evaluate(p, f, 1, 1);
	bool in_range = f0 && fabs(f0->data[0]) < 1e8;
	value_free(f0);
	struct value *fd = in_range ? fd_gradient(p, f, x->decl) : NULL;
	double fdnorm = 0;
	for (long i = 0; fd && i < fd->rows * fd->cols; i++)
		fdnorm = fmax(fdnorm, fabs(fd->data[i]));
	if (!fd || fdnorm > 1e8) {
		value_free(fd);
		free(text);
		p->skipped++;
		return false;
	}
	p->checked++;
	struct expr *grad = diff_gradient(p->s, f, (struct expr *)x);
	if (!grad) {
		failure(p, text, f, x, p->mc->err.msg ? p->mc->err.msg : "no gradient", NULL, NULL,
			NULL);
		mc_clear_error(p->mc);
		value_free(fd);
		free(text);
		return true;
	}
	/* the factoring search is skipped only where it cannot shorten the sum */
	if (diff_prefer_shorter(p->s, grad, false) != diff_prefer_shorter(p->s, grad, true))
		failure(p, text, f, x, "the factoring bound skipped a search that shortens it",
			grad, NULL, NULL);
	struct value *gv = evaluate(p, grad, fd->rows, fd->cols);
	if (!gv) {
		failure(p, text, f, x, "the gradient does not evaluate", grad, NULL, fd);
	} else if (gv->rows != fd->rows || gv->cols != fd->cols) {
		failure(p, text, f, x, "the gradient has another shape than the variable", grad, gv,
			fd);
	} else {
		double d = 0, a = 0, b = 0;
		for (long i = 0; i < gv->rows * gv->cols; i++) {
			d += (gv->data[i] - fd->data[i]) * (gv->data[i] - fd->data[i]);
			a += gv->data[i] * gv->data[i];
			b += fd->data[i] * fd->data[i];
		}
		/* finite differences of a large f lose digits: an absolute floor of 1e-7 */
		if (sqrt(d) > TOL * fmax(sqrt(a), sqrt(b)) + 1e-7) {
			char what[64];
			snprintf(what, sizeof what, "relative error %.3g",
				 sqrt(d) / fmax(sqrt(a), sqrt(b)));
			failure(p, text, f, x, what, grad, gv, fd);
		}
	}
	value_free(gv);
	value_free(fd);
	free(text);
	return true;
}

/* ---- the tests ---- */

static long count_wanted(void)
{
	const char *e = getenv("MATCALC_PROPERTY_COUNT");
	long n = e ? strtol(e, NULL, 10) : COUNT;
	return n > 0 ? n : COUNT;
}

START_TEST(test_gradients_agree)
{
	struct prop p;
	memset(&p, 0, sizeof p);
	struct gen g = {.st = 0x5eed0001};
	const char *seed = getenv("MATCALC_TEST_SEED");
	if (seed)
		g.st = strtoull(seed, NULL, 10);
	long want = count_wanted(), drawn = 0;
	while (p.checked < want) {
		if (drawn % PER_SESSION == 0)
			prop_session(&p, (unsigned long)rnd(&g));
		check_one(&p, &g);
		drawn++;
		ck_assert_msg(drawn < 4 * want, "too many expressions drawn");
	}
	fprintf(stderr,
		"property: %ld expressions checked, %ld drawn again (values out of range), "
		"%ld failed, %ld refused\n",
		p.checked, p.skipped, p.failed, p.refused);
	if (p.failed || p.refused)
		fprintf(stderr, "gradients that disagree with finite differences:%s\n", p.report.s);
	/* freed before the verdicts, so a failure leaks nothing under ASan */
	sbuf_free(&p.report);
	free(p.sizes);
	ts_close(&p.t);
	ck_assert_msg(p.refused == 0, "%ld well-typed expressions were refused", p.refused);
	ck_assert_msg(p.failed == 0, "%ld of %ld gradients are wrong (details above)", p.failed,
		      p.checked);
	ck_assert_msg(p.skipped <= MAX_SKIPPED * (double)(p.checked + p.skipped),
		      "%ld of %ld expressions were out of range: the generator needs tuning",
		      p.skipped, p.checked + p.skipped);
	ck_assert_int_ge(p.checked, want);
}
END_TEST

/* ---- Jacobians of matrix- and vector-valued F ---- */

#define JAC_COUNT 300 /* expressions checked */

/* Draws F (n x m, n x 1 or m x n) and a matrix or vector symbol X of it, and
 * compares jacobian(F, X) with finite differences of vec(F), column by column. */
static bool check_jacobian(struct prop *p, struct gen *g)
{
	static const enum dk shapes[][2] = {{DN, DM}, {DN, D1}, {DM, DN}, {DN, DN}};
	int sh = pick(g, 4);
	memset(&g->b, 0, sizeof g->b);
	g_any(g, shapes[sh][0], shapes[sh][1], 3);
	char *text = sbuf_take(&g->b);
	p->size_n = 2 + pick(g, 3);
	p->size_m = 2 + pick(g, 3);
	struct parse ps;
	ck_assert_msg(parse_text(&ps, p->mc, text, strlen(text), false), "%s: %s", text, ps.err);
	struct expr *f = session_resolve(p->s, ps.items[0]->kids[0]);
	parse_free(&ps);
	const struct expr *syms[NNAMES];
	int nsyms = 0;
	if (f)
		symbols_of(p, f, syms, &nsyms);
	if (!f || nsyms == 0 || f->rows < 0 || strlen(text) > MAX_TEXT) {
		mc_clear_error(p->mc);
		free(text);
		return false;
	}
	const struct expr *x = syms[pick(g, nsyms)];
	bind_values(p);
	struct value *f0 = evaluate(p, f, -1, -1);
	if (!f0) {
		free(text);
		return false;
	}
	long nf = f0->rows * f0->cols;
	struct value *x0 = value_copy(value_of(p->s, x->decl));
	long nx = x0->rows * x0->cols;
	struct value *fd = value_new(nf, nx);
	bool ok = true;
	for (long i = 0; i < nx && ok; i++) {
		struct value *v[2];
		for (int k = 0; k < 2; k++) {
			struct value *xv = value_copy(x0);
			xv->data[i] += k ? -FD_H : FD_H;
			value_set(p->s, x->decl, xv);
			v[k] = evaluate(p, f, f0->rows, f0->cols);
		}
		ok = v[0] && v[1];
		for (long r = 0; ok && r < nf; r++)
			fd->data[i * nf + r] = (v[0]->data[r] - v[1]->data[r]) / (2 * FD_H);
		value_free(v[0]);
		value_free(v[1]);
	}
	value_set(p->s, x->decl, x0);
	value_free(f0);
	if (!ok) {
		value_free(fd);
		free(text);
		return false;
	}
	p->checked++;
	struct expr *call = expr_make2(p->mc, OP_JAC, f, (struct expr *)x, false);
	struct expr *jac = call ? diff_derive(p->s, call) : NULL;
	struct value *jv = NULL;
	if (jac) {
		jv = eval_expr_opts(p->s, jac, opts(p, nf, nx));
		if (!jv)
			sbuf_printf(&p->report, "\n  jacobian(%s): %s", text,
				    p->mc->err.msg ? p->mc->err.msg : "?");
		mc_clear_error(p->mc);
	}
	bool finite = true;
	for (long i = 0; jv && i < jv->rows * jv->cols; i++)
		finite &= isfinite(jv->data[i]) != 0;
	for (long i = 0; i < fd->rows * fd->cols; i++)
		finite &= isfinite(fd->data[i]) && fabs(fd->data[i]) < 1e8;
	if (!finite) { /* values out of range: not a verdict */
		p->checked--;
		p->skipped++;
		value_free(jv);
		value_free(fd);
		free(text);
		return false;
	}
	if (!jac) {
		/* a term the read-off cannot write: counted and shown, not a wrong
		 * answer, and none is allowed */
		p->refused++;
		sbuf_printf(&p->report, "\n  jacobian(%s): not supported: %s", text,
			    p->mc->err.msg ? p->mc->err.msg : "?");
		mc_clear_error(p->mc);
	} else if (jac->op == OP_ADD && diff_prefer_shorter(p->s, jac, true) != jac) {
		/* an expanded answer: the factoring search (skipped or run) finds nothing */
		failure(p, text, f, x, "the factoring bound skipped a search that shortens it", jac,
			NULL, NULL);
	} else if (!jv || jv->rows != nf || jv->cols != nx) {
		failure(p, text, f, x, "the Jacobian does not evaluate to its size", jac, jv, fd);
		mc_clear_error(p->mc);
	} else {
		double d = 0, a = 0;
		for (long i = 0; i < nf * nx; i++) {
			d += (jv->data[i] - fd->data[i]) * (jv->data[i] - fd->data[i]);
			a += fd->data[i] * fd->data[i];
		}
		/* plain central differences: 1e-5 relative */
		if (sqrt(d) > 1e-5 * sqrt(a) + 1e-6)
			failure(p, text, f, x, "the Jacobian differs from finite differences", jac,
				jv, fd);
	}
	value_free(jv);
	value_free(fd);
	free(text);
	return true;
}

START_TEST(test_jacobians_agree)
{
	struct prop p;
	memset(&p, 0, sizeof p);
	struct gen g = {.st = 0x5eed0002};
	long drawn = 0;
	while (p.checked < JAC_COUNT) {
		if (drawn % PER_SESSION == 0)
			prop_session(&p, (unsigned long)rnd(&g));
		check_jacobian(&p, &g);
		drawn++;
		ck_assert_msg(drawn < 20 * JAC_COUNT, "too many expressions drawn");
	}
	fprintf(stderr, "property: %ld Jacobians checked, %ld failed, %ld not supported\n",
		p.checked, p.failed, p.refused);
	if (p.failed || p.refused)
		fprintf(stderr, "Jacobians that disagree with finite differences:%s\n", p.report.s);
	sbuf_free(&p.report);
	free(p.sizes);
	ts_close(&p.t);
	ck_assert_msg(p.failed == 0, "%ld of %ld Jacobians are wrong (details above)", p.failed,
		      p.checked);
	ck_assert_msg(p.refused == 0, "%ld of %ld Jacobians not supported", p.refused,
		      p.checked);
}
END_TEST

static Suite *property_suite(void)
{
	Suite *s = suite_create("property");
	TCase *tc = tcase_create("grad");
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, test_gradients_agree);
	tcase_add_test(tc, test_jacobians_agree);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(property_suite());
}
