/* test_eval.c - numbers: bindings, every operator against hand-computed values,
 * chain order, solves instead of inverses, shared nodes once, every error. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "testlib.h"
#include "value.h"

/* X, B, y, α as every operator case uses them. */
#define SETUP "X = [1 2; 3 4]; B = [2 0; 1 3]; y = [1; 2]; α = 2.5; "

struct vcase {
	const char *input; /* statements; the last prints */
	const char *want;  /* the output */
};

/* Each operator against numbers worked out by hand. */
static const struct vcase values[] = {
    {"X", "[1 2; 3 4]"},
    {"y", "[1; 2]"},
    {"α", "2.5"},
    {"eval(2 + 3)", "5"},
    {"[1 2; 3 4] y", "[5; 11]"},
    /* sums, with a scalar broadcast and I sized by its sibling */
    {"X + B", "[3 2; 4 7]"},
    {"X + 1", "[2 3; 4 5]"},
    {"X - B", "[-1 2; 2 1]"},
    {"X + I", "[2 2; 3 5]"},
    {"2 I + X", "[3 2; 3 6]"},
    /* products: scaling, dgemm, dgemv (both sides), ddot, chains with I */
    {"2 X", "[2 4; 6 8]"},
    {"α X", "[2.5 5; 7.5 10]"},
    {"X B", "[4 6; 10 12]"},
    {"X^T B", "[5 9; 8 12]"},
    {"X B^T", "[2 7; 6 15]"},
    {"X^T B^T", "[2 10; 4 14]"},
    {"X y", "[5; 11]"},
    {"X^T y", "[7; 10]"},
    {"y^T X", "[7 10]"},
    {"y^T X^T", "[5 11]"},
    {"y^T y", "5"},
    {"y^T X y", "27"},
    {"y y^T", "[1 2; 2 4]"},
    {"X I y", "[5; 11]"},
    {"I X", "[1 2; 3 4]"},
    {"(2 I) X", "[2 4; 6 8]"},
    {"X B X", "[22 32; 46 68]"},
    /* entrywise */
    {"X ⊙ B", "[2 0; 3 12]"},
    {"B ./ X", "[2 0; 0.333333 0.75]"},
    {"X ⊙ I", "[1 0; 0 4]"},
    {"kron(y, X)", "[1 2; 3 4; 2 4; 6 8]"},
    {"kron(X, B)", "[2 0 4 0; 1 3 2 6; 6 0 8 0; 3 9 4 12]"},
    /* transpose, inverse, solves, powers */
    {"X^T", "[1 3; 2 4]"},
    {"inv(X)", "[-2 1; 1.5 -0.5]"},
    {"X^-1 y", "[0; 0.5]"},
    {"y^T X^-1", "[1 0]"},
    {"X^-T y", "[1; 0]"},
    {"X^T X^-1", "[2.5 -0.5; 2 0]"},
    {"X^-1 B^-1", "[-1.16667 0.333333; 0.833333 -0.166667]"},
    {"2 X^-1", "[-4 2; 3 -1]"},
    {"X^2", "[7 10; 15 22]"},
    {"X^3", "[37 54; 81 118]"},
    {"X^-2", "[5.5 -2.5; -3.75 1.75]"},
    {"α^2", "6.25"},
    {"α^(0.5)", "1.58114"},
    {"1 / α", "0.4"},
    /* norms and functions */
    {"||y||", "2.23607"},
    {"||X||_F", "5.47723"},
    {"||X||_F^2", "30"},
    {"tr(X)", "5"},
    {"det(X)", "-2"},
    {"det(B)", "6"},
    {"logdet(B)", "1.79176"},
    {"eval(logdet(X^T X))", "1.38629"},
    {"diag(y)", "[1 0; 0 2]"},
    {"diag(X)", "[1; 4]"},
    {"sum(X)", "10"},
    {"vec(X)", "[1; 3; 2; 4]"},
    {"exp(y)", "[2.71828; 7.38906]"},
    {"log(y)", "[0; 0.693147]"},
    {"sin(y)", "[0.841471; 0.909297]"},
    {"cos(y)", "[0.540302; -0.416147]"},
    {"tan(y)", "[1.55741; -2.18504]"},
    {"tanh(y)", "[0.761594; 0.964028]"},
    {"sqrt(y)", "[1; 1.41421]"},
    {"sigmoid(y)", "[0.731059; 0.880797]"},
    {"sigmoid(-1000 y)", "[0; 0]"},
    {"softplus(y)", "[1.31326; 2.12693]"},
    {"softplus(1000 y)", "[1000; 2000]"},
    {"abs(-y)", "[1; 2]"},
    {"sign(y - 1)", "[0; 1]"},
    {"relu(y - 1.5)", "[0; 0.5]"},
    /* ones and eye with sizes fixed by a binding */
    {"let z : vector(n); z = [1; 2; 3]; ones(n, 1)^T z", "6"},
    {"let z : vector(n); z = [1; 2; 3]; eval(ones(n, 1))", "[1; 1; 1]"},
    {"eval(ones(2, 3))", "[1 1 1; 1 1 1]"},
    /* a formula without values prints as a formula */
    {"X - X", "[0 0; 0 0]"},
    /* shared nodes, sums of products */
    {"tr(X B) + sum(X B)", "48"},
    {"2 X X^T y - 2 X B^T y", "[22; 50]"},
    /* bindings: rebinding replaces, literals and constructors */
    {"X = [5 6; 7 8]; X", "[5 6; 7 8]"},
    {"a = -1; a", "-1"},
    {"E = eye(3); E", "[1 0 0; 0 1 0; 0 0 1]"},
    {"Z = zeros(2, 3); Z", "[0 0 0; 0 0 0]"},
    {"O = ones(2, 2); O", "[1 1; 1 1]"},
    {"f = y^T y; f = 2; f", "2"},
};

