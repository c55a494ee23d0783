/* test_gradcheck.c - every differentiation case of tests/diff_cases.inc on numbers:
 * gradients through gradcheck and check() against the expected text, Hessians and
 * Jacobians against finite differences, differentials along random directions. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diff.h"
#include "eval.h"
#include "print.h"
#include "testlib.h"
#include "value.h"

struct gcase {
	const char *input; /* optional "let ...; " prefix, then the derivation */
	const char *want;
};

static const struct gcase cases[] = {
#include "diff_cases.inc"
};
#define NCASES ((int)(sizeof cases / sizeof *cases))

#define TOL 1e-6  /* relative, against finite differences */
#define FD_H 1e-4 /* central differences with one Richardson step */
#define DRAWS 3	  /* random instances per Hessian, Jacobian or differential */

/* ---- gradients: gradcheck, and check() of the expected text ---- */

/* Runs statements in a fresh seeded session: the output, or the error text. */
static char *run(const char *decl, const char *stmt, bool *ok, int *status)
{
	struct tsession t;
	ts_open(&t);
	value_seed(t.s, 1);
	bool r = true;
	if (decl[0])
		r = ts_run(&t, decl);
	ck_assert_msg(r, "%s: %s", decl, t.err);
	r = ts_run(&t, stmt);
	*ok = r;
	*status = t.s->status;
	char *out = strdup(r ? t.out : t.err);
	ts_close(&t);
	return out;
}

START_TEST(test_case_gradcheck)
{
	const struct gcase *c = &cases[_i];
	char decl[512], expr[512], stmt[1200];
	ts_split_case(c->input, decl, expr, sizeof decl);
	if (strncmp(expr, "grad(", 5) != 0)
		return; /* Hessians, Jacobians and differentials: below */
	/* the engine's gradient against finite differences */
	snprintf(stmt, sizeof stmt, "gradcheck(%s", expr + 5);
	bool ok;
	int status;
	char *out = run(decl, stmt, &ok, &status);
	ck_assert_msg(ok && strstr(out, ": ok\n") && status == 0, "%s\n  %s (status %d)", stmt, out,
		      status);
	free(out);
	/* and the expected text of the table is the gradient */
	snprintf(stmt, sizeof stmt, "check(%s = %s)", expr, c->want);
	out = run(decl, stmt, &ok, &status);
	ck_assert_msg(ok && strcmp(out, "equal\n") == 0 && status == 0, "%s\n  %s", stmt, out);
	free(out);
}
END_TEST

/* ---- Hessians, Jacobians, differentials: an instance of our own ---- */

struct inst {
	struct tsession t;
	struct session *s;
	struct mc *mc;
	long *sizes; /* by dimension root; -1 unknown */
	int nsizes;
	struct eval_opts o;
};

static struct expr *resolve(struct inst *in, const char *text)
{
	struct parse p;
	ck_assert_msg(parse_text(&p, in->mc, text, strlen(text), false), "%s: %s", text, p.err);
	ck_assert_int_eq(p.nitems, 1);
	struct expr *e = session_resolve(in->s, p.items[0]->kids[0]);
	parse_free(&p);
	ck_assert_msg(e != NULL, "%s: %s", text, in->mc->err.msg);
	return e;
}

static void inst_open(struct inst *in, const char *decl)
{
	memset(in, 0, sizeof *in);
	ts_open(&in->t);
	in->s = in->t.s;
	in->mc = in->s->mc;
	value_seed(in->s, 7);
	if (decl[0])
		ck_assert_msg(ts_run(&in->t, decl), "%s: %s", decl, in->t.err);
}

static void inst_close(struct inst *in)
{
	free(in->sizes);
	ts_close(&in->t);
}

static long size_of(struct inst *in, int d)
{
	if (dim_is_one(in->mc, d))
		return 1;
	long v = dim_value(in->mc, d);
	if (v >= 0)
		return v;
	int r = dim_find(in->mc, d);
	return r < in->nsizes ? in->sizes[r] : -1;
}

/* Draws sizes 2-4 for the free dimensions of the symbols of e (sizes are kept
 * when already drawn) and binds random values: symmetric and spd symbols as such. */
