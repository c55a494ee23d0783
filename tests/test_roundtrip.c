/* test_roundtrip.c - property: every well-typed expression prints (plain, Unicode or ASCII
 * names, or --pretty: Xᵀ, X⁻¹, ‖x‖²) to text that parses back to the very same node. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "print.h"
#include "testlib.h"

/* Seeded, so a failure is reproducible: ROUNDTRIP_SEED and ROUNDTRIP_COUNT
 * override the defaults when exploring. */
#define DEFAULT_SEED 20240601u
#define DEFAULT_COUNT 10000
#define MAX_DEPTH 6

struct gen {
	struct tsession t;
	struct mc *mc;
	uint64_t rng;
	int one, n, m; /* the dimensions 1, n, m */
	/* symbols by shape */
	struct expr *A, *B, *S, *X, *x, *y, *th, *al, *be, *la;
};

static uint64_t next(struct gen *g)
{
	/* xorshift64* */
	g->rng ^= g->rng >> 12;
	g->rng ^= g->rng << 25;
	g->rng ^= g->rng >> 27;
	return g->rng * 2685821657736338717ULL;
}

static int pick(struct gen *g, int n) { return (int)(next(g) % (uint64_t)n); }

/* A node from the constructors; NULL (error cleared) when the operation does
 * not apply, e.g. the inverse of a folded 0. */
static struct expr *mk(struct gen *g, enum expr_op op, int n, struct expr **k)
{
	for (int i = 0; i < n; i++)
		if (!k[i])
			return NULL;
	/* no unification: a failed attempt must not leave sizes joined behind it */
	struct expr *e = expr_make(g->mc, op, n, k, false);
	if (!e)
		mc_clear_error(g->mc);
	return e;
}

static struct expr *mk1(struct gen *g, enum expr_op op, struct expr *a) { return mk(g, op, 1, &a); }

static struct expr *mk2(struct gen *g, enum expr_op op, struct expr *a, struct expr *b)
{
	struct expr *k[2] = {a, b};
	return mk(g, op, 2, k);
}

static struct expr *number(struct gen *g)
{
	/* folding makes other numbers of these (1/3, 0.1 * 0.1); the test prints
	 * with 17 digits so that every double reads back exactly */
	static const double v[] = {2, 3, 4, 0.5, 0.25, -1, -2, 10};
	return expr_num(g->mc, v[pick(g, 8)]);
}

/* A leaf of shape r x c (dimension ids among one, n, m). */
static struct expr *leaf(struct gen *g, int r, int c)
{
	struct mc *mc = g->mc;
	if (r == g->one && c == g->one) {
		struct expr *s[] = {g->al, g->be, g->la, number(g), number(g)};
		return s[pick(g, 5)];
	}
	if (r == g->n && c == g->n) {
		struct expr *s[] = {g->A, g->B, g->S, g->A, expr_ident(mc, g->n)};
		return s[pick(g, 5)];
	}
	/* no ones(r, c) leaves while known_bug_hadamard_outer_product stands: a
	 * product x ones(1, n) in a ⊙ is taken for a scalar; scalars added to
	 * matrices make ones terms anyway */
	if (r == g->n && c == g->m)
		return g->X;
	if (r == g->n && c == g->one) {
		struct expr *s[] = {g->x, g->y, g->x};
		return s[pick(g, 3)];
	}
	if (r == g->m && c == g->one)
		return g->th;
	/* shapes with no symbol of their own: the transpose of one that has */
	if (r == g->m && c == g->n)
		return mk1(g, OP_T, g->X);
	if (r == g->one && c == g->n)
		return mk1(g, OP_T, pick(g, 2) ? g->x : g->y);
	if (r == g->one && c == g->m)
		return mk1(g, OP_T, g->th);
	/* m x m */
	return mk2(g, OP_MUL, mk1(g, OP_T, g->X), g->X);
}

static struct expr *gen(struct gen *g, int r, int c, int depth);

static int any_dim(struct gen *g)
{
	int d[] = {g->one, g->n, g->m};
	return d[pick(g, 3)];
}

static const enum expr_op elementwise[] = {OP_EXP,	OP_LOG,	 OP_SIN,  OP_COS,
					   OP_TAN,	OP_TANH, OP_SQRT, OP_SIGMOID,
					   OP_SOFTPLUS, OP_ABS,	 OP_SIGN, OP_RELU};