START_TEST(test_values)
{
	const struct vcase *c = &values[_i];
	char text[512];
	snprintf(text, sizeof text, "%s%s", SETUP, c->input);
	bool ok;
	char *out = ts_eval(text, &ok);
	ck_assert_msg(ok, "%s: failed: %s", c->input, out);
	/* the last line is the result */
	char *last = strrchr(out, '\n');
	ck_assert_str_eq(last ? last + 1 : out, c->want);
	free(out);
}
END_TEST

struct ecase {
	const char *input;
	const char *want; /* the error message, without "matcalc: -e:L:C: error: " */
};

static const struct ecase errors[] = {
    {"eval(W)", "W has no value: bind one, e.g. W = randn(3, 2)"},
    {"eval(w)", "w has no value: bind one, e.g. w = randn(3, 1)"},
    {"let β : scalar; eval(β)", "β has no value: bind one, e.g. β = 2"},
    {"let S : matrix(n, n); eval(S)", "S has no value: bind one, e.g. S = randn(3, 3)"},
    {"Q = [1 2; 3 4]; eval(Q w)", "w has no value: bind one, e.g. w = randn(2, 1)"},
    {"A = [1 2; 2 4]; inv(A)", "cannot invert A: it is singular (reciprocal condition number 0)"},
    {"A = [1 2; 2 4]; A^-1 y",
     "cannot solve with A: it is singular (reciprocal condition number 0)"},
    {"A = [1 2; 2 4]; y^T A^-1",
     "cannot solve with A: it is singular (reciprocal condition number 0)"},
    {"A = [1 2; 2 4]; eval((X A)^-1 y)",
     "cannot solve with X A: it is singular (reciprocal condition number 0)"},
    {"A = [1 2; 2 4]; A^-2", "cannot invert A: it is singular (reciprocal condition number 0)"},
    {"log(y - 1)", "log of a non-positive value: y - 1 has the entry 0"},
    {"log(-y)", "log of a non-positive value: -y has the entry -1"},
    {"logdet(X)", "log of a non-positive value: det(X) is negative"},
    {"A = [1 2; 2 4]; logdet(A)", "log of a non-positive value: det(A) is 0"},
    {"sqrt(-y)", "sqrt of a negative value: -y has the entry -1"},
    {"(-α)^(0.5)", "a negative value to a non-integer power: -α is -2.5, the exponent 0.5"},
    {"y ./ (y - 1)", "division by zero in y ./ (y - 1)"},
    {"eval(I)", "the size of I is not known here"},
    {"eval(ones(k, 2))",
     "the size of ones(k, 2) is not known: bind a value to a symbol of that size"},
    /* bindings */
    {"let A : matrix(n, m); let C : matrix(n, k); A = randn(3, 2); C = randn(2, 2)",
     "cannot bind C to a 2×2 value: C is n×k with n = 3"},
    {"let a : scalar; a = [1 2; 3 4]", "cannot bind a to a 2×2 value: a is a scalar; to make it a "
				       "matrix declare it: let a : matrix(2, 2)"},
    {"v = [1 2; 3 4]", "cannot bind v to a 2×2 value: v is a column vector (n_v×1); to make it a "
		       "matrix declare it: let v : matrix(2, 2)"},
    {"v = [1 2 3]",
     "cannot bind v to a 1×3 value: v is a column vector (n_v×1); write it as a column: [a; b; c]"},
    {"V = [1; 2]", "cannot bind V to a 2×1 value: V is a matrix (its name starts with a capital); "
		   "name a vector in lowercase, or declare it: let V : matrix(2, 1)"},
    {"let S : symmetric matrix(n, n); S = randn(2, 3)",
     "cannot bind S to a 2×3 value: S is n×n (square)"},
    {"X = randn(3, 3)", "cannot bind X to a 3×3 value: X is 2×2; to change its size declare it "
			"again: let X : matrix(3, 3)"},
    {"I = eye(2)", "cannot give I a value: it is the identity"},
    {"W = randn(n, 2)", "randn needs numeric sizes to make a value, e.g. randn(3, 2)"},
    {"W = randn(0, 2)", "a size must be a positive whole number"},
    {"W = rand(2.5, 2)", "a size must be a positive whole number"},
    {"W = randn(1, 2, 3)", "randn takes two sizes: randn(rows, cols)"},
    {"W = eye(2, 3)", "eye takes one size: eye(n)"},
    {"W = randn(100000, 100000)",
     "100000×100000 is too large: a value has at most 67108864 entries"},
    {"w = randn(3); X w", "cannot multiply X (2×2) by w (3×1): inner dimensions differ"},
};