static void bind_symbols(struct inst *in, const struct expr *e)
{
	if (in->nsizes < in->mc->ndims) {
		int old = in->nsizes;
		in->nsizes = in->mc->ndims + 64;
		in->sizes = mc_xrealloc(in->sizes, (size_t)in->nsizes * sizeof *in->sizes);
		for (int i = old; i < in->nsizes; i++)
			in->sizes[i] = -1;
	}
	if (e->op == OP_SYM) {
		int ds[2] = {e->rows, e->cols};
		for (int k = 0; k < 2; k++) {
			int r = dim_find(in->mc, ds[k]);
			if (!dim_is_one(in->mc, ds[k]) && dim_value(in->mc, ds[k]) < 0 &&
			    in->sizes[r] < 0)
				in->sizes[r] = 2 + (long)(value_uniform(in->s) * 3);
		}
		long r = size_of(in, e->rows), c = size_of(in, e->cols);
		struct value *v = value_new(r, c);
		const struct decl *d = e->decl;
		for (long i = 0; i < r * c; i++)
			v->data[i] = value_normal(in->s);
		if (d->spd) { /* B B^T + n I */
			struct value *b = v;
			v = value_new(r, r);
			for (long i = 0; i < r; i++)
				for (long j = 0; j < r; j++) {
					double acc = i == j ? (double)r : 0;
					for (long l = 0; l < r; l++)
						acc += b->data[l * r + i] * b->data[l * r + j];
					v->data[j * r + i] = acc;
				}
			value_free(b);
		} else if (d->symmetric) {
			for (long i = 0; i < r; i++)
				for (long j = 0; j < i; j++)
					v->data[i * r + j] = v->data[j * r + i];
		}
		value_set(in->s, d, v);
		return;
	}
	for (int i = 0; i < e->nkids; i++)
		bind_symbols(in, e->kids[i]);
}

static struct value *evaluate(struct inst *in, const struct expr *e, long hr, long hc,
			      const struct expr *const *leaves, struct value *const *vals,
			      int nleaves)
{
	memset(&in->o, 0, sizeof in->o);
	in->o.dim_sizes = in->sizes;
	in->o.ndim_sizes = in->nsizes;
	in->o.general = true; /* finite differences step off symmetry */
	in->o.hint_rows = hr;
	in->o.hint_cols = hc;
	in->o.leaves = leaves;
	in->o.leaf_values = vals;
	in->o.nleaves = nleaves;
	struct value *v = eval_expr_opts(in->s, e, &in->o);
	if (!v) {
		char *p = print_str(in->mc, e, PRINT_PLAIN);
		ck_abort_msg("cannot evaluate %s: %s", p, in->mc->err.msg);
	}
	return v;
}

/* The symbols of e, each once. */
static void symbols_of(const struct expr *e, const struct expr **v, int *n, int cap)
{
	if (e->op == OP_SYM) {
		for (int i = 0; i < *n; i++)
			if (v[i] == e)
				return;
		ck_assert_int_lt(*n, cap);
		v[(*n)++] = e;
		return;
	}
	for (int i = 0; i < e->nkids; i++)
		symbols_of(e->kids[i], v, n, cap);
}

/* f with every symbol S moved to S0 + t V_S. */
static struct value *eval_moved(struct inst *in, const struct expr *f, const struct expr **syms,
				struct value **base, struct value **dir, int n, double t, long hr,
				long hc)
{
	for (int i = 0; i < n; i++) {
		struct value *v = value_copy(base[i]);
		for (long k = 0; k < v->rows * v->cols; k++)
			v->data[k] += t * dir[i]->data[k];
		value_set(in->s, syms[i]->decl, v);
	}
	return evaluate(in, f, hr, hc, NULL, NULL, 0);
}

/* The directional derivative of f when the symbols move along dir (Richardson-extrapolated). */
static struct value *fd_along(struct inst *in, const struct expr *f, const struct expr **syms,
			      struct value **dir, int n)
{
	struct value *base[16];
	ck_assert_int_le(n, 16);
	for (int i = 0; i < n; i++)
		base[i] = value_copy(value_of(in->s, syms[i]->decl));
	long hr = size_of(in, f->rows), hc = size_of(in, f->cols);
	static const double steps[4] = {FD_H, -FD_H, FD_H / 2, -FD_H / 2};
	struct value *v[4];
	for (int k = 0; k < 4; k++)
		v[k] = eval_moved(in, f, syms, base, dir, n, steps[k], hr, hc);
	struct value *r = value_new(v[0]->rows, v[0]->cols);
	for (long i = 0; i < r->rows * r->cols; i++) {
		double d1 = (v[0]->data[i] - v[1]->data[i]) / (2 * FD_H);
		double d2 = (v[2]->data[i] - v[3]->data[i]) / FD_H;
		r->data[i] = (4 * d2 - d1) / 3;
	}
	for (int k = 0; k < 4; k++)
		value_free(v[k]);
	for (int i = 0; i < n; i++)
		value_set(in->s, syms[i]->decl, base[i]);
	return r;
}