/* A scalar-valued form that only scalars have. */
static struct expr *gen_scalar(struct gen *g, int depth)
{
	int k = pick(g, 2) ? g->n : g->m;
	switch (pick(g, 11)) {
	case 0:
		return mk1(g, OP_TR, gen(g, k, k, depth - 1));
	case 1:
		return mk1(g, OP_DET, gen(g, g->n, g->n, depth - 1));
	case 2:
		return mk1(g, OP_LOGDET, gen(g, g->n, g->n, depth - 1));
	case 3:
		return mk1(g, OP_SUM, gen(g, any_dim(g), any_dim(g), depth - 1));
	case 4:
		return mk1(g, OP_NORM2, gen(g, k, g->one, depth - 1));
	case 5:
		return mk1(g, OP_NORMF, gen(g, g->n, g->m, depth - 1));
	case 6: {
		/* ||e||^2, the slides' favourite */
		struct expr *nm = mk1(g, pick(g, 2) ? OP_NORM2 : OP_NORMF,
				      gen(g, g->n, pick(g, 2) ? g->one : g->m, depth - 1));
		return mk2(g, OP_POW, nm, expr_num(g->mc, 2));
	}
	case 7: {
		/* a scalar power: numeric or symbolic exponent */
		struct expr *b = gen(g, g->one, g->one, depth - 1);
		/* a numeric exponent is a whole number, so folding keeps numbers
		 * exact; not -1 (test_pow_minus_one) */
		static const double ex[] = {2, 3, 4, -2};
		struct expr *x = pick(g, 2) ? expr_num(g->mc, ex[pick(g, 4)])
					    : gen(g, g->one, g->one, depth - 2);
		if (x && (expr_is_num(x, -1) ||
			  (b && b->op == OP_NUM && x->op == OP_NUM && x->num != (long)x->num)))
			x = expr_num(g->mc, 2); /* (-2)^0.5 folds to NaN: known_bug_nan_folded */
		return mk2(g, OP_POW, b, x);
	}
	case 8:
		/* Kronecker, sparingly: only under a sum or trace, whose shapes are simple */
		if (pick(g, 2))
			return mk1(g, OP_SUM,
				   mk2(g, OP_KRON, gen(g, g->n, g->one, depth - 2),
				       gen(g, g->m, g->one, depth - 2)));
		return mk1(
		    g, OP_TR,
		    mk2(g, OP_KRON, gen(g, g->n, g->n, depth - 2), gen(g, g->n, g->n, depth - 2)));
	case 9:
		return mk1(g, OP_SUM, mk1(g, OP_VEC, gen(g, g->n, g->m, depth - 1)));
	default: {
		/* the inverse of a scalar: 1 / e */
		struct expr *b = gen(g, g->one, g->one, depth - 1);
		return b && b->op != OP_NUM ? mk1(g, OP_INV, b) : b;
	}
	}
}