START_TEST(test_errors)
{
	const struct ecase *c = &errors[_i];
	char text[512];
	snprintf(text, sizeof text, "%s%s", SETUP, c->input);
	bool ok;
	char *err = ts_eval(text, &ok);
	ck_assert_msg(!ok, "%s: should fail, printed %s", c->input, err);
	char *msg = strstr(err, "error: ");
	ck_assert_msg(msg != NULL, "%s: %s", c->input, err);
	msg += 7;
	char *nl = strchr(msg, '\n');
	if (nl)
		*nl = '\0';
	ck_assert_str_eq(msg, c->want);
	free(err);
}
END_TEST

/* ---- through the API ---- */

/* Resolves one expression in t's session. */
static struct expr *resolve(struct tsession *t, const char *text)
{
	struct parse p;
	ck_assert_msg(parse_text(&p, t->s->mc, text, strlen(text), false), "%s: %s", text, p.err);
	struct expr *e = session_resolve(t->s, p.items[0]->kids[0]);
	parse_free(&p);
	ck_assert_msg(e != NULL, "%s: %s", text, t->s->mc->err.msg);
	return e;
}

static struct value *eval_with(struct tsession *t, const char *text, struct eval_opts *o)
{
	struct value *v = eval_expr_opts(t->s, resolve(t, text), o);
	ck_assert_msg(v != NULL, "%s: %s", text, t->s->mc->err.msg);
	return v;
}

static double max_diff(const struct value *a, const struct value *b)
{
	ck_assert_int_eq(a->rows, b->rows);
	ck_assert_int_eq(a->cols, b->cols);
	double m = 0;
	for (long i = 0; i < a->rows * a->cols; i++)
		m = fmax(m, fabs(a->data[i] - b->data[i]));
	return m;
}

