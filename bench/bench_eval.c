/* bench_eval.c - evaluation speed: the least-squares gradient 2 X X^T Θ - 2 X Y^T
 * against a hand-written CBLAS sequence of the same flops, and a chain in the
 * order matcalc chooses against left to right. Prints medians; not a test.
 *
 * Usage: bench_eval [REPEATS]   (default 7) */
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval.h"
#include "statement.h"
#include "value.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *t, int n)
{
	qsort(t, (size_t)n, sizeof *t, cmp_double);
	return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

/* Runs statements; exits on an error (a benchmark has no one to recover for). */
static void run(struct session *s, const char *text)
{
	if (!session_run(s, "bench", text, strlen(text)))
		exit(2);
}

static struct expr *expression(struct session *s, const char *text)
{
	struct parse p;
	if (!parse_text(&p, s->mc, text, strlen(text), false)) {
		fprintf(stderr, "bench_eval: %s: %s\n", text, p.err);
		exit(2);
	}
	struct expr *e = session_resolve(s, p.items[0]->kids[0]);
	parse_free(&p);
	if (!e) {
		fprintf(stderr, "bench_eval: %s: %s\n", text, s->mc->err.msg);
		exit(2);
	}
	return e;
}

static const struct value *bound(struct session *s, const char *name)
{
	return value_of(s, session_decl(s, name));
}

/* The same gradient by hand: T = X^T Θ, G = 2 X T, G += -2 X Y^T. */
static double *by_hand(const struct value *x, const struct value *th, const struct value *y)
{
	int d = (int)x->rows, n = (int)x->cols, k = (int)th->cols;
	double *t = malloc((size_t)n * k * sizeof *t), *g = malloc((size_t)d * k * sizeof *g);
	if (!t || !g)
		abort();
	cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, n, k, d, 1, x->data, d, th->data, d, 0,
		    t, n);
	cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, d, k, n, 2, x->data, d, t, n, 0, g,
		    d);
	cblas_dgemm(CblasColMajor, CblasNoTrans, CblasTrans, d, k, n, -2, x->data, d, y->data, k, 1,
		    g, d);
	free(t);
	return g;
}

static void bench_gradient(long d, long n, long k, int reps)
{
	struct session *s = session_new(stdout, stderr);
	char text[256];
	snprintf(text, sizeof text, "X = randn(%ld, %ld); Θ = randn(%ld, %ld); Y = randn(%ld, %ld)",
		 d, n, d, k, k, n);
	run(s, text);
	struct expr *e = expression(s, "2 X X^T Θ - 2 X Y^T");
	const struct value *x = bound(s, "X"), *th = bound(s, "Θ"), *y = bound(s, "Y");
	double *tm = malloc((size_t)reps * sizeof *tm), *th_ = malloc((size_t)reps * sizeof *th_);
	struct value *v = NULL;
	double *g = NULL;
	struct eval_stats st;
	struct eval_opts o = {.stats = &st};
	for (int r = 0; r < reps; r++) {
		/* alternate, so neither side always runs with a warm cache */
		value_free(v);
		double t0 = now();
		v = eval_expr_opts(s, e, &o);
		tm[r] = now() - t0;
		free(g);
		t0 = now();
		g = by_hand(x, th, y);
		th_[r] = now() - t0;
	}
	if (!v)
		exit(2);
	double diff = 0, nrm = 0;
	for (long i = 0; i < d * k; i++) {
		diff = fmax(diff, fabs(v->data[i] - g[i]));
		nrm = fmax(nrm, fabs(g[i]));
	}
	double a = median(tm, reps), b = median(th_, reps);
	printf(
	    "2 X X^T Θ - 2 X Y^T  X %ldx%ld  Θ %ldx%ld  Y %ldx%ld: matcalc %.4f s  CBLAS %.4f s  "
	    "ratio %.3f  (%.3g Gflop, max rel diff %.1e)\n",
	    d, n, d, k, k, n, a, b, a / b, st.flops / 1e9, diff / fmax(nrm, 1e-300));
	value_free(v);
	free(g);
	free(tm);
	free(th_);
	session_free(s);
}

static void bench_chain(long d, long n, int reps)
{
	struct session *s = session_new(stdout, stderr);
	char text[256];
	snprintf(text, sizeof text, "X = randn(%ld, %ld); θ = randn(%ld, 1)", d, n, d);
	run(s, text);
	struct expr *e = expression(s, "X X^T θ");
	double *tc = malloc((size_t)reps * sizeof *tc), *tl = malloc((size_t)reps * sizeof *tl);
	double *th = malloc((size_t)reps * sizeof *th);
	const struct value *x = bound(s, "X"), *t = bound(s, "θ");
	struct eval_stats sc, sl;
	struct eval_opts oc = {.stats = &sc}, ol = {.stats = &sl, .left_to_right = true};
	for (int r = 0; r < reps; r++) {
		double t0 = now();
		value_free(eval_expr_opts(s, e, &oc));
		tc[r] = now() - t0;
		t0 = now();
		value_free(eval_expr_opts(s, e, &ol));
		tl[r] = now() - t0;
		/* the chosen order by hand: two dgemv, the floor for any evaluator */
		t0 = now();
		double *u = malloc((size_t)n * sizeof *u), *w = malloc((size_t)d * sizeof *w);
		if (!u || !w)
			abort();
		cblas_dgemv(CblasColMajor, CblasTrans, (int)d, (int)n, 1, x->data, (int)d, t->data,
			    1, 0, u, 1);
		cblas_dgemv(CblasColMajor, CblasNoTrans, (int)d, (int)n, 1, x->data, (int)d, u, 1,
			    0, w, 1);
		free(u);
		free(w);
		th[r] = now() - t0;
	}
	double a = median(tc, reps), b = median(tl, reps), h = median(th, reps);
	printf("X X^T θ  X %ldx%ld  θ %ldx1: chosen %s %.6f s  left to right %s %.6f s  "
	       "speed-up %.0f  flop ratio %.0f  (two dgemv by hand %.6f s)\n",
	       d, n, d, sc.order, a, sl.order, b, b / a, sl.flops / sc.flops, h);
	free(tc);
	free(tl);
	free(th);
	session_free(s);
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 7;
	if (reps < 1)
		reps = 1;
	bench_gradient(1000, 1000, 1000, reps);
	bench_gradient(2000, 50, 50, 3 * reps);
	bench_chain(2000, 20, 3 * reps);
	return 0;
}