static void assert_close(const struct value *got, const struct value *fd, const char *what)
{
	ck_assert_msg(got->rows == fd->rows && got->cols == fd->cols, "%s: %ldx%ld, not %ldx%ld",
		      what, got->rows, got->cols, fd->rows, fd->cols);
	double d = 0, a = 0, b = 0;
	for (long i = 0; i < got->rows * got->cols; i++) {
		d += (got->data[i] - fd->data[i]) * (got->data[i] - fd->data[i]);
		a += got->data[i] * got->data[i];
		b += fd->data[i] * fd->data[i];
	}
	ck_assert_msg(sqrt(d) <= TOL * fmax(sqrt(a), sqrt(b)) + 1e-9,
		      "%s: relative error %.3g against finite differences", what,
		      sqrt(d) / fmax(sqrt(a), sqrt(b)));
}

/* hess(f, x) or jacobian(F, x): column k is the derivative of the gradient
 * (or of F) along the k-th entry of vec(x). */
static void check_second(struct inst *in, const char *text, bool hess)
{
	struct expr *call = resolve(in, text);
	struct expr *f = call->kids[0], *x = call->kids[1];
	ck_assert_int_eq(x->op, OP_SYM);
	struct expr *res = diff_derive(in->s, call);
	ck_assert_msg(res != NULL, "%s: %s", text, in->mc->err.msg);
	/* what is differentiated numerically: the engine's gradient (itself gradchecked) or F */
	struct expr *g = hess ? diff_gradient(in->s, f, x) : f;
	ck_assert_msg(g != NULL, "%s: %s", text, in->mc->err.msg);
	for (int draw = 0; draw < DRAWS; draw++) {
		bind_symbols(in, call);
		bind_symbols(in, res);
		long xr = size_of(in, x->rows), xc = size_of(in, x->cols), nx = xr * xc;
		long gr = hess ? xr : size_of(in, f->rows), gc = hess ? xc : size_of(in, f->cols);
		ck_assert_msg(gr > 0 && gc > 0, "%s: no size", text);
		struct value *want = value_new(gr * gc, nx);
		struct value *dir = value_new(xr, xc);
		const struct expr *syms[1] = {x};
		for (long k = 0; k < nx; k++) {
			dir->data[k] = 1;
			struct value *col = fd_along(in, g, syms, &dir, 1);
			dir->data[k] = 0;
			ck_assert_int_eq(col->rows * col->cols, gr * gc);
			memcpy(want->data + k * gr * gc, col->data,
			       (size_t)(gr * gc) * sizeof(double));
			value_free(col);
		}
		struct value *got = evaluate(in, res, gr * gc, nx, NULL, NULL, 0);
		char *shown = print_str(in->mc, res, PRINT_PLAIN);
		char what[600];
		snprintf(what, sizeof what, "%s = %s", text, shown);
		free(shown);
		assert_close(got, want, what);
		value_free(got);
		value_free(want);
		value_free(dir);
	}
}

/* d(f): the differential with every dS given a random direction V_S equals the
 * derivative of f when all symbols move along their V_S together. */