START_TEST(test_chain_order)
{
	struct tsession t;
	ts_open(&t);
	ck_assert(ts_run(&t, "X = randn(1000, 10); θ = randn(1000, 1)"));
	struct eval_stats st, lr;
	struct eval_opts o = {.stats = &st};
	struct value *v = eval_with(&t, "X X^T θ", &o);
	ck_assert_str_eq(st.order, "X (X^T θ)");
	ck_assert_double_eq(st.flops, 2.0 * 10 * 1000 + 2.0 * 1000 * 10);
	ck_assert_int_eq(st.gemv, 2);
	ck_assert_int_eq(st.gemm, 0);
	struct eval_opts ol = {.stats = &lr, .left_to_right = true};
	struct value *w = eval_with(&t, "X X^T θ", &ol);
	ck_assert_str_eq(lr.order, "(X X^T) θ");
	ck_assert_double_eq(lr.flops, 2.0 * 1000 * 10 * 1000 + 2.0 * 1000 * 1000);
	ck_assert_double_le(max_diff(v, w), 1e-9);
	value_free(v);
	value_free(w);
	/* a longer chain: the dynamic programme, not a greedy choice */
	ck_assert(ts_run(&t, "A = randn(10, 100); C = randn(100, 5); D = randn(5, 50); "
			     "u = randn(50, 1)"));
	v = eval_with(&t, "A C D u", &o);
	ck_assert_str_eq(st.order, "A (C (D u))");
	w = eval_with(&t, "A C D u", &ol);
	ck_assert_double_le(max_diff(v, w), 1e-9);
	value_free(v);
	value_free(w);
	v = eval_with(&t, "u^T D^T C^T", &o);
	ck_assert_str_eq(st.order, "(u^T D^T) C^T");
	value_free(v);
	ts_close(&t);
}
END_TEST

START_TEST(test_solve_not_inverse)
{
	struct tsession t;
	ts_open(&t);
	ck_assert(ts_run(&t, "A = randn(4, 4); M = randn(4, 3); N = randn(3, 4); u = randn(4)"));
	struct eval_stats st;
	struct eval_opts o = {.stats = &st};
	struct {
		const char *expr;
		long solves, inverses, factorizations;
	} cases[] = {
	    {"A^-1 M", 1, 0, 1},
	    {"N A^-1", 1, 0, 1},
	    {"A^-T M", 1, 0, 1},
	    {"N A^-T", 1, 0, 1},
	    {"A^-1 u", 1, 0, 1},
	    {"u^T A^-1 u", 1, 0, 1},
	    {"A^-1 M + A^-1 A M", 2, 0, 1}, /* one LU, two solves */
	    {"inv(A)", 0, 1, 1},	    /* nothing to multiply: formed */
	    {"A^-1 A^-1", 1, 1, 1},	    /* one formed, the other solves */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct value *v = eval_with(&t, cases[i].expr, &o);
		ck_assert_msg(st.solves == cases[i].solves && st.inverses == cases[i].inverses &&
				  st.factorizations == cases[i].factorizations,
			      "%s: %ld solves, %ld inverses, %ld factorizations", cases[i].expr,
			      st.solves, st.inverses, st.factorizations);
		value_free(v);
	}
	/* solving agrees with multiplying by the explicit inverse */
	ck_assert(ts_run(&t, "K = randn(4, 4)"));
	struct value *ainv = eval_with(&t, "inv(A)", NULL);
	struct value *k = (struct value *)value_of(t.s, session_decl(t.s, "K"));
	memcpy(k->data, ainv->data, 16 * sizeof(double));
	value_free(ainv);
	const char *pairs[][2] = {{"A^-1 M", "K M"},
				  {"N A^-1", "N K"},
				  {"A^-T M", "K^T M"},
				  {"N A^-T", "N K^T"},
				  {"u^T A^-1 u", "u^T K u"}};
	for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++) {
		struct value *a = eval_with(&t, pairs[i][0], NULL),
			     *b = eval_with(&t, pairs[i][1], NULL);
		ck_assert_msg(max_diff(a, b) < 1e-9, "%s vs %s", pairs[i][0], pairs[i][1]);
		value_free(a);
		value_free(b);
	}
	/* an spd symbol is factored by Cholesky */
	ck_assert(ts_run(&t, "let S : spd matrix(n, n); S = [4 1; 1 3]; v = [1; 2]"));
	struct value *v = eval_with(&t, "S^-1 v", &o);
	ck_assert_int_eq(st.cholesky, 1);
	ck_assert_double_le(fabs(v->data[0] - 1.0 / 11), 1e-12);
	ck_assert_double_le(fabs(v->data[1] - 7.0 / 11), 1e-12);
	value_free(v);
	v = eval_with(&t, "logdet(S)", &o);
	ck_assert_int_eq(st.cholesky, 1);
	ck_assert_double_le(fabs(v->data[0] - log(11)), 1e-12);
	value_free(v);
	struct eval_opts g = {.stats = &st, .general = true};
	v = eval_with(&t, "S^-1 v", &g);
	ck_assert_int_eq(st.cholesky, 0);
	value_free(v);
	ts_close(&t);
}
END_TEST

