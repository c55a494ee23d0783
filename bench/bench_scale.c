/* bench_scale.c - derivatives at scale: matcalc's eval of a worked-out gradient
 * or Hessian against the same computation written by hand in CBLAS/LAPACKE.
 * Prints the minimum over the repeats (the machine is shared: the minimum is
 * the run least disturbed by others); not a test.
 *
 * Usage: bench_scale [REPEATS]            every case, eval and by hand
 *        bench_scale CASE eval|cblas [N]  one case one way N times (for
 *                                         /usr/bin/time -v: peak memory)
 * Run with OPENBLAS_NUM_THREADS=1 and MATCALC_RULES=rules (docs/performance.md). */
#include <cblas.h>
#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "command.h"
#include "rules.h"
#include "statement.h"
#include "eval.h"
#include "session.h"
#include "value.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		abort();
	return p;
}

/* Runs statements; exits on an error (a benchmark has no one to recover for). */
static void run(struct session *s, const char *text)
{
	if (!session_run(s, "bench", text, strlen(text)))
		exit(2);
}

/* The statement text worked out: grad/hess derived and simplified. */
static struct expr *derived(struct session *s, const char *text)
{
	struct parse p;
	if (!parse_text(&p, s->mc, text, strlen(text), false)) {
		fprintf(stderr, "bench_scale: %s: %s\n", text, p.err);
		exit(2);
	}
	struct loc loc = p.items[0]->loc;
	struct expr *e = session_resolve(s, p.items[0]->kids[0]);
	parse_free(&p);
	if (e)
		e = command_derive(s, e, loc);
	if (!e) {
		fprintf(stderr, "bench_scale: %s: %s\n", text, s->mc->err.msg);
		exit(2);
	}
	return e;
}

static const struct value *bound(struct session *s, const char *name)
{
	return value_of(s, session_decl(s, name));
}

static void mirror(double *c, long k)
{
	for (long j = 0; j < k; j++)
		for (long i = j + 1; i < k; i++)
			c[j * k + i] = c[i * k + j];
}

static double sigmoid(double x) { return x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x)); }

/* ---- the cases by hand ---- */

/* hess(sum(softplus(-y ⊙ (X w))), w) = Xᵀ diag(y² s (1 - s)) X, s = σ(-y ⊙ X w):
 * the weights are positive, so one dsyrk on the rows scaled by their roots. */
static double *hand_logistic_hess(struct session *s, long *len)
{
	const struct value *x = bound(s, "X"), *w = bound(s, "w"), *y = bound(s, "y");
	int m = (int)x->rows, k = (int)x->cols;
	double *z = xmalloc((size_t)m * sizeof *z), *b = xmalloc((size_t)m * k * sizeof *b);
	double *h = xmalloc((size_t)k * k * sizeof *h);
	cblas_dgemv(CblasColMajor, CblasNoTrans, m, k, 1, x->data, m, w->data, 1, 0, z, 1);
	for (int i = 0; i < m; i++) {
		double si = sigmoid(-y->data[i] * z[i]);
		z[i] = fabs(y->data[i]) * sqrt(si * (1 - si));
	}
	for (long j = 0; j < k; j++)
		for (long i = 0; i < m; i++)
			b[j * m + i] = z[i] * x->data[j * m + i];
	cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, k, m, 1, b, m, 0, h, k);
	mirror(h, k);
	free(z);
	free(b);
	*len = (long)k * k;
	return h;
}

/* grad = -Xᵀ (y ⊙ σ(-y ⊙ X w)): two dgemv. */
static double *hand_logistic_grad(struct session *s, long *len)
{
	const struct value *x = bound(s, "X"), *w = bound(s, "w"), *y = bound(s, "y");
	int m = (int)x->rows, k = (int)x->cols;
	double *z = xmalloc((size_t)m * sizeof *z), *g = xmalloc((size_t)k * sizeof *g);
	cblas_dgemv(CblasColMajor, CblasNoTrans, m, k, 1, x->data, m, w->data, 1, 0, z, 1);
	for (int i = 0; i < m; i++)
		z[i] = y->data[i] * sigmoid(-y->data[i] * z[i]);
	cblas_dgemv(CblasColMajor, CblasTrans, m, k, -1, x->data, m, z, 1, 0, g, 1);
	free(z);
	*len = k;
	return g;
}

