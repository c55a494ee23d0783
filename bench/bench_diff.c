/* bench_diff.c - speed of the symbolic engine: rule loading, every gradient test
 * case, and how tr(X^k) and tr(A1 X A2 X ... Ak X) scale with k.
 * Usage: bench_diff [REPS [FILTER]]; with FILTER only the cases whose text
 * contains it run (FILTER "scaling" runs the scaling table alone, "scaling=K"
 * only its row k = K), for profiling. BENCH_CLOCK=cpu times with the
 * thread's CPU time instead of the wall clock (bench/compare_diff.py). */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "command.h"
#include "diff.h"
#include "print.h"
#include "rewrite.h"
#include "statement.h"

struct gcase {
	const char *input, *want;
};

static const struct gcase cases[] = {
#include "../tests/diff_cases.inc"
};
#define NCASES ((int)(sizeof cases / sizeof *cases))

/* Wall time, or with BENCH_CLOCK=cpu the thread's CPU time (a loaded machine
 * preempts the program between two readings; CPU time leaves that out). */
static clockid_t bench_clock = CLOCK_MONOTONIC;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(bench_clock, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Resolves "let ...; EXPR" in s and returns the node of EXPR. */
static struct expr *prepare(struct session *s, const char *in)
{
	const char *semi = strrchr(in, ';');
	const char *expr = in;
	if (semi && strncmp(in, "let", 3) == 0) {
		session_run(s, "bench", in, (size_t)(semi - in));
		expr = semi + 1;
	}
	struct parse p;
	struct expr *e = NULL;
	if (parse_text(&p, s->mc, expr, strlen(expr), false) && p.nitems == 1)
		e = session_resolve(s, p.items[0]->kids[0]);
	parse_free(&p);
	if (!e) {
		fprintf(stderr, "bench: cannot prepare %s\n", in);
		exit(2);
	}
	return e;
}

/* Median microseconds of deriving e, each run in a fresh rewriter (nodes stay interned). */
static double time_derive(struct session *s, struct expr *e, int reps, long *leaves)
{
	double *t = malloc((size_t)reps * sizeof *t);
	struct expr *r = NULL;
	for (int i = 0; i < reps; i++) {
		rewrite_memo_clear(s); /* as between statements: every run does the whole work */
		double t0 = now_us();
		r = diff_derive(s, e);
		t[i] = now_us() - t0;
		if (!r) {
			fprintf(stderr, "bench: derivation failed: %s\n", s->mc->err.msg);
			exit(2);
		}
	}
	if (leaves)
		*leaves = expr_leaves(r);
	double m = median(t, reps);
	free(t);
	return m;
}

int main(int argc, char **argv)
{
	int reps = argc > 1 ? atoi(argv[1]) : 200;
	if (reps < 1)
		reps = 1;
	const char *filter = argc > 2 ? argv[2] : NULL;
	const char *clk = getenv("BENCH_CLOCK");
	if (clk && strcmp(clk, "cpu") == 0)
		bench_clock = CLOCK_THREAD_CPUTIME_ID;
	bool scaling = !filter || strncmp(filter, "scaling", 7) == 0;
	int only_k = filter && strncmp(filter, "scaling=", 8) == 0 ? atoi(filter + 8) : 0;
	setvbuf(stdout, NULL, _IOLBF, 0);
	FILE *null = fopen("/dev/null", "w");

	/* rule loading, in fresh sessions */
	double lt[50];
	int nrules = 0;
	for (int i = 0; i < 50 && !filter; i++) {
		struct session *s = session_new(null, stderr);
		double t0 = now_us();
		if (!rules_load(s))
			return 2;
		lt[i] = now_us() - t0;
		nrules = s->rules->n;
		session_free(s);
	}
	if (!filter)
		printf("rule loading: %d rules, median %.0f µs (target < 5000 µs)\n", nrules,
		       median(lt, 50));

	/* every gradient test case */
	printf("\n%-70s %10s\n", "case", "median µs");
	double worst = 0, all[256];
	int n = 0;
	for (int i = 0; i < NCASES; i++) {
		if (filter && !strstr(cases[i].input, filter))
			continue;
		struct session *s = session_new(null, stderr);
		struct expr *e = prepare(s, cases[i].input);
		double m = time_derive(s, e, reps, NULL);
		all[n++] = m;
		if (m > worst)
			worst = m;
		printf("%-70.70s %10.1f\n", cases[i].input, m);
		session_free(s);
	}
	if (n)
		printf("all %d cases: median %.1f µs, slowest %.1f µs\n", n, median(all, n), worst);

	static const char *const course[] = {
	    "grad(y^T y - 2 y^T X θ + θ^T X^T X θ, θ)",
	    "grad(||Y^T - X^T Θ||_F^2, Θ)",
	    "grad(tr(Θ^T X X^T Θ), Θ)",
	};
	printf("\ncourse examples (target < 50 µs each):\n");
	for (int i = 0; i < 3; i++) {
		if (filter && !strstr(course[i], filter))
			continue;
		struct session *s = session_new(null, stderr);
		struct expr *e = prepare(s, course[i]);
		printf("  %-50s %8.1f µs\n", course[i], time_derive(s, e, reps, NULL));
		session_free(s);
	}

	if (!scaling) {
		fclose(null);
		return 0;
	}
	printf("\nscaling (time and output size should grow at most quadratically in k):\n");
	printf("%4s %14s %10s %20s %10s\n", "k", "tr(X^k) µs", "leaves", "tr(A1 X..Ak X) µs",
	       "leaves");
	for (int k = only_k ? only_k : 2; k <= (only_k ? only_k : 64); k *= 2) {
		char a[64], b[4096];
		snprintf(a, sizeof a, "let X : matrix(n, n); grad(tr(X^%d), X)", k);
		int off = snprintf(b, sizeof b, "let X : matrix(n, n); grad(tr(");
		for (int i = 1; i <= k; i++)
			off += snprintf(b + off, sizeof b - (size_t)off, "%sA%d X",
					i > 1 ? " " : "", i);
		snprintf(b + off, sizeof b - (size_t)off, "), X)");
		long la, lb;
		struct session *s1 = session_new(null, stderr);
		double ta = time_derive(s1, prepare(s1, a), reps > 20 ? 20 : reps, &la);
		session_free(s1);
		struct session *s2 = session_new(null, stderr);
		char decl[64];
		for (int i = 1; i <= k; i++) {
			snprintf(decl, sizeof decl, "let A%d : matrix(n, n)", i);
			session_run(s2, "bench", decl, strlen(decl));
		}
		double tb = time_derive(s2, prepare(s2, b), reps > 5 ? 5 : reps, &lb);
		session_free(s2);
		printf("%4d %14.1f %10ld %20.1f %10ld\n", k, ta, la, tb, lb);
	}
	fclose(null);
	return 0;
}