/* A random expression of shape r x c, at most depth operators deep. */
static struct expr *gen(struct gen *g, int r, int c, int depth)
{
	for (int attempt = 0; attempt < 8; attempt++) {
		if (depth <= 0 || pick(g, 5) == 0)
			return leaf(g, r, c);
		bool scalar = r == g->one && c == g->one;
		bool square = r == c && !scalar;
		struct expr *e = NULL;
		switch (pick(g, 14)) {
		case 0:
		case 1: {
			/* a sum of two or three terms, some negated or scaled */
			struct expr *k[3];
			int n = 2 + pick(g, 2);
			for (int i = 0; i < n; i++) {
				k[i] = gen(g, r, c, depth - 1);
				if (k[i] && pick(g, 3) == 0)
					k[i] = mk2(g, OP_MUL, number(g), k[i]);
			}
			e = mk(g, OP_ADD, n, k);
			break;
		}
		case 2:
		case 3: {
			/* a matrix product through any inner size */
			int k = any_dim(g);
			e = mk2(g, OP_MUL, gen(g, r, k, depth - 1), gen(g, k, c, depth - 1));
			break;
		}
		case 4:
			/* scaling */
			e = mk2(g, OP_MUL, gen(g, g->one, g->one, depth - 1),
				gen(g, r, c, depth - 1));
			break;
		case 5:
			e = mk2(g, OP_MUL, expr_num(g->mc, -1), gen(g, r, c, depth - 1));
			break;
		case 6:
			e = mk1(g, OP_T, gen(g, c, r, depth - 1));
			break;
		case 7:
			if (square)
				e = mk1(g, OP_INV, gen(g, r, r, depth - 1));
			else if (scalar)
				e = gen_scalar(g, depth);
			break;
		case 8:
			if (square)
				e = mk2(g, OP_POW, gen(g, r, r, depth - 1),
					expr_num(g->mc, 2 + pick(g, 2)));
			else if (scalar)
				e = gen_scalar(g, depth);
			break;
		case 9:
			e = mk2(g, OP_HAD, gen(g, r, c, depth - 1), gen(g, r, c, depth - 1));
			break;
		case 10:
			e = mk2(g, OP_EDIV, gen(g, r, c, depth - 1), gen(g, r, c, depth - 1));
			break;
		case 11:
			e = mk1(g, elementwise[pick(g, 12)], gen(g, r, c, depth - 1));
			break;
		case 12:
			if (scalar)
				e = gen_scalar(g, depth);
			else if (r == g->n && c == g->n)
				e = pick(g, 2)
					? mk1(g, OP_DIAG, gen(g, g->n, g->one, depth - 1))
					: mk2(g, OP_ADD, gen(g, r, c, depth - 1),
					      mk2(g, OP_MUL, gen(g, g->one, g->one, depth - 2),
						  expr_ident(g->mc, DIM_ANY)));
			else if (r == g->n && c == g->one)
				e = mk1(g, OP_DIAG, gen(g, g->n, g->n, depth - 1));
			break;
		default:
			if (scalar)
				e = gen_scalar(g, depth);
			else
				e = mk2(g, OP_ADD, gen(g, r, c, depth - 1),
					gen(g, g->one, g->one, depth - 1));
			break;
		}
		/* keep only what has the asked shape (folding can leave a 0 of any size) */
		if (e && e->op != OP_ZERO && dim_same(g->mc, e->rows, r) &&
		    dim_same(g->mc, e->cols, c) && e->rows >= 0)
			return e;
	}
	return leaf(g, r, c);
}

static struct expr *sym(struct gen *g, const char *name)
{
	const struct decl *d = session_decl(g->t.s, name);
	ck_assert_ptr_nonnull(d);
	return expr_sym(g->mc, d);
}

static void gen_open(struct gen *g, uint64_t seed)
{
	memset(g, 0, sizeof *g);
	ts_open(&g->t);
	ck_assert(ts_run(&g->t, "let A, B : matrix(n, n); let S : symmetric matrix(n, n); "
				"let X : matrix(n, m); let x, y : vector(n); let θ : vector(m); "
				"let α, β, λ : scalar"));
	g->mc = g->t.s->mc;
	g->rng = seed ? seed : 1;
	g->one = g->mc->dim_one;
	g->n = dim_find(g->mc, dim_named(g->mc, "n"));
	g->m = dim_find(g->mc, dim_named(g->mc, "m"));
	g->A = sym(g, "A");
	g->B = sym(g, "B");
	g->S = sym(g, "S");
	g->X = sym(g, "X");
	g->x = sym(g, "x");
	g->y = sym(g, "y");
	g->th = sym(g, "θ");
	g->al = sym(g, "α");
	g->be = sym(g, "β");
	g->la = sym(g, "λ");
}

/* The node's structure as an S-expression, for failure messages. */
static void tree(struct gen *g, struct sbuf *b, const struct expr *e)
{
	static const char *const names[OP_COUNT] = {
	    [OP_SYM] = "sym",	[OP_NUM] = "num",	[OP_IDENT] = "I",     [OP_ZERO] = "0",
	    [OP_ONES] = "ones", [OP_MATRIX] = "matrix", [OP_ADD] = "+",	      [OP_MUL] = "*",
	    [OP_HAD] = "had",	[OP_EDIV] = "ediv",	[OP_KRON] = "kron",   [OP_T] = "T",
	    [OP_INV] = "inv",	[OP_POW] = "pow",	[OP_NORM2] = "norm2", [OP_NORMF] = "normF",
	};
	if (e->nkids == 0) {
		print_expr(g->mc, b, e, PRINT_PLAIN);
		return;
	}
	const char *name = names[e->op] ? names[e->op] : expr_op_info(e->op)->name;
	sbuf_printf(b, "(%s", name ? name : "?");
	for (int i = 0; i < e->nkids; i++) {
		sbuf_add(b, " ");
		tree(g, b, e->kids[i]);
	}
	sbuf_add(b, ")");
}

/* Prints e and parses it back in the same session; returns NULL when that
 * gives e, else a description of the failure (owned). */