/* hess(||y - X w||² + λ ||w||², w) = 2 Xᵀ X + 2 λ I: dsyrk and the diagonal. */
static double *hand_ridge_hess(struct session *s, long *len)
{
	const struct value *x = bound(s, "X"), *l = bound(s, "λ");
	int m = (int)x->rows, k = (int)x->cols;
	double *h = xmalloc((size_t)k * k * sizeof *h);
	cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, k, m, 2, x->data, m, 0, h, k);
	mirror(h, k);
	for (long i = 0; i < k; i++)
		h[i * k + i] += 2 * l->data[0];
	*len = (long)k * k;
	return h;
}

/* grad(logdet Σ + (x - μ)ᵀ Σ⁻¹ (x - μ), Σ) = Σ⁻¹ - Σ⁻¹ r rᵀ Σ⁻¹, r = x - μ:
 * Cholesky, the inverse from it, u = Σ⁻¹ r, a rank-one update. */
static double *hand_gauss_grad(struct session *s, long *len)
{
	const struct value *sg = bound(s, "Σ"), *x = bound(s, "x"), *mu = bound(s, "μ");
	int n = (int)sg->rows;
	double *a = xmalloc((size_t)n * n * sizeof *a), *r = xmalloc((size_t)n * sizeof *r);
	double *u = xmalloc((size_t)n * sizeof *u);
	memcpy(a, sg->data, (size_t)n * n * sizeof *a);
	if (LAPACKE_dpotrf(LAPACK_COL_MAJOR, 'U', n, a, n) != 0 ||
	    LAPACKE_dpotri(LAPACK_COL_MAJOR, 'U', n, a, n) != 0)
		abort();
	for (int i = 0; i < n; i++)
		r[i] = x->data[i] - mu->data[i];
	cblas_dsymv(CblasColMajor, CblasUpper, n, 1, a, n, r, 1, 0, u, 1);
	cblas_dsyr(CblasColMajor, CblasUpper, n, -1, u, 1, a, n);
	mirror(a, n);
	free(r);
	free(u);
	*len = (long)n * n;
	return a;
}

/* grad(||X - U Vᵀ||_F², U) = 2 U (Vᵀ V) - 2 X V. */
static double *hand_mf_grad(struct session *s, long *len)
{
	const struct value *x = bound(s, "X"), *u = bound(s, "U"), *v = bound(s, "V");
	int m = (int)x->rows, n = (int)x->cols, k = (int)u->cols;
	double *vv = xmalloc((size_t)k * k * sizeof *vv), *g = xmalloc((size_t)m * k * sizeof *g);
	cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, k, n, 1, v->data, n, 0, vv, k);
	mirror(vv, k);
	cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, k, k, 2, u->data, m, vv, k, 0, g,
		    m);
	cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, k, n, -2, x->data, m, v->data, n,
		    1, g, m);
	free(vv);
	*len = (long)m * k;
	return g;
}

struct bcase {
	const char *name;
	const char *bind;      /* statements binding the values */
	const char *statement; /* what is worked out and evaluated */
	double *(*hand)(struct session *s, long *len);
};

static const struct bcase cases[] = {
    {"logistic-hess", "X = randn(4000, 300); w = randn(300, 1); y = randn(4000, 1)",
     "hess(sum(softplus(-y ⊙ (X w))), w)", hand_logistic_hess},
    {"logistic-grad", "X = randn(4000, 300); w = randn(300, 1); y = randn(4000, 1)",
     "grad(sum(softplus(-y ⊙ (X w))), w)", hand_logistic_grad},
    {"logistic-hess-2000", "X = randn(2000, 2000); w = randn(2000, 1); y = randn(2000, 1)",
     "hess(sum(softplus(-y ⊙ (X w))), w)", hand_logistic_hess},
    {"ridge-hess", "X = randn(4000, 300); w = randn(300, 1); y = randn(4000, 1); λ = 0.5",
     "hess(||y - X w||^2 + λ ||w||^2, w)", hand_ridge_hess},
    {"gauss-grad", "let Σ : spd matrix(n, n); Σ = randn(2000, 2000); x = randn(2000, 1); "
		   "μ = randn(2000, 1)",
     "grad(logdet(Σ) + (x - μ)^T Σ^-1 (x - μ), Σ)", hand_gauss_grad},
    {"mf-grad", "X = randn(4000, 300); U = randn(4000, 20); V = randn(300, 20)",
     "grad(||X - U V^T||_F^2, U)", hand_mf_grad},
    {"mf-grad-2000", "X = randn(2000, 2000); U = randn(2000, 50); V = randn(2000, 50)",
     "grad(||X - U V^T||_F^2, U)", hand_mf_grad},
};