START_TEST(test_shared_once)
{
	struct tsession t;
	ts_open(&t);
	ck_assert(ts_run(&t, "A = randn(5, 5); B = randn(5, 5)"));
	struct eval_stats st;
	struct eval_opts o = {.stats = &st};
	/* A B appears three times: one dgemm */
	struct value *v = eval_with(&t, "tr(A B) + sum(A B) + sum(exp(A B))", &o);
	ck_assert_int_eq(st.gemm, 1);
	value_free(v);
	/* a shared inverse is factored once */
	v = eval_with(&t, "tr(inv(A B)) + sum(inv(A B))", &o);
	ck_assert_int_eq(st.factorizations, 1);
	ck_assert_int_eq(st.inverses, 1);
	value_free(v);
	/* (A + B) under a transpose in two chains is summed once */
	v = eval_with(&t, "tr((A + B)^T A) + tr(B (A + B)^T)", &o);
	long first = st.nodes;
	value_free(v);
	v = eval_with(&t, "tr((A + B)^T A)", &o);
	ck_assert_int_lt(first, 2 * st.nodes);
	value_free(v);
	/* a sum of products lands in one buffer: dgemm with beta = 1 */
	ck_assert(ts_run(&t, "Θ = randn(5, 5); Y = randn(5, 5)"));
	v = eval_with(&t, "2 A A^T Θ - 2 A Y^T", &o);
	ck_assert_int_eq(st.gemm, 3);
	struct value *w = eval_with(&t, "2 (A (A^T Θ)) + (-2) (A Y^T)", NULL);
	ck_assert_double_le(max_diff(v, w), 1e-9);
	value_free(v);
	value_free(w);
	ts_close(&t);
}
END_TEST

/* Values set past the binding check (as check's instances do) that do not fit. */
START_TEST(test_value_mismatch)
{
	struct tsession t;
	ts_open(&t);
	ck_assert(ts_run(&t, "let P : matrix(n, m); let Q : matrix(m, k); let R : matrix(n, m); "
			     "let T : matrix(n, n)"));
	struct {
		const char *expr, *err;
	} cases[] = {
	    {"P Q", "cannot multiply P (2×3) by Q (2×2): the values' sizes do not fit"},
	    {"P + R", "cannot add R (3×3) to a 2×3 sum: the values' sizes differ"},
	    {"P ⊙ R", "cannot compute P ⊙ R entrywise: the values are 2×3 and 3×3"},
	    {"det(T)", "det of a non-square matrix: T is 2×3"},
	    {"logdet(T)", "logdet of a non-square matrix: T is 2×3"},
	    {"tr(T)", "tr of a non-square matrix: T is 2×3"},
	    {"inv(T)", "the inverse of a non-square matrix: T is 2×3"},
	    {"T^-1 P", "cannot invert T: its value is 2×3, not square"},
	    {"diag(T)", "diag needs a vector or a square matrix, but T is 2×3"},
	};
	value_set(t.s, session_decl(t.s, "P"), value_new(2, 3));
	value_set(t.s, session_decl(t.s, "Q"), value_new(2, 2));
	value_set(t.s, session_decl(t.s, "R"), value_new(3, 3));
	value_set(t.s, session_decl(t.s, "T"), value_new(2, 3));
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct value *v = eval_expr(t.s, resolve(&t, cases[i].expr));
		ck_assert_msg(v == NULL, "%s evaluated", cases[i].expr);
		ck_assert_str_eq(t.s->mc->err.msg, cases[i].err);
		mc_clear_error(t.s->mc);
	}
	ts_close(&t);
}
END_TEST

START_TEST(test_near_singular)
{
	bool ok;
	char *err = ts_eval("A = [1 1; 1 1.0000000000000002]; inv(A)", &ok);
	ck_assert(!ok);
	ck_assert_msg(
	    strstr(err, "cannot invert A: it is singular (reciprocal condition number ") &&
		!strstr(err, "number 0)"),
	    "%s", err);
	free(err);
}
END_TEST