static char *roundtrip_style(struct gen *g, struct expr *e, enum print_style style)
{
	char *text = print_str(g->mc, e, style);
	struct parse p;
	struct sbuf why = {0};
	struct expr *back = NULL;
	if (!parse_text(&p, g->mc, text, strlen(text), false)) {
		sbuf_printf(&why, "%s\n  does not parse: %s", text, p.err);
	} else if (p.nitems != 1 || p.items[0]->kind != STMT_EXPR) {
		sbuf_printf(&why, "%s\n  is not one expression", text);
	} else {
		back = session_resolve(g->t.s, p.items[0]->kids[0]);
		if (!back) {
			sbuf_printf(&why, "%s\n  does not resolve: %s", text, g->mc->err.msg);
			mc_clear_error(g->mc);
		} else if (back != e) {
			char *b = print_str(g->mc, back, PRINT_PLAIN);
			sbuf_printf(&why, "%s\n  parses back to a different node, printed %s", text,
				    b);
			free(b);
		}
	}
	if (why.s) {
		sbuf_add(&why, "\n  built  ");
		tree(g, &why, e);
		if (back) {
			sbuf_add(&why, "\n  parsed ");
			tree(g, &why, back);
		}
	}
	parse_free(&p);
	free(text);
	return why.s;
}

static char *roundtrip(struct gen *g, struct expr *e) { return roundtrip_style(g, e, PRINT_PLAIN); }

/* The three forms a person reads: Unicode names, ASCII names (--ascii), pretty (--pretty). */
#define NFORMS 3
static char *roundtrip_form(struct gen *g, struct expr *e, int form)
{
	g->mc->ascii = form == 1;
	char *why = roundtrip_style(g, e, form == 2 ? PRINT_PRETTY : PRINT_PLAIN);
	g->mc->ascii = false;
	return why;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *v = getenv(name);
	return v && *v ? strtoull(v, NULL, 10) : def;
}

/* The property over many random expressions of every shape, printed with
 * Unicode and with ASCII names. */
START_TEST(test_roundtrip_random)
{
	uint64_t seed = env_u64("ROUNDTRIP_SEED", DEFAULT_SEED);
	long count = (long)env_u64("ROUNDTRIP_COUNT", DEFAULT_COUNT);
	struct gen g;
	gen_open(&g, seed);
	g.mc->precision = 17;
	long failures = 0, checked = 0, big = 0;
	for (long i = 0; i < count; i++) {
		int shapes[][2] = {{g.one, g.one}, {g.n, g.n},	 {g.n, g.m}, {g.m, g.n},
				   {g.n, g.one},   {g.one, g.n}, {g.m, g.m}, {g.m, g.one}};
		int *s = shapes[pick(&g, 8)];
		struct expr *e = gen(&g, s[0], s[1], 2 + pick(&g, MAX_DEPTH - 1));
		ck_assert_msg(e != NULL, "seed %llu, #%ld: the generator failed",
			      (unsigned long long)seed, i);
		ck_assert(!mc_failed(g.mc));
		if (expr_leaves(e) >= 6)
			big++;
		for (int form = 0; form < NFORMS; form++) {
			char *why = roundtrip_form(&g, e, form);
			checked++;
			if (why) {
				if (failures++ < 10)
					fprintf(stderr, "roundtrip seed %llu #%ld%s: %s\n",
						(unsigned long long)seed, i,
						form == 1   ? " (ascii)"
						: form == 2 ? " (pretty)"
							    : "",
						why);
				free(why);
			}
		}
	}
	ts_close(&g.t);
	ck_assert_msg(failures == 0, "%ld of %ld round trips failed (seed %llu; see stderr)",
		      failures, checked, (unsigned long long)seed);
	/* the generator must not degenerate into leaves */
	ck_assert_msg(big * 4 >= count, "only %ld of %ld expressions have 6 leaves or more", big,
		      count);
}
END_TEST