static void check_differential(struct inst *in, const char *text)
{
	struct expr *call = resolve(in, text);
	struct expr *f = call->kids[0];
	struct expr *df = diff_derive(in->s, call);
	ck_assert_msg(df != NULL, "%s: %s", text, in->mc->err.msg);
	const struct expr *syms[16];
	int n = 0;
	symbols_of(f, syms, &n, 16);
	for (int draw = 0; draw < DRAWS; draw++) {
		bind_symbols(in, f);
		struct value *dir[16];
		const struct expr *leaves[16];
		for (int i = 0; i < n; i++) {
			const struct value *v = value_of(in->s, syms[i]->decl);
			dir[i] = value_new(v->rows, v->cols);
			for (long k = 0; k < v->rows * v->cols; k++)
				dir[i]->data[k] = value_normal(in->s);
			if (syms[i]->decl->symmetric || syms[i]->decl->spd)
				for (long a = 0; a < v->rows; a++)
					for (long b = 0; b < a; b++)
						dir[i]->data[a * v->rows + b] =
						    dir[i]->data[b * v->rows + a];
			leaves[i] = expr_diff(in->mc, (struct expr *)syms[i]);
		}
		struct value *want = fd_along(in, f, syms, dir, n);
		struct value *got = evaluate(in, df, want->rows, want->cols, leaves, dir, n);
		char *shown = print_str(in->mc, df, PRINT_PLAIN);
		char what[600];
		snprintf(what, sizeof what, "%s = %s", text, shown);
		free(shown);
		assert_close(got, want, what);
		value_free(got);
		value_free(want);
		for (int i = 0; i < n; i++)
			value_free(dir[i]);
	}
}

START_TEST(test_case_numeric)
{
	const struct gcase *c = &cases[_i];
	char decl[512], expr[512];
	ts_split_case(c->input, decl, expr, sizeof decl);
	struct inst in;
	inst_open(&in, decl);
	if (strncmp(expr, "hess(", 5) == 0)
		check_second(&in, expr, true);
	else if (strncmp(expr, "jacobian(", 9) == 0)
		check_second(&in, expr, false);
	else if (strncmp(expr, "d(", 2) == 0)
		check_differential(&in, expr);
	else
		ck_assert_msg(strncmp(expr, "grad(", 5) == 0, "a case of an unknown kind: %s",
			      expr);
	inst_close(&in);
}
END_TEST

/* The table has every kind, so neither loop above is vacuous. */
START_TEST(test_kinds_present)
{
	int kinds[4] = {0};
	static const char *const heads[4] = {"grad(", "hess(", "jacobian(", "d("};
	for (int i = 0; i < NCASES; i++) {
		char decl[512], expr[512];
		ts_split_case(cases[i].input, decl, expr, sizeof decl);
		for (int k = 0; k < 4; k++)
			if (strncmp(expr, heads[k], strlen(heads[k])) == 0)
				kinds[k]++;
	}
	ck_assert_int_ge(kinds[0], 50);
	ck_assert_int_ge(kinds[1], 2);
	ck_assert_int_ge(kinds[2], 2);
	ck_assert_int_ge(kinds[3], 1);
}
END_TEST

/* The numeric checks catch a wrong Hessian, Jacobian and differential. */
START_TEST(test_wrong_caught)
{
	struct inst in;
	inst_open(&in, "");
	/* a claimed Hessian that is off by a factor: compared through check() */
	bool ok;
	int status;
	char *out = run("", "check(hess(||y - X θ||^2, θ) = X^T X)", &ok, &status);
	ck_assert_msg(ok && strncmp(out, "not equal", 9) == 0 && status == 1, "%s", out);
	free(out);
	/* fd_along itself: the derivative of x^T x along e_1 at x is 2 x_1 */
	struct expr *f = resolve(&in, "x^T x");
	bind_symbols(&in, f);
	const struct expr *syms[1] = {expr_sym(in.mc, session_decl(in.s, "x"))};
	const struct value *x = value_of(in.s, syms[0]->decl);
	double x1 = x->data[0]; /* fd_along rebinds x */
	struct value *dir = value_new(x->rows, 1);
	dir->data[0] = 1;
	struct value *d = fd_along(&in, f, syms, &dir, 1);
	ck_assert_double_eq_tol(d->data[0], 2 * x1, 1e-8);
	value_free(d);
	value_free(dir);
	inst_close(&in);
}
END_TEST

static Suite *gradcheck_suite(void)
{
	Suite *s = suite_create("gradcheck");
	TCase *tc = tcase_create("cases");
	tcase_set_timeout(tc, 300);
	tcase_add_loop_test(tc, test_case_gradcheck, 0, NCASES);
	tcase_add_loop_test(tc, test_case_numeric, 0, NCASES);
	tcase_add_test(tc, test_kinds_present);
	tcase_add_test(tc, test_wrong_caught);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return ts_run_suite(gradcheck_suite());
}