/* Σ := Aᵀ A / n + I for the bound A: symmetric positive definite. */
static void make_spd(struct session *s, const char *name)
{
	const struct decl *d = session_decl(s, name);
	const struct value *a = value_of(s, d);
	long n = a->rows;
	struct value *v = value_new(n, n);
	cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, (int)n, (int)n, 1.0 / (double)n, a->data,
		    (int)n, 0, v->data, (int)n);
	mirror(v->data, n);
	for (long i = 0; i < n; i++)
		v->data[i * n + i] += 1;
	value_set(s, d, v);
}

static struct session *setup(const struct bcase *c, struct expr **e, double *derive_s)
{
	struct session *s = session_new(stdout, stderr);
	value_seed(s, 13);
	if (!rules_load(s))
		exit(2);
	run(s, c->bind);
	if (strstr(c->bind, "Σ"))
		make_spd(s, "Σ");
	double t0 = now();
	*e = derived(s, c->statement);
	*derive_s = now() - t0;
	/* an I or 0 of no size takes the statement's, as on the command line */
	return s;
}

static void bench_case(const struct bcase *c, int reps)
{
	struct expr *e;
	double derive_s;
	struct session *s = setup(c, &e, &derive_s);
	double te = 1e30, th = 1e30, diff = 0, nrm = 0;
	struct eval_stats st;
	struct eval_opts o = {.stats = &st};
	for (int r = 0; r < reps; r++) {
		double t0 = now();
		struct value *v = eval_expr_opts(s, e, &o);
		te = fmin(te, now() - t0);
		if (!v) {
			fprintf(stderr, "bench_scale: %s: %s\n", c->name, s->mc->err.msg);
			exit(2);
		}
		long len;
		t0 = now();
		double *h = c->hand(s, &len);
		th = fmin(th, now() - t0);
		if (len != v->rows * v->cols) {
			fprintf(stderr, "bench_scale: %s: sizes differ\n", c->name);
			exit(2);
		}
		for (long i = 0; i < len; i++) {
			diff = fmax(diff, fabs(v->data[i] - h[i]));
			nrm = fmax(nrm, fabs(h[i]));
		}
		free(h);
		value_free(v);
	}
	printf("%-20s eval %9.4f s  CBLAS %9.4f s  ratio %5.2f  (derivation %.2f ms; "
	       "syrk %ld gemm %ld gemv %ld; max rel diff %.1e)\n",
	       c->name, te, th, te / th, 1e3 * derive_s, st.syrk, st.gemm, st.gemv,
	       diff / fmax(nrm, 1e-300));
	fflush(stdout);
	session_free(s);
}

int main(int argc, char **argv)
{
	int ncases = (int)(sizeof cases / sizeof *cases);
	if (argc >= 3) {
		for (int i = 0; i < ncases; i++) {
			if (strcmp(cases[i].name, argv[1]) != 0)
				continue;
			struct expr *e;
			double d;
			struct session *s = setup(&cases[i], &e, &d);
			int n = argc > 3 ? atoi(argv[3]) : 1;
			for (int r = 0; r < n; r++) {
				if (strcmp(argv[2], "eval") == 0) {
					value_free(eval_expr(s, e));
				} else {
					long len;
					free(cases[i].hand(s, &len));
				}
			}
			session_free(s);
			return 0;
		}
		fprintf(stderr, "bench_scale: no case %s\n", argv[1]);
		return 2;
	}
	int reps = argc > 1 ? atoi(argv[1]) : 5;
	if (reps < 1)
		reps = 1;
	for (int i = 0; i < ncases; i++)
		bench_case(&cases[i], reps);
	return 0;
}