/* Each operator at least once, by construction rather than by chance. */
START_TEST(test_roundtrip_every_operator)
{
	struct gen g;
	gen_open(&g, 7);
	struct mc *mc = g.mc;
	struct expr *XT = mk1(&g, OP_T, g.X);
	struct expr *cases[] = {
	    mk2(&g, OP_ADD, g.A, g.B),
	    mk2(&g, OP_MUL, XT, g.X),
	    mk2(&g, OP_HAD, g.x, g.y),
	    mk2(&g, OP_EDIV, g.x, g.y),
	    mk2(&g, OP_KRON, g.A, g.X),
	    mk1(&g, OP_T, g.A),
	    mk1(&g, OP_INV, g.A),
	    mk1(&g, OP_T, mk1(&g, OP_INV, g.A)),
	    mk1(&g, OP_INV, mk1(&g, OP_T, g.A)),
	    mk2(&g, OP_POW, g.A, expr_num(mc, 3)),
	    mk2(&g, OP_POW, g.al, g.be),
	    mk1(&g, OP_NORM2, g.x),
	    mk1(&g, OP_NORMF, g.X),
	    mk1(&g, OP_TR, g.A),
	    mk1(&g, OP_DET, g.A),
	    mk1(&g, OP_LOGDET, g.S),
	    mk1(&g, OP_DIAG, g.x),
	    mk1(&g, OP_DIAG, g.A),
	    mk1(&g, OP_SUM, g.X),
	    mk1(&g, OP_VEC, g.X),
	    expr_ident(mc, g.n),
	    expr_ones(mc, g.n, g.m),
	    expr_zero(mc, g.n, g.one),
	    expr_matrix(mc, 2, 2, (const double[]){1, 3, 2, 4}),
	    expr_matrix(mc, 3, 1, (const double[]){1.5, -2, 1e-3}),
	    mk2(&g, OP_GRAD, mk1(&g, OP_TR, g.A), g.A),
	    mk2(&g, OP_HESS, mk2(&g, OP_MUL, mk1(&g, OP_T, g.x), g.x), g.x),
	    mk2(&g, OP_JAC, mk2(&g, OP_MUL, g.A, g.x), g.x),
	    mk1(&g, OP_D, mk1(&g, OP_TR, g.A)),
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		ck_assert_msg(cases[i] != NULL, "case %zu could not be built", i);
		for (int form = 0; form < NFORMS; form++) {
			char *why = roundtrip_form(&g, cases[i], form);
			ck_assert_msg(why == NULL, "%s", why);
		}
	}
	for (size_t i = 0; i < sizeof elementwise / sizeof *elementwise; i++) {
		char *why = roundtrip(&g, mk1(&g, elementwise[i], g.X));
		ck_assert_msg(why == NULL, "%s", why);
	}
	ts_close(&g.t);
}
END_TEST

/* src/expr.c expr_make(OP_POW): an exponent of 1 gives the base back, but an
 * exponent of -1 makes a POW node, while the parser reads e^-1 (and e^(-1))
 * as OP_INV: pow(e, -1) prints as e^-1 and comes back as a different node. */
START_TEST(test_pow_minus_one)
{
	struct gen g;
	gen_open(&g, 1);
	struct expr *e = mk2(&g, OP_POW, g.al, expr_num(g.mc, -1));
	ck_assert_ptr_eq(e, mk1(&g, OP_INV, g.al));
	char *why = roundtrip(&g, e);
	ck_assert_msg(why == NULL, "%s", why);
	ts_close(&g.t);
}
END_TEST

/* src/expr.c make_add: like terms are collected after flattening, so a sum
 * whose coefficient adds up to 1 comes back as a nested sum:
 * 0.5 (y + 4) + 0.5 (y + 4) + y, built in one call, is ((y + 4) + y), which
 * prints as y + 4 + y and parses back as 2 y + 4 (seed 130, #4550). */
START_TEST(test_add_coefficient_one_not_flattened)
{
	struct gen g;
	gen_open(&g, 1);
	struct expr *half =
	    mk2(&g, OP_MUL, expr_num(g.mc, 0.5), mk2(&g, OP_ADD, g.y, expr_num(g.mc, 4)));
	struct expr *k[3] = {half, half, g.y};
	struct expr *e = mk(&g, OP_ADD, 3, k);
	for (int i = 0; i < e->nkids; i++)
		ck_assert_int_ne(e->kids[i]->op, OP_ADD);
	char *why = roundtrip(&g, e);
	ck_assert_msg(why == NULL, "%s", why);
	ts_close(&g.t);
}
END_TEST

static Suite *roundtrip_suite(void)
{
	Suite *s = suite_create("roundtrip");
	TCase *tc = tcase_create("print-parse");
	tcase_add_test(tc, test_roundtrip_every_operator);
	tcase_add_test(tc, test_roundtrip_random);
	tcase_add_test(tc, test_pow_minus_one);
	tcase_add_test(tc, test_add_coefficient_one_not_flattened);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(roundtrip_suite());
}