START_TEST(test_precision)
{
	struct tsession t;
	ts_open(&t);
	t.s->mc->precision = 17;
	ck_assert(ts_run(&t, "X = [1 2; 3 4]; eval(det(X)); a = 0.1; a; eval(-0 X)"));
	ck_assert_str_eq(t.out, "-2\n0.10000000000000001\n0\n");
	ts_close(&t);
	ts_open(&t);
	t.s->mc->precision = 3;
	ck_assert(ts_run(&t, "b = [3.14159; 2.71828]; b"));
	ck_assert_str_eq(t.out, "[3.14; 2.72]\n");
	ts_close(&t);
}
END_TEST

/* The same seed draws the same numbers; another seed others; rand is in [0, 1). */
START_TEST(test_seed)
{
	struct tsession a, b, c;
	ts_open(&a);
	ts_open(&b);
	ts_open(&c);
	value_seed(a.s, 7);
	value_seed(b.s, 7);
	value_seed(c.s, 8);
	const char *text = "X = randn(3, 3); U = rand(50, 50); X";
	ck_assert(ts_run(&a, text) && ts_run(&b, text) && ts_run(&c, text));
	ck_assert_str_eq(a.out, b.out);
	ck_assert_str_ne(a.out, c.out);
	const struct value *u = value_of(a.s, session_decl(a.s, "U"));
	double lo = 1, hi = 0, mean = 0;
	for (long i = 0; i < 2500; i++) {
		lo = fmin(lo, u->data[i]);
		hi = fmax(hi, u->data[i]);
		mean += u->data[i] / 2500;
	}
	ck_assert(lo >= 0 && hi < 1 && fabs(mean - 0.5) < 0.05);
	ts_close(&a);
	ts_close(&b);
	ts_close(&c);
}
END_TEST

/* A printed value parses back to the same value. */
START_TEST(test_round_trip)
{
	struct tsession t;
	ts_open(&t);
	t.s->mc->precision = 17;
	ck_assert(ts_run(&t, "X = randn(3, 4); X"));
	char text[4096];
	snprintf(text, sizeof text, "Y = %s; eval(sum(abs(X - Y)))", t.out);
	ts_close(&t);
	ts_open(&t);
	ck_assert(ts_run(&t, "X = randn(3, 4)"));
	ck_assert_msg(ts_run(&t, text), "%s", t.err);
	ck_assert_str_eq(t.out, "0\n");
	ts_close(&t);
}
END_TEST

START_TEST(test_all_bound)
{
	struct tsession t;
	ts_open(&t);
	ck_assert(ts_run(&t, "X = [1 2; 3 4]"));
	ck_assert(eval_all_bound(t.s, resolve(&t, "X^T X")));
	ck_assert(eval_all_bound(t.s, resolve(&t, "[1 2; 3 4] + I")));
	ck_assert(!eval_all_bound(t.s, resolve(&t, "X y")));
	ck_assert(!eval_all_bound(t.s, resolve(&t, "I")));
	ck_assert(!eval_all_bound(t.s, resolve(&t, "2 + 3")));
	ck_assert(!eval_all_bound(t.s, resolve(&t, "grad(tr(X), X)")));
	ts_close(&t);
}
END_TEST

static Suite *eval_suite(void)
{
	Suite *s = suite_create("eval");
	TCase *tv = tcase_create("values");
	tcase_add_loop_test(tv, test_values, 0, (int)(sizeof values / sizeof *values));
	tcase_add_loop_test(tv, test_errors, 0, (int)(sizeof errors / sizeof *errors));
	tcase_add_test(tv, test_value_mismatch);
	tcase_add_test(tv, test_near_singular);
	tcase_add_test(tv, test_precision);
	tcase_add_test(tv, test_seed);
	tcase_add_test(tv, test_round_trip);
	tcase_add_test(tv, test_all_bound);
	suite_add_tcase(s, tv);
	TCase *tc = tcase_create("evaluation");
	tcase_add_test(tc, test_chain_order);
	tcase_add_test(tc, test_solve_not_inverse);
	tcase_add_test(tc, test_shared_once);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(eval_suite());
}
